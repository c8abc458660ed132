"""Storefront promotion URLs, under /promotions/."""

from django.urls import path

from . import storefront_views as views

app_name = "promotions"

urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("<int:promotion_id>/", views.promotion_page, name="page"),
]
