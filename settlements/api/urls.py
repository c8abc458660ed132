"""Settlements API under /api/v1/settlements/."""

from marketplace.routers import Router

from . import merchant, views

router = Router()
router.register("runs", views.SettlementRunViewSet, basename="settlement-run")
router.register("statements", views.StatementViewSet, basename="settlement-statement")
router.register("payout-batches", views.PayoutBatchViewSet, basename="payout-batch")
# The merchant's subsidies, penalties and service fees (issue #14): the portal's finance pages.
router.register("merchant/subsidy-accruals", merchant.SubsidyAccrualViewSet, basename="merchant-subsidy-accrual")
router.register("merchant/grant-programmes", merchant.GrantProgrammeViewSet, basename="merchant-grant-programme")
router.register("merchant/grant-applications", merchant.GrantApplicationViewSet, basename="merchant-grant-application")
router.register("merchant/penalties", merchant.PenaltyViewSet, basename="merchant-penalty")
router.register("merchant/fee-charges", merchant.FeeChargeViewSet, basename="merchant-fee-charge")
router.register("merchant/subscription-plans", merchant.SubscriptionPlanViewSet, basename="merchant-subscription-plan")
router.register("merchant/subscriptions", merchant.SubscriptionViewSet, basename="merchant-subscription")
router.register(
    "merchant/value-added-services", merchant.ValueAddedServiceViewSet, basename="merchant-value-added-service"
)

urlpatterns = router.urls
