"""Promotions API under /api/v1/promotions/."""

from marketplace.routers import Router

from . import views

router = Router()
# "coupons/mine" before "coupons": the centre's routes are "coupons/" and "coupons/<id>/claim/".
router.register("coupons/mine", views.MyCouponViewSet, basename="my-coupon")
router.register("coupons", views.CouponCentreViewSet, basename="coupon-centre")

urlpatterns = [*router.urls]
