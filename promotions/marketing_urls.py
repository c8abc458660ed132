"""The merchant's marketing pages of its promotions, flash sales and group buys, under
/portal/promotions/ (beside the promotions' own portal pages)."""

from django.urls import path

from . import marketing_views as views

app_name = "portal_marketing"

urlpatterns = [
    path("marketing/", views.marketing_list, name="list"),
    path("<int:promotion_id>/marketing/", views.marketing_detail, name="detail"),
    path("<int:promotion_id>/marketing.csv", views.marketing_csv, name="csv"),
    path("flash-sales/<int:sale_id>/marketing/", views.flash_sale_marketing, name="flash_sale"),
    path("flash-sales/<int:sale_id>/marketing.csv", views.flash_sale_marketing_csv, name="flash_sale_csv"),
    path("group-buys/<int:campaign_id>/marketing/", views.group_buy_marketing, name="group_buy"),
    path("group-buys/<int:campaign_id>/marketing.csv", views.group_buy_marketing_csv, name="group_buy_csv"),
]
