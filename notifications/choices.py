"""What a notification is about. Other apps pass these when they call `notifications.services.notify`."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    # Buyers
    ORDER_PAID = "order_paid", _("Order paid")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")
    AFTER_SALES_DECIDED = "after_sales_decided", _("After-sales decision")
    REFUND_ISSUED = "refund_issued", _("Refund issued")
    COMPLAINT_ANSWERED = "complaint_answered", _("Complaint answered")
    # Merchants (the members whose role handles it)
    NEW_ORDER = "new_order", _("New order")
    AFTER_SALES_REQUESTED = "after_sales_requested", _("After-sales request")
    DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
    STATEMENT_READY = "statement_ready", _("Statement ready")
    LOW_STOCK = "low_stock", _("Low stock")
    SUBSIDY_DECIDED = "subsidy_decided", _("Subsidy decision")
    PENALTY_RAISED = "penalty_raised", _("Penalty raised")
    PENALTY_DECIDED = "penalty_decided", _("Penalty appeal decided")
    RISK_ALERT = "risk_alert", _("Risk alert")
    # Staff queues (the users whose role holds the permission)
    APPLICATION_SUBMITTED = "application_submitted", _("Merchant application to review")
    DISPUTE_TO_ARBITRATE = "dispute_to_arbitrate", _("Dispute to arbitrate")


#: Kinds whose e-mail is off until the user turns it on: low stock can fire many times a day and
#: the portal shows it already; staff work their queues in the admin, where the count is shown.
#: Every other kind is about money or a deadline, so its e-mail is on by default.
EMAIL_OFF_BY_DEFAULT = frozenset(
    {NotificationKind.LOW_STOCK, NotificationKind.APPLICATION_SUBMITTED, NotificationKind.DISPUTE_TO_ARBITRATE}
)


def email_default(kind: str) -> bool:
    return kind not in EMAIL_OFF_BY_DEFAULT
