"""Buyer pages of promotions (at the site root)."""

from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("membership/", views.membership, name="membership"),
]
