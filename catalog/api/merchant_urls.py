"""Merchant catalog API URLs (the caller's own products and stock)."""

from rest_framework.routers import SimpleRouter

from .merchant import MerchantProductViewSet, MerchantStockViewSet

router = SimpleRouter()
router.register("products", MerchantProductViewSet, basename="merchant-product")
router.register("stock", MerchantStockViewSet, basename="merchant-stock")

urlpatterns = router.urls
