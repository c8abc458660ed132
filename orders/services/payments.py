"""Payments: starting one, and processing gateway callbacks exactly once.

Guarantees: a gateway event id is processed at most once (unique row, inserted first in
the same transaction); a buyer order is paid at most once (partial unique index on
succeeded payments, and the buyer order's state guard under lock); callbacks may arrive
twice, late or out of order: a failure after a success changes nothing. An event whose
values no column can hold or no payment can have (ids too long, an amount that is not a
finite positive sum in cents, or not the payment's) is refused with a 400 code and writes
nothing, not even its event row. A gateway that is switched off (the sandbox in production)
starts no payment and has no event applied. A payment captured when its order no longer
waits for it (cancelled, or paid another way) is recorded as `refunded` and given back whole
by a pending refund, returned after commit like any other.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.numbers import sequence_next

from ..choices import BuyerOrderStatus, PaymentStatus
from ..errors import OrderConflict, OrderError
from ..gateways.base import CallbackEvent
from ..gateways.sandbox import get_gateway
from ..models import BuyerOrder, GatewayEvent, Payment
from .lifecycle import buyer_order_mark_paid
from .refunds import payment_refund_whole


@transaction.atomic
def payment_start(*, buyer_order: BuyerOrder, gateway: str = "sandbox") -> Payment:
    """A pending payment for the order's payable total (reused while pending). Refused
    (`sandbox_disabled`) when the gateway is switched off, before the order is locked."""
    get_gateway(gateway).ensure_enabled()
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
        buyer_order=locked, gateway=gateway, amount=locked.payable_total, reference=_reference()
    )


# Created by orders migration 0011.
PAYMENT_SEQUENCE = "orders_payment_reference_seq"


def _reference() -> str:
    """A payment reference, unique by construction: the sequence value makes it unique in this
    database; the random part keeps it apart from references another database (a staging copy,
    a restored backup) sent to the same gateway account, and unguessable."""
    return f"pay_{sequence_next(PAYMENT_SEQUENCE)}_{secrets.token_hex(8)}"


@transaction.atomic
def gateway_event_process(*, gateway: str, event: CallbackEvent) -> str:
    """Apply one verified callback; returns what happened (stored on the event row).

    Refuses, writing nothing: a switched-off gateway (`sandbox_disabled`); an event id,
    kind or payment reference that is not 1 to column-length printable characters
    (`invalid_event_id`, `invalid_event_kind`, `invalid_payment_reference`); an amount that
    is not finite, positive, in whole cents (`invalid_amount`) or not the payment's
    (`amount_mismatch`). Locks the payment, then its buyer order.
    """
    get_gateway(gateway).ensure_enabled()
    _event_check(event)
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


def _text_fits(value, model, field: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= model._meta.get_field(field).max_length and value.isprintable()


def _event_check(event: CallbackEvent) -> None:
    """Refuse what the columns cannot hold and amounts no payment can have: before the event
    row is written, so a refused event can be sent again once corrected."""
    for value, model, field, code in (
        (event.event_id, GatewayEvent, "event_id", "invalid_event_id"),
        (event.kind, GatewayEvent, "kind", "invalid_event_kind"),
        (event.payment_reference, Payment, "reference", "invalid_payment_reference"),
    ):
        if not _text_fits(value, model, field):
            max_length = model._meta.get_field(field).max_length
            raise OrderError(
                code,
                _("The callback's %(field)s must be 1 to %(max_length)d printable characters.")
                % {"field": field, "max_length": max_length},
                {"field": field, "max_length": max_length},
            )
    amount = event.amount
    column = Payment._meta.get_field("amount")
    # is_finite first: comparing a NaN (signalling or quiet) raises instead of answering.
    if not (
        isinstance(amount, Decimal)
        and amount.is_finite()
        and 0 < amount < Decimal(10) ** (column.max_digits - column.decimal_places)
        and amount.as_tuple().exponent >= -column.decimal_places
    ):
        raise OrderError(
            "invalid_amount",
            _("The callback's amount must be a positive number of yuan with at most two decimal places."),
            {"amount": str(amount)[:40]},
        )


def _apply(gateway: str, event: CallbackEvent) -> str:
    payment = Payment.objects.select_for_update().filter(gateway=gateway, reference=event.payment_reference).first()
    if payment is None:
        return "unknown_payment"
    if event.amount != payment.amount:
        # Refused whatever the event says (a success or a failure of another sum is not about
        # this payment); the exception rolls back the event row inserted above.
        raise OrderError(
            "amount_mismatch",
            _("The callback's amount is not the payment's."),
            {"amount": str(event.amount), "expected": str(payment.amount)},
        )
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
