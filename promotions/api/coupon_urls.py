"""Coupon API under /api/v1/promotions/coupons/ (included before the promotions API's own
urls, whose routes are ids and "merchant/")."""

from marketplace.routers import Router

from . import coupons

router = Router()
# "mine" before the centre: the centre's routes are "" and "<id>/claim/".
router.register("mine", coupons.MyCouponViewSet, basename="my-coupon")
router.register("", coupons.CouponCentreViewSet, basename="coupon-centre")

urlpatterns = [*router.urls]
