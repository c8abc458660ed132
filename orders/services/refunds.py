"""Refunds: decided and recorded under the order's lock, returned through the gateway after
commit, with the proportional reversal settlement needs.

Guarantees (domain.md "Refunds"): a refund R on a line never exceeds what was paid for the
line and not yet refunded (checked under the line's lock and by a database constraint); its
share s = R / paid reverses s of the line: refunded base = base × s, platform discount taken
back = platform discount × s, commission returned = commission × s, each rounded half-up.
A shipping refund is its own amount and touches no commission.

Money goes back in two steps, because the gateway is another system and is never called
inside a database transaction (architecture.md "Other systems"):
- `refund_issue` records the refund `pending` in the caller's transaction (the order locked
  first, its lines in primary-key order) and schedules `refund_execute_task` for after the
  commit: if anything later in that transaction fails, nothing is recorded and nothing is sent.
- `refund_execute` (the task) calls the gateway outside any transaction with the refund's
  unique `reference` as the idempotency key, then records the outcome. A task delivered twice,
  or retried after a timeout, asks again with the same key: the money goes back once.
  Transient errors and timeouts are retried with growing delays up to
  settings.REFUND_MAX_ATTEMPTS; a refusal, or the last attempt, marks the refund failed
  (audited) for staff, who send it again with `refund_retry`. `refunds_pending_sweep`
  enqueues again the pending refunds whose task was lost.

A reference is recorded once: it is looked up under the order's lock, so a concurrent retry of
the same decision waits and then gets the refund already recorded (never a unique-key error).

Settlement counts a refund from its decision (`completed_at`, set when it is recorded), not
from the gateway's answer: the merchant owes it from then on, and the order lines'
`refunded` (the cap on further refunds) moves at the same moment. The status says only
whether the gateway has returned the money yet; a failed refund stays owed and is retried.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.jobs import enqueue_on_commit
from marketplace.money import ZERO, quantize
from marketplace.numbers import sequence_next
from marketplace.transitions import transition

from ..choices import PaymentStatus, RefundStatus
from ..errors import OrderConflict, OrderError
from ..gateways.base import GatewayError, GatewayUnavailable
from ..gateways.sandbox import get_gateway
from ..models import REFUND_TRANSITIONS, MerchantOrder, OrderLine, Payment, Refund, RefundLine
from . import notices

logger = logging.getLogger(__name__)

#: The hard time limit of one attempt (the refund task's), well above the gateway's own
#: timeout (settings.GATEWAY_TIMEOUT_SECONDS); while an attempt may still run, the sweep
#: leaves its refund alone.
REFUND_CALL_LEASE = 120

# Created by orders migration 0011: the default refund references.
REFUND_SEQUENCE = "orders_refund_reference_seq"


@dataclass(frozen=True)
class RefundItem:
    order_line_id: int
    amount: Decimal
    quantity: int = 0


class RefundRetryLater(Exception):
    """The gateway failed transiently; the refund stays pending and is due again in `countdown`
    seconds (recorded as its `next_attempt_at`)."""

    def __init__(self, error: str, countdown: int):
        super().__init__(error)
        self.countdown = countdown


def reversal(line: OrderLine, amount: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(refunded base, platform discount taken back, commission returned) for `amount`."""
    if line.paid == 0:
        return ZERO, ZERO, ZERO
    share = amount / line.paid
    return quantize(line.base * share), quantize(line.platform_discount * share), quantize(line.commission * share)


def _execute_after_commit(refund: Refund) -> None:
    enqueue_on_commit("orders.tasks.refund_execute_task", refund.pk)


def _record(refund: Refund) -> Refund:
    """Save a new refund: pending and sent after commit when there is a gateway payment to
    return it to; done at once when the order was paid outside the gateway (nothing to send)."""
    now = timezone.now()
    refund.completed_at = now
    if refund.payment_id is None:
        refund.status, refund.succeeded_at = RefundStatus.SUCCEEDED, now
    else:
        refund.status, refund.next_attempt_at = RefundStatus.PENDING, now
    refund.save(force_insert=True)
    if refund.status == RefundStatus.PENDING:
        _execute_after_commit(refund)
    return refund


