"""Promotions API under /api/v1/promotions/: the live promotions, the merchant's own, and the
flash sales."""

from django.urls import include, path

from marketplace.routers import Router

from .flash import FlashSaleViewSet
from .merchant import MerchantPromotionViewSet
from .public import PublicPromotionViewSet

merchant_router = Router()
merchant_router.register("", MerchantPromotionViewSet, basename="merchant-promotion")
flash_router = Router()
flash_router.register("flash-sales", FlashSaleViewSet, basename="flash-sale")
public_router = Router()
public_router.register("", PublicPromotionViewSet, basename="promotion")

urlpatterns = [
    path("merchant/", include(merchant_router.urls)),
    # Before the public router, whose detail route would otherwise see "flash-sales" as an id.
    path("", include(flash_router.urls)),
    path("", include(public_router.urls)),
]
