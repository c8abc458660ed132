"""Public catalog API URLs, under /api/v1/catalog/."""

from marketplace.routers import Router

from .public import PublicCategoryViewSet, PublicProductViewSet

router = Router()
router.register("categories", PublicCategoryViewSet, basename="catalog-category")
router.register("products", PublicProductViewSet, basename="catalog-product")

urlpatterns = router.urls
