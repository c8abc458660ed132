"""Enumerations of the risk alerts: kinds, severities and states. Other modules import these
without importing the models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    COMPLAINT_RATE = "complaint_rate", _("Complaint rate above 5 %")
    RETURN_RATE_SPIKE = "return_rate_spike", _("Return rate spike")
    ON_TIME_SHIPPING_FALL = "on_time_shipping_fall", _("On-time shipping falling")
    CREDIT_GRADE_D = "credit_grade_d", _("Credit grade fell to D")
    QUARTERLY_SCORE_LOW = "quarterly_score_low", _("Quarterly score below 80")
    STOCK_BELOW_REORDER = "stock_below_reorder", _("Stock below reorder point")
    SLOW_STOCK = "slow_stock", _("Slow stock")
    DEPOSIT_SHORT = "deposit_short", _("Deposit below the tier's requirement")
    DOCUMENT_EXPIRING = "document_expiring", _("Document expiring within 30 days")
    DOCUMENT_EXPIRED = "document_expired", _("Document expired")
    NEGATIVE_PAYABLE = "negative_payable", _("Negative payable two months running")
    RECONCILIATION = "reconciliation", _("Reconciliation differences")
    PAYOUT_HOLD = "payout_hold", _("Payout hold: bank account changed near a payout")


class AlertSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


#: The states in which an alert is still being dealt with: one per condition at most.
LIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
