"""Buyer pages of coupons, under /coupons/."""

from django.urls import path

from . import coupon_views

app_name = "coupons"

urlpatterns = [
    path("", coupon_views.centre, name="centre"),
    path("<int:promotion_id>/claim/", coupon_views.claim, name="claim"),
    path("claim-code/", coupon_views.claim_code, name="claim_code"),
    path("mine/", coupon_views.mine, name="mine"),
]
