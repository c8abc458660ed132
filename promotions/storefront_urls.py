"""Storefront promotion URLs, under /promotions/ (the flash sales at /promotions/flash-sales/)."""

from django.urls import path

from . import storefront_views as views
from . import views as buyer_views

app_name = "promotions"

urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("flash-sales/", buyer_views.flash_sale_list, name="flash_sales"),
    path("flash-sales/<int:sale_id>/join/", buyer_views.flash_sale_join, name="flash_sale_join"),
    path("<int:promotion_id>/", views.promotion_page, name="page"),
]
