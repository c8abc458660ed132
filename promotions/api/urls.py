"""Promotions API under /api/v1/promotions/: the live promotions, and the merchant's own."""

from django.urls import include, path

from marketplace.routers import Router

from .merchant import MerchantPromotionViewSet
from .public import PublicPromotionViewSet

merchant_router = Router()
merchant_router.register("", MerchantPromotionViewSet, basename="merchant-promotion")
public_router = Router()
public_router.register("", PublicPromotionViewSet, basename="promotion")

urlpatterns = [
    path("merchant/", include(merchant_router.urls)),
    path("", include(public_router.urls)),
]
