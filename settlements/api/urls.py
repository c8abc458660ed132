"""Settlements API under /api/v1/settlements/."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("runs", views.SettlementRunViewSet, basename="settlement-run")
router.register("statements", views.StatementViewSet, basename="settlement-statement")
router.register("payout-batches", views.PayoutBatchViewSet, basename="payout-batch")

urlpatterns = router.urls
