"""Settlements API under /api/v1/settlements/."""

from marketplace.routers import Router

from . import views

router = Router()
router.register("runs", views.SettlementRunViewSet, basename="settlement-run")
router.register("statements", views.StatementViewSet, basename="settlement-statement")
router.register("payout-batches", views.PayoutBatchViewSet, basename="payout-batch")

urlpatterns = router.urls
