"""Promotions API under /api/v1/promotions/."""

from marketplace.routers import Router

from . import views

router = Router()
router.register("group-buys/groups", views.GroupViewSet, basename="group-buy-group")
router.register("group-buys/merchant", views.MerchantGroupBuyViewSet, basename="merchant-group-buy")
router.register("group-buys", views.GroupBuyViewSet, basename="group-buy")

urlpatterns = router.urls
