"""The merchant's marketing pages of its promotions, under /portal/promotions/ (beside the
promotions' own portal pages)."""

from django.urls import path

from . import marketing_views as views

app_name = "portal_marketing"

urlpatterns = [
    path("marketing/", views.marketing_list, name="list"),
    path("<int:promotion_id>/marketing/", views.marketing_detail, name="detail"),
    path("<int:promotion_id>/marketing.csv", views.marketing_csv, name="csv"),
]
