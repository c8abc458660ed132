"""Merchant catalog API URLs (the caller's own products and stock)."""

from marketplace.routers import Router

from .merchant import MerchantProductViewSet, MerchantStockViewSet

router = Router()
router.register("products", MerchantProductViewSet, basename="merchant-product")
router.register("stock", MerchantStockViewSet, basename="merchant-stock")

urlpatterns = router.urls