def _recorded_already(order: MerchantOrder, reference: str) -> Refund | None:
    """The refund this order already recorded under `reference` (a retry of the same
    decision), None when the reference is new; refused when another order's refund has it."""
    existing = Refund.objects.filter(reference=reference).first()
    if existing is not None and existing.merchant_order_id != order.pk:
        raise OrderConflict("refund_reference_taken", _("This refund reference belongs to another refund."))
    return existing


def _shipping_refund(order: MerchantOrder, shipping_amount: Decimal) -> Decimal:
    """The shipping refund, rounded; with the earlier ones, never more than the shipping paid."""
    shipping_amount = quantize(shipping_amount or ZERO)
    already_shipping = sum(order.refunds.values_list("shipping_amount", flat=True), ZERO)
    if shipping_amount < 0 or shipping_amount + already_shipping > order.shipping_fee:
        raise OrderError("shipping_refund_too_large", _("The shipping refund exceeds the shipping paid."))
    return shipping_amount


def _lock_lines(order: MerchantOrder, items: list[RefundItem]) -> dict[int, OrderLine]:
    """The order's lines the items name, locked in primary-key order, by id."""
    # Each line once: two items of one line would each pass the check below on the same
    # figures and together refund more than was paid.
    if len({i.order_line_id for i in items}) != len(items):
        raise OrderError("duplicate_line", _("Each item can appear only once in a refund."))
    return {
        line.pk: line
        for line in OrderLine.objects.select_for_update()
        .filter(merchant_order=order, pk__in=[i.order_line_id for i in items])
        .order_by("pk")
    }


def _refund_line(item: RefundItem, line: OrderLine | None) -> RefundLine:
    """The refund of one line: more than zero, at most what was paid and not yet refunded,
    reversing the same share of the line's base, platform discount and commission."""
    if line is None:
        raise OrderError("unknown_line", _("This line is not part of the order."), {"line": item.order_line_id})
    amount = quantize(item.amount)
    if amount <= 0:
        raise OrderError("invalid_amount", _("A refund amount must be greater than zero."))
    if amount > line.paid - line.refunded:
        raise OrderError(
            "refund_exceeds_paid",
            _("At most ¥%(max)s can still be refunded on this line.") % {"max": line.paid - line.refunded},
            {"line": line.pk, "max": str(line.paid - line.refunded)},
        )
    base, discount_back, commission_back = reversal(line, amount)
    return RefundLine(
        order_line=line,
        amount=amount,
        quantity=item.quantity,
        refunded_base=base,
        platform_discount_back=discount_back,
        commission_returned=commission_back,
    )


def _lines_refunded(refund: Refund, refund_lines: list[RefundLine]) -> None:
    """Move each line's `refunded` (the cap on further refunds) and keep the refund's lines."""
    for row in refund_lines:
        row.refund = refund
        OrderLine.objects.filter(pk=row.order_line_id).update(refunded=F("refunded") + row.amount)
    RefundLine.objects.bulk_create(refund_lines)


@transaction.atomic
def refund_issue(
    *,
    merchant_order: MerchantOrder,
    items: list[RefundItem],
    shipping_amount: Decimal = ZERO,
    reason: str,
    actor=None,
    reference: str | None = None,
) -> Refund:
    """Refund lines (and optionally shipping) of a paid merchant order to the buyer.

    Locks the merchant order, then the lines in primary-key order; records the refund pending
    (the lines' `refunded` and the reversal at once) and returns it through the gateway after
    commit (`refund_execute_task`). A `reference` already recorded for this order returns
    that refund unchanged (a retry); for another order it is refused (409
    `refund_reference_taken`)."""
    # Unique by construction (the sequence), and apart from other databases' references at the
    # gateway, for which it is the idempotency key (the random part).
    reference = reference or f"rf_{sequence_next(REFUND_SEQUENCE)}_{secrets.token_hex(8)}"
    order = MerchantOrder.objects.select_for_update().get(pk=merchant_order.pk)
    existing = _recorded_already(order, reference)
    if existing is not None:
        return existing
    if order.paid_at is None:
        raise OrderConflict("not_paid", _("Nothing was paid for this order."))
    payment = order.buyer_order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    shipping_amount = _shipping_refund(order, shipping_amount)
    lines = _lock_lines(order, items)
    refund_lines = [_refund_line(item, lines.get(item.order_line_id)) for item in items]
    total = sum((r.amount for r in refund_lines), ZERO) + shipping_amount
    if total <= 0:
        raise OrderError("invalid_amount", _("There is nothing to refund."))
    refund = _record(
        Refund(
            merchant_order=order,
            payment=payment,
            amount=total,
            shipping_amount=shipping_amount,
            reason=(reason or "")[:200],
            reference=reference,
        )
    )
    _lines_refunded(refund, refund_lines)
    audit_record(
        action="orders.refunded", actor=actor, obj=order, reason=reason, data={"amount": total, "reference": reference}
    )
    notices.refund_issued(refund)
    return refund


