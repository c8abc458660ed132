"""Public catalog API URLs, under /api/v1/catalog/."""

from rest_framework.routers import SimpleRouter

from .public import PublicCategoryViewSet, PublicProductViewSet

router = SimpleRouter()
router.register("categories", PublicCategoryViewSet, basename="catalog-category")
router.register("products", PublicProductViewSet, basename="catalog-product")

urlpatterns = router.urls
