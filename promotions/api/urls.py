"""Promotions API under /api/v1/promotions/: the live promotions, the merchant's own, the
flash sales and the group buys."""

from django.urls import include, path

from marketplace.routers import Router

from . import views
from .flash import FlashSaleViewSet
from .flash_merchant import MerchantFlashSaleViewSet
from .merchant import MerchantPromotionViewSet
from .public import PublicPromotionViewSet

merchant_router = Router()
merchant_router.register("flash-sales", MerchantFlashSaleViewSet, basename="merchant-flash-sale")
merchant_router.register("", MerchantPromotionViewSet, basename="merchant-promotion")
campaign_router = Router()
campaign_router.register("flash-sales", FlashSaleViewSet, basename="flash-sale")
campaign_router.register("group-buys/groups", views.GroupViewSet, basename="group-buy-group")
campaign_router.register("group-buys/merchant", views.MerchantGroupBuyViewSet, basename="merchant-group-buy")
campaign_router.register("group-buys", views.GroupBuyViewSet, basename="group-buy")
public_router = Router()
public_router.register("", PublicPromotionViewSet, basename="promotion")

urlpatterns = [
    path("merchant/", include(merchant_router.urls)),
    # Before the public router, whose detail route would otherwise take "flash-sales" or
    # "group-buys" for an id.
    path("", include(campaign_router.urls)),
    path("", include(public_router.urls)),
]
