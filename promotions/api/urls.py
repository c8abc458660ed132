"""Promotions API under /api/v1/promotions/."""

from marketplace.routers import Router

from .flash import FlashSaleViewSet

router = Router()
router.register("flash-sales", FlashSaleViewSet, basename="flash-sale")

urlpatterns = [*router.urls]
