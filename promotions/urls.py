"""Storefront pages of promotions (at the site root)."""

from django.urls import path

from . import views

app_name = "promotions"

urlpatterns = [
    path("flash-sales/", views.flash_sale_list, name="flash_sales"),
    path("flash-sales/<int:sale_id>/join/", views.flash_sale_join, name="flash_sale_join"),
]
