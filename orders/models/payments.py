"""Orders: payments, the gateway's events, and refunds with their lines."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.transitions import Transitions

from ..choices import (
    PaymentStatus,
    RefundStatus,
)
from ..errors import OrderInvalidTransition
from .placed import BuyerOrder, MerchantOrder, OrderLine


class Payment(models.Model):
    """One payment of a buyer order through a gateway."""

    buyer_order = models.ForeignKey(
        BuyerOrder, verbose_name=_("buyer order"), on_delete=models.PROTECT, related_name="payments"
    )
    gateway = models.CharField(_("gateway"), max_length=20)
    reference = models.CharField(_("gateway reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A buyer order is paid at most once.
            models.UniqueConstraint(
                fields=["buyer_order"], condition=Q(status="succeeded"), name="payment_one_success_per_order"
            )
        ]

    def __str__(self):
        return self.reference


class GatewayEvent(models.Model):
    """A callback received from a gateway, stored once per event id (duplicates ignored)."""

    gateway = models.CharField(_("gateway"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=100)
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_unique")]

    def __str__(self):
        return f"{self.gateway}:{self.event_id}"


class Refund(models.Model):
    """Money owed back to the buyer, returned through the gateway after the decision commits.

    The refund is decided and recorded (`completed_at`, its lines' reversal, the order lines'
    `refunded`) under the order's lock; the gateway is called afterwards by
    `refund_execute_task` with `reference` as the idempotency key, so a retried or
    duplicated call never returns the money twice. Status: pending → succeeded, or pending →
    failed (a refusal of the gateway, too many transient errors) → pending again when staff
    retry it; a late answer of an earlier attempt may still turn a failed one succeeded. Settlement counts a refund from `completed_at`, whatever its status: the
    merchant owes it from the decision on; the status only says whether the gateway has
    returned the money yet.

    A payment captured after its order was cancelled is refunded whole by a refund without a
    merchant order (and without lines): no merchant sold anything, settlement never sees it.
    """

    merchant_order = models.ForeignKey(
        MerchantOrder,
        verbose_name=_("merchant order"),
        on_delete=models.PROTECT,
        related_name="refunds",
        null=True,
        blank=True,
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
        null=True,
        blank=True,
        help_text=_("The payment the money goes back to; empty when the order was paid outside the gateway."),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    shipping_amount = models.DecimalField(_("of which shipping"), max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(_("reason"), max_length=200)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    completed_at = models.DateTimeField(
        _("completed"),
        db_index=True,
        help_text=_("When the refund was decided; settlement counts it from here."),
    )
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    attempts = models.PositiveIntegerField(_("gateway attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=100, blank=True)
    succeeded_at = models.DateTimeField(_("returned to the buyer"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-completed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(merchant_order__isnull=False) | Q(payment__isnull=False),
                name="refund_of_an_order_or_a_payment",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(succeeded_at__isnull=False),
                name="refund_succeeded_has_time",
            ),
        ]
        indexes = [
            # The sweep looks for pending refunds whose next attempt is overdue.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="refund_pending_due_idx"),
        ]

    def __str__(self):
        return self.reference


# The gateway's answer moves a pending refund (a late success may still turn a failed one
# succeeded); staff send a failed one again.
REFUND_TRANSITIONS = Transitions(
    {
        "succeed": ({RefundStatus.PENDING, RefundStatus.FAILED}, RefundStatus.SUCCEEDED),
        "fail": ({RefundStatus.PENDING}, RefundStatus.FAILED),
        "retry": ({RefundStatus.FAILED}, RefundStatus.PENDING),
    },
    error=OrderInvalidTransition,
    refusals={"retry": _("Only a failed refund can be sent again; this one is “%(status)s”.")},
    extra_action=False,
)


class RefundLine(models.Model):
    """The part of a refund on one line, with its proportional reversal (domain.md):
    share s = R / paid; refunded base, platform discount taken back and commission returned
    are each base, platform discount and commission × s, rounded half-up."""

    refund = models.ForeignKey(Refund, verbose_name=_("refund"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="refund_lines"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField(_("returned quantity"), default=0)
    refunded_base = models.DecimalField(_("refunded base"), max_digits=14, decimal_places=2)
    platform_discount_back = models.DecimalField(_("platform discount taken back"), max_digits=14, decimal_places=2)
    commission_returned = models.DecimalField(_("commission returned"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_line_amount_positive")]

    def __str__(self):
        return f"{self.order_line_id}: {self.amount}"
