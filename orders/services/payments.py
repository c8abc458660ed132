"""Payments: starting one, and processing gateway callbacks exactly once.

Guarantees: a gateway event id is processed at most once (unique row, inserted first in
the same transaction); a buyer order is paid at most once (partial unique index on
succeeded payments, and the buyer order's state guard under lock); callbacks may arrive
twice, late or out of order: a failure after a success changes nothing. A payment captured
when its order no longer waits for it (cancelled, or paid another way) is recorded as
`refunded` and given back whole by a pending refund, returned after commit like any other.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..errors import OrderConflict
from ..gateways.base import CallbackEvent
from ..models import BuyerOrder, BuyerOrderStatus, GatewayEvent, Payment, PaymentStatus
from .lifecycle import buyer_order_mark_paid
from .refunds import payment_refund_whole


@transaction.atomic
def payment_start(*, buyer_order: BuyerOrder, gateway: str = "sandbox") -> Payment:
    """A pending payment for the order's payable total (reused while pending)."""
    locked = BuyerOrder.objects.select_for_update().get(pk=buyer_order.pk)
    if locked.status != BuyerOrderStatus.PENDING_PAYMENT:
        raise OrderConflict("not_payable", _("This order is not waiting for payment."), {"status": locked.status})
    if locked.pay_by < timezone.now():
        raise OrderConflict("payment_time_over", _("The time to pay this order is over; it will be cancelled."))
    existing = locked.payments.filter(
        status=PaymentStatus.PENDING, gateway=gateway, amount=locked.payable_total
    ).first()
    if existing:
        return existing
    return Payment.objects.create(
        buyer_order=locked, gateway=gateway, amount=locked.payable_total, reference=f"pay_{secrets.token_hex(12)}"
    )


@transaction.atomic
def gateway_event_process(*, gateway: str, event: CallbackEvent) -> str:
    """Apply one verified callback; returns what happened (stored on the event row)."""
    try:
        with transaction.atomic():
            record = GatewayEvent.objects.create(
                gateway=gateway, event_id=event.event_id, kind=event.kind, payload=event.payload
            )
    except IntegrityError:
        return "duplicate"

    outcome = _apply(gateway, event)
    GatewayEvent.objects.filter(pk=record.pk).update(outcome=outcome)
    return outcome


def _apply(gateway: str, event: CallbackEvent) -> str:
    payment = Payment.objects.select_for_update().filter(gateway=gateway, reference=event.payment_reference).first()
    if payment is None:
        return "unknown_payment"
    buyer_order = BuyerOrder.objects.select_for_update().get(pk=payment.buyer_order_id)
    if event.kind == "payment.failed":
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.save(update_fields=["status"])
            return "failed"
        return "ignored"
    if event.kind != "payment.succeeded":
        return "ignored"
    if payment.status == PaymentStatus.SUCCEEDED:
        return "already_paid"
    if payment.status == PaymentStatus.REFUNDED:
        return "already_refunded"
    if event.amount != payment.amount:
        return "amount_mismatch"
    if buyer_order.status != BuyerOrderStatus.PENDING_PAYMENT:
        # Paid after the order was cancelled (or paid through another payment): the money was
        # captured and must go back, whole.
        payment.status = PaymentStatus.REFUNDED
        payment.succeeded_at = timezone.now()
        payment.save(update_fields=["status", "succeeded_at"])
        payment_refund_whole(payment=payment, reason=f"payment arrived when the order was {buyer_order.status}")
        return f"order_{buyer_order.status}"
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at"])
    buyer_order_mark_paid(buyer_order=buyer_order)
    return "paid"