@transaction.atomic
def payment_refund_whole(*, payment: Payment, reason: str) -> Refund:
    """Give a whole captured payment back (it came after its order was cancelled, or the order
    was paid another way): a pending refund without merchant order or lines, returned after
    commit like any other. Locks the payment; once per payment (reference `late-<payment>`)."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    reference = f"late-{locked.reference}"
    existing = Refund.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    refund = _record(Refund(payment=locked, amount=locked.amount, reason=(reason or "")[:200], reference=reference))
    audit_record(
        action="orders.payment_refunded",
        obj=locked,
        reason=reason,
        data={"amount": locked.amount, "reference": reference},
    )
    return refund


def refund_retry_delay(attempts: int) -> int:
    """Seconds to wait after failed attempt number `attempts`: 30 s, 1, 2, 4 … minutes, at most 15."""
    return min(30 * 2 ** max(attempts - 1, 0), 900)


@dataclass(frozen=True)
class _GatewayAnswer:
    """What one call of the gateway said: its refund id, or the error, whether it is worth
    retrying (a transient error or timeout), and the exception when it was a bug."""

    gateway_refund_id: str = ""
    error: str = ""
    retry: bool = False
    unexpected: Exception | None = None


def _claim_pending(refund_id: int) -> Refund | None:
    """The refund, if it is still pending and no other worker holds it, with the attempt
    counted; None when there is nothing to do now. A short transaction of its own."""
    with transaction.atomic(durable=True):
        refund = (
            Refund.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("payment")
            .filter(pk=refund_id, status=RefundStatus.PENDING)
            .first()
        )
        if refund is None:
            return None
        now = timezone.now()
        # While the call runs the sweep must leave it alone: due again only once the task's
        # own time limit has passed.
        Refund.objects.filter(pk=refund.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + timedelta(seconds=REFUND_CALL_LEASE)
        )
    return refund


def _ask_gateway(refund: Refund) -> _GatewayAnswer:
    """Ask the gateway to return the money, with the refund's reference as the idempotency
    key; outside any transaction (another system)."""
    payment = refund.payment
    try:
        gateway_refund_id = get_gateway(payment.gateway).refund(
            payment=payment, amount=refund.amount, reference=refund.reference
        )
    except (GatewayUnavailable, SoftTimeLimitExceeded) as exc:
        # The task's soft time limit cut a call the adapter should have timed out itself:
        # the same as a timeout (the money may have gone back; the key makes a retry safe).
        return _GatewayAnswer(error=f"{type(exc).__name__}: {exc}", retry=True)
    except GatewayError as exc:
        return _GatewayAnswer(error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        # Not a gateway answer but a bug: recorded so staff see the refund stuck, and raised.
        return _GatewayAnswer(error=f"{type(exc).__name__}: {exc}", unexpected=exc)
    return _GatewayAnswer(gateway_refund_id=gateway_refund_id)


def _record_success(locked: Refund, gateway_refund_id, now) -> None:
    """The money went back: the refund succeeds, whatever it became meanwhile."""
    # A duplicated delivery of the success finds it succeeded already: nothing to record.
    if REFUND_TRANSITIONS.can("succeed", locked):
        transition(
            locked,
            "succeed",
            table=REFUND_TRANSITIONS,
            lock=False,
            changes={
                "succeeded_at": now,
                "gateway_refund_id": str(gateway_refund_id)[:100],
                "last_error": "",
                "next_attempt_at": None,
            },
        )


def _record_failure(locked: Refund, answer: _GatewayAnswer, now) -> tuple[bool, int]:
    """A failed attempt: due again after a growing delay while it is worth retrying and
    attempts remain (returns True and the delay), else failed and audited for staff."""
    locked.last_error = answer.error[:500]
    delay = refund_retry_delay(locked.attempts)
    if answer.retry and locked.attempts < settings.REFUND_MAX_ATTEMPTS:
        locked.next_attempt_at = now + timedelta(seconds=delay)
        locked.save(update_fields=["last_error", "next_attempt_at"])
        return True, delay
    transition(
        locked,
        "fail",
        table=REFUND_TRANSITIONS,
        lock=False,
        changes={"last_error": locked.last_error, "next_attempt_at": None},
    )
    audit_record(
        action="orders.refund_failed",
        obj=locked,
        reason=locked.last_error,
        data={"reference": locked.reference, "attempts": locked.attempts},
    )
    return False, delay


def refund_execute(*, refund_id: int) -> str:
    """Return a recorded refund's money through the gateway; returns the refund's status
    ("skipped" when there is nothing to do now). Must run outside any transaction.

    Claims the pending refund under a short lock (skipped when another worker holds it, or it
    is no longer pending) and counts the attempt; calls the gateway with no transaction open,
    with `reference` as the idempotency key; records the outcome under a second short lock.
    A success is recorded whatever the refund became meanwhile (the money did go back). A
    refusal marks it failed; a transient error or timeout keeps it pending and raises
    RefundRetryLater with the delay, until settings.REFUND_MAX_ATTEMPTS, when it is marked
    failed. Any other error is a bug: marked failed for staff, then raised."""
    refund = _claim_pending(refund_id)
    if refund is None:
        return "skipped"
    answer = _ask_gateway(refund)

    with transaction.atomic(durable=True):
        locked = Refund.objects.select_for_update().get(pk=refund_id)
        now = timezone.now()
        if not answer.error:
            _record_success(locked, answer.gateway_refund_id, now)
            return locked.status
        if not REFUND_TRANSITIONS.can("fail", locked):
            return locked.status  # another delivery recorded the outcome meanwhile
        retry, delay = _record_failure(locked, answer, now)
    if answer.unexpected is not None:
        raise answer.unexpected
    if retry:
        logger.warning(
            "refund %s: gateway attempt %s failed, retried in %ss: %s", refund_id, locked.attempts, delay, answer.error
        )
        raise RefundRetryLater(answer.error, delay)
    logger.error("refund %s failed after %s attempt(s): %s", refund_id, locked.attempts, answer.error)
    return locked.status


@transaction.atomic
def refund_retry(*, refund: Refund, actor) -> Refund:
    """Staff send a failed refund to the gateway again, with the same reference (if the money
    did go back after all, the gateway answers with its first result and returns nothing
    more). Locks the refund; only a failed one (409 `invalid_transition` otherwise). The
    attempts count starts again; the previous count and error go to the audit log; the
    attempt runs after commit."""
    locked = Refund.objects.select_for_update().get(pk=refund.pk)
    REFUND_TRANSITIONS.check(locked, "retry")
    # Audited before the move: the entry keeps the count and error the retry resets.
    audit_record(
        action="orders.refund_retried",
        actor=actor,
        obj=locked,
        reason=locked.last_error,
        data={"reference": locked.reference, "attempts": locked.attempts},
    )
    transition(
        locked,
        "retry",
        table=REFUND_TRANSITIONS,
        lock=False,
        changes={"attempts": 0, "next_attempt_at": timezone.now()},
    )
    _execute_after_commit(locked)
    return locked


@transaction.atomic
def refunds_pending_sweep(*, now=None, limit: int = 500) -> int:
    """Periodic: enqueue again the pending refunds whose next attempt is more than
    settings.REFUND_SWEEP_MINUTES overdue (their task was lost: broker down at the commit, a
    worker killed). Each is due again from now, so the next sweep waits as long before
    enqueueing it again. Returns how many were enqueued."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REFUND_SWEEP_MINUTES)
    ids = list(
        Refund.objects.select_for_update(skip_locked=True)
        .filter(status=RefundStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    Refund.objects.filter(pk__in=ids).update(next_attempt_at=now)
    for pk in ids:
        enqueue_on_commit("orders.tasks.refund_execute_task", pk)
    return len(ids)


def full_refund_items(order: MerchantOrder) -> list[RefundItem]:
    """Everything still refundable on every line of the order."""
    return [
        RefundItem(line.pk, line.paid - line.refunded, line.quantity)
        for line in order.lines.all()
        if line.paid - line.refunded > 0
    ]
