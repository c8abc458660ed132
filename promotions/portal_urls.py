"""Merchant portal pages of promotions, under /portal/promotions/."""

from django.urls import path

from . import portal_views as views

app_name = "portal_promotions"

urlpatterns = [
    path("flash-sales/", views.flash_sale_list, name="flash_list"),
    path("flash-sales/new/", views.flash_sale_create, name="flash_create"),
    path("flash-sales/<int:sale_id>/pause/", views.flash_sale_pause, name="flash_pause"),
]
