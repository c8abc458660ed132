"""Orders' enumerations: the states of buyer and merchant orders, shipments, payments,
refunds, after-sales and disputes. Other apps import these without importing orders' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BuyerOrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to ship")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # Captured when the order no longer waited for it (cancelled, or paid another way): the
    # whole amount goes back to the buyer through a refund of its own.
    REFUNDED = "refunded", _("Paid too late: refunded in full")


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the gateway")
    SUCCEEDED = "succeeded", _("Returned to the buyer")
    FAILED = "failed", _("Failed: needs staff")


class AfterSalesKind(models.TextChoices):
    REFUND = "refund", _("Refund only")
    RETURN_REFUND = "return_refund", _("Return and refund")


class AfterSalesStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the merchant")
    AWAITING_RETURN = "awaiting_return", _("Accepted: waiting for the returned goods")
    REJECTED = "rejected", _("Rejected by the merchant")
    ESCALATED = "escalated", _("In dispute")
    REFUNDED = "refunded", _("Refunded")
    CLOSED = "closed", _("Closed without refund")


#: After-sales states that keep the request open (they pause automatic completion).
AFTER_SALES_OPEN_STATES = frozenset(
    {AfterSalesStatus.OPEN, AfterSalesStatus.AWAITING_RETURN, AfterSalesStatus.REJECTED, AfterSalesStatus.ESCALATED}
)


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ComplaintCategory(models.TextChoices):
    FAKE_SHIPPING = "fake_shipping", _("Fake shipping")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    SERVICE = "service", _("Poor service")
    OTHER = "other", _("Other")


class ComplaintStatus(models.TextChoices):
    """Operations' handling of a complaint (orders.services.reviews)."""

    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ComplaintProgress(models.TextChoices):
    """What the buyer is shown of a complaint's handling (`Complaint.progress`): open until
    operations take it (assign it or answer it), then in progress until resolved. Who handles
    it stays internal."""

    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")


#: Hours operations have to resolve a complaint (its `respond_by`); past it the complaint is
#: shown as overdue in the admin.
COMPLAINT_RESPONSE_HOURS = 72


#: The order event telling the buyer that a gift of the order was out of stock when it was
#: placed (its `note`: the gift's name); the order went through without it.
GIFT_OUT_OF_STOCK_EVENT = "gift_out_of_stock"
