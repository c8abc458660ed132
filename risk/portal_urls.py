"""Merchant portal pages of the risk app, under /portal/quality/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_quality"

urlpatterns = [
    path("", views.quality, name="rating"),
]
