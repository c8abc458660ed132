"""After-sales requests and disputes (reviews and complaints: `reviews`).

Guarantees:
- a request is checked whole, under the order's lock: each line at most once
  (`duplicate_line`); per line an amount of at most what was paid, less what was refunded
  and what other open requests ask (`refund_exceeds_paid`); for a return, at most the units
  shipped less those returned and those other open returns ask (`return_exceeds_shipped`);
  shipping at most the fee less what was refunded and what open requests ask
  (`shipping_refund_too_large`). Accepting checks it again, so a request that no longer
  fits is refused with its code instead of failing in the refund;
- returned goods go back to stock once: the line's `returned_quantity` grows with F() under
  the order's lock, and a database constraint keeps it at most the units shipped;
- one open request per merchant order;
- the merchant-side services (accept, reject, return received) take the acting `merchant`
  and check, under the lock, that the order is theirs (else `not_found`, 404);
- while a request is open the order's `after_sales_open` flag pauses automatic completion;
  while a dispute is open `is_frozen` tells settlement not to pay the order; both flags are
  recomputed from the requests under the order's lock, never toggled blindly;
- the merchant answers within AFTER_SALES_RESPONSE_HOURS, else the request is accepted
  automatically (periodic job, one request per transaction: a request that cannot be
  accepted is recorded as a `JobFailure` and the others are still accepted);
- refunds go through `refunds.refund_issue` (proportional commission reversal).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.images import check_product_image, clean_product_image
from catalog.services import stock_receive
from marketplace.audit import audit_record
from marketplace.errors import NotFoundError
from marketplace.jobs import run_each
from marketplace.money import ZERO, allocate, quantize
from marketplace.transitions import transition

from ..choices import (
    AFTER_SALES_OPEN_STATES,
    AfterSalesKind,
    AfterSalesStatus,
    DisputeStatus,
)
from ..errors import OrderConflict, OrderError, OrderInvalidTransition
from ..models import (
    AFTER_SALES_TRANSITIONS,
    DISPUTE_TRANSITIONS,
    REQUESTABLE_STATES,
    AfterSalesLine,
    AfterSalesPhoto,
    AfterSalesRequest,
    Dispute,
    MerchantOrder,
    OrderLine,
)
from . import notices
from .refunds import RefundItem, refund_issue


def _sync_flags(order: MerchantOrder) -> None:
    open_requests = order.after_sales.filter(status__in=AFTER_SALES_OPEN_STATES).exists()
    frozen = Dispute.objects.filter(request__merchant_order=order, status=DisputeStatus.OPEN).exists()
    MerchantOrder.objects.filter(pk=order.pk).update(after_sales_open=open_requests, is_frozen=frozen)


def _lock_request(request: AfterSalesRequest) -> AfterSalesRequest:
    # Order first, then the request: the same order as every other order-level service.
    MerchantOrder.objects.select_for_update().get(pk=request.merchant_order_id)
    return AfterSalesRequest.objects.select_for_update().select_related("merchant_order").get(pk=request.pk)


def _lock_for_merchant(request: AfterSalesRequest, merchant) -> AfterSalesRequest:
    """Lock the request for a merchant-side answer; another merchant's request is not found
    (checked under the lock, whatever the caller checked before)."""
    locked = _lock_request(request)
    if merchant is None or locked.merchant_order.merchant_id != merchant.pk:
        raise NotFoundError(message=_("No such after-sales request."))
    return locked


def _check_fits(
    order: MerchantOrder, *, kind: str, rows: list[AfterSalesLine], shipping_amount: Decimal, exclude=None
) -> None:
    """Refuse unless the request (`rows` and `shipping_amount`) fits in what remains of the
    order once refunds and the other open requests are counted. Call under the order's lock."""
    others = AfterSalesLine.objects.filter(
        request__merchant_order=order, request__status__in=AFTER_SALES_OPEN_STATES
    ).exclude(request_id=exclude)
    asked = dict(others.values("order_line_id").annotate(total=Sum("amount")).values_list("order_line_id", "total"))
    to_return = dict(
        others.filter(request__kind=AfterSalesKind.RETURN_REFUND)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    # Summed per line: a request written before lines were refused twice still counts whole.
    amounts: dict[int, Decimal] = {}
    quantities: dict[int, int] = {}
    for row in rows:
        amounts[row.order_line_id] = amounts.get(row.order_line_id, ZERO) + row.amount
        quantities[row.order_line_id] = quantities.get(row.order_line_id, 0) + row.quantity
    for line in OrderLine.objects.filter(pk__in=amounts).order_by("pk"):
        left = line.paid - line.refunded - asked.get(line.pk, ZERO)
        if amounts[line.pk] > left:
            raise OrderError(
                "refund_exceeds_paid",
                _("At most ¥%(max)s can still be refunded on this line.") % {"max": max(left, ZERO)},
                {"line": line.pk, "max": str(max(left, ZERO))},
            )
        if kind == AfterSalesKind.RETURN_REFUND:
            units = line.quantity - line.returned_quantity - to_return.get(line.pk, 0)
            if quantities[line.pk] > units:
                raise OrderError(
                    "return_exceeds_shipped",
                    _("At most %(max)d units of this line can still be returned.") % {"max": max(units, 0)},
                    {"line": line.pk, "max": max(units, 0)},
                )
    refunded = order.refunds.aggregate(total=Sum("shipping_amount"))["total"] or ZERO
    requested = (
        AfterSalesRequest.objects.filter(merchant_order=order, status__in=AFTER_SALES_OPEN_STATES)
        .exclude(pk=exclude)
        .aggregate(total=Sum("shipping_amount"))["total"]
        or ZERO
    )
    left = order.shipping_fee - refunded - requested
    if shipping_amount > left:
        raise OrderError(
            "shipping_refund_too_large",
            _("The shipping refund exceeds the shipping paid."),
            {"max": str(max(left, ZERO))},
        )


MAX_PHOTOS = 5


@transaction.atomic
def after_sales_request_create(
    *,
    order: MerchantOrder,
    buyer,
    kind: str,
    reason: str,
    items: list[tuple[int, int, Decimal]],
    shipping_amount=ZERO,
    photos=(),
) -> AfterSalesRequest:
    """Ask for a refund (or return and refund) of `items` = (order line id, quantity, amount),
    with up to MAX_PHOTOS photos (validated and re-encoded before anything is written)."""
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise OrderError("too_many_photos", _("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS})
    if kind not in AfterSalesKind.values:
        raise OrderError("invalid_kind", _("Choose a refund or a return and refund."))
    if not (reason or "").strip():
        raise OrderError("reason_required", _("Tell the merchant what went wrong."))
    # Decoding is the costly part: the cheap checks of every field and of every photo's
    # header come first, and the photos are decoded before the order is locked.
    for photo in photos:
        check_product_image(photo)
    cleaned_photos = {c.sha256: c for c in (clean_product_image(p) for p in photos)}
    locked = MerchantOrder.objects.select_for_update().get(pk=order.pk)
    if locked.buyer_order.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    if locked.status not in REQUESTABLE_STATES:
        raise OrderInvalidTransition(
            message=_("After-sales requests are possible once the order has shipped; cancel it instead."),
            extra={"status": locked.status},
        )
    if locked.after_sales.filter(status__in=AFTER_SALES_OPEN_STATES).exists():
        raise OrderConflict("after_sales_already_open", _("This order already has an open after-sales request."))
    lines = {line.pk: line for line in OrderLine.objects.filter(merchant_order=locked)}
    rows = []
    for line_id, quantity, amount in items:
        line = lines.get(int(line_id))
        if line is None:
            raise OrderError("unknown_line", _("This line is not part of the order."), {"line": line_id})
        # One row per line: two rows of the same line would each pass the per-line checks
        # and together ask (and restock) more than the line holds.
        if any(row.order_line_id == line.pk for row in rows):
            raise OrderError("duplicate_line", _("Each item can appear only once in a request."), {"line": line.pk})
        amount = quantize(amount)
        if not 1 <= int(quantity) <= line.quantity:
            raise OrderError("invalid_quantity", _("The quantity must be between 1 and what was bought."))
        if amount <= 0:
            # Not "too much": a zero or negative sum is no refund at all, whatever remains.
            raise OrderError("invalid_amount", _("A refund amount must be greater than zero."), {"line": line.pk})
        rows.append(AfterSalesLine(order_line=line, quantity=int(quantity), amount=amount))
    if not rows:
        raise OrderError("no_lines", _("Choose at least one item."))
    shipping_amount = quantize(shipping_amount or ZERO)
    if shipping_amount < 0:
        raise OrderError("invalid_amount", _("The shipping refund cannot be negative."))
    _check_fits(locked, kind=kind, rows=rows, shipping_amount=shipping_amount)
    request = AfterSalesRequest.objects.create(
        merchant_order=locked,
        buyer=buyer,
        kind=kind,
        reason=reason.strip(),
        shipping_amount=shipping_amount,
        respond_by=timezone.now() + timedelta(hours=settings.AFTER_SALES_RESPONSE_HOURS),
    )
    for row in rows:
        row.request = request
    AfterSalesLine.objects.bulk_create(rows)
    for sha256, clean in cleaned_photos.items():
        photo = AfterSalesPhoto(request=request, sha256=sha256)
        photo.image.save("photo.jpg", ContentFile(clean.content), save=False)
        photo.save()
    _sync_flags(locked)
    audit_record(action="orders.after_sales_requested", actor=buyer, obj=locked, data={"request": request.pk})
    notices.after_sales_requested(request)
    return request


def _refund_request(request: AfterSalesRequest, action: str, *, actor, amount: Decimal | None = None) -> None:
    """Refund the request's lines (or `amount` spread over them in proportion) and move the
    request (already locked) to refunded by `action`."""
    lines = list(request.lines.all())
    requested = [line.amount for line in lines] + [request.shipping_amount]
    parts = requested if amount is None else allocate(amount, requested)
    items = [
        RefundItem(line.order_line_id, part, line.quantity)
        for line, part in zip(lines, parts, strict=False)
        if part > 0
    ]
    shipping = parts[-1]
    refund = refund_issue(
        merchant_order=request.merchant_order,
        items=items,
        shipping_amount=shipping,
        reason=f"after-sales {request.pk}",
        actor=actor,
        reference=f"as{request.pk}",
    )
    transition(
        request,
        action,
        table=AFTER_SALES_TRANSITIONS,
        lock=False,
        changes={"refund": refund, "closed_at": timezone.now()},
    )


@transaction.atomic
def after_sales_accept(*, request: AfterSalesRequest, merchant, actor, note: str = "") -> AfterSalesRequest:
    """`merchant` accepts its order's request: a refund is paid at once; a return waits for
    the goods. Locks the order, then the request; the request is checked whole again
    (refunds made since count) before anything changes."""
    locked = _lock_for_merchant(request, merchant)
    action = "accept_return" if locked.kind == AfterSalesKind.RETURN_REFUND else "accept_refund"
    AFTER_SALES_TRANSITIONS.check(locked, action)
    _check_fits(
        locked.merchant_order,
        kind=locked.kind,
        rows=list(locked.lines.all()),
        shipping_amount=locked.shipping_amount,
        exclude=locked.pk,
    )
    locked.merchant_note = (note or "").strip()
    if action == "accept_return":
        transition(
            locked, action, table=AFTER_SALES_TRANSITIONS, lock=False, changes={"merchant_note": locked.merchant_note}
        )
    else:
        locked.save(update_fields=["merchant_note"])
        _refund_request(locked, action, actor=actor)
    _sync_flags(locked.merchant_order)
    audit_record(
        action="orders.after_sales_accepted", actor=actor, obj=locked.merchant_order, data={"request": locked.pk}
    )
    notices.after_sales_decided(locked, accepted=True)
    return locked


@transaction.atomic
def after_sales_reject(*, request: AfterSalesRequest, merchant, actor, note: str) -> AfterSalesRequest:
    """`merchant` refuses its order's request, with a reason the buyer sees (the buyer may
    then escalate). Locks the order, then the request."""
    if not (note or "").strip():
        raise OrderError("reason_required", _("Give a reason: the buyer will see it."))
    locked = transition(
        _lock_for_merchant(request, merchant),
        "reject",
        table=AFTER_SALES_TRANSITIONS,
        lock=False,
        changes={"merchant_note": note.strip()},
    )
    _sync_flags(locked.merchant_order)
    audit_record(
        action="orders.after_sales_rejected", actor=actor, obj=locked.merchant_order, reason=locked.merchant_note
    )
    notices.after_sales_decided(locked, accepted=False)
    return locked


@transaction.atomic
def after_sales_return_received(*, request: AfterSalesRequest, merchant, actor, warehouse) -> AfterSalesRequest:
    """`merchant` received the returned goods: they go back to stock (once: each line's
    returned quantity grows, at most to what shipped) and the refund is paid. Locks the
    order, then the request, then stock rows."""
    locked = _lock_for_merchant(request, merchant)
    AFTER_SALES_TRANSITIONS.check(locked, "return_received")
    units: dict[int, int] = {}
    for line in locked.lines.all():
        units[line.order_line_id] = units.get(line.order_line_id, 0) + line.quantity
    for order_line in OrderLine.objects.filter(pk__in=units).select_related("sku").order_by("pk"):
        quantity = units[order_line.pk]
        left = order_line.quantity - order_line.returned_quantity
        if quantity > left:
            raise OrderConflict(
                "return_exceeds_shipped",
                _("At most %(max)d units of this line can still be returned.") % {"max": left},
                {"line": order_line.pk, "max": left},
            )
        OrderLine.objects.filter(pk=order_line.pk).update(returned_quantity=F("returned_quantity") + quantity)
        stock_receive(
            merchant=merchant,
            sku=order_line.sku,
            warehouse=warehouse,
            quantity=quantity,
            actor=actor,
            reference=f"return:as{locked.pk}",
            reason="returned by the buyer",
        )
    _refund_request(locked, "return_received", actor=actor)
    _sync_flags(locked.merchant_order)
    return locked


@transaction.atomic
def after_sales_escalate(*, request: AfterSalesRequest, buyer, statement: str) -> Dispute:
    """The buyer disputes a rejection; platform operations will decide. The money freezes."""
    if not (statement or "").strip():
        raise OrderError("statement_required", _("Explain why you disagree with the merchant."))
    locked = _lock_request(request)
    if locked.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    transition(locked, "escalate", table=AFTER_SALES_TRANSITIONS, lock=False)
    dispute = Dispute.objects.create(request=locked, buyer_statement=statement.strip())
    _sync_flags(locked.merchant_order)
    audit_record(action="orders.dispute_opened", actor=buyer, obj=locked.merchant_order, data={"dispute": dispute.pk})
    notices.dispute_opened(dispute)
    return dispute


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, arbiter, amount: Decimal, note: str) -> Dispute:
    """Operations decide: refund `amount` (at most what was asked) or 0 to reject. Unfreezes."""
    if not (note or "").strip():
        raise OrderError("reason_required", _("Explain the decision: both parties will see it."))
    request = _lock_request(dispute.request)
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    DISPUTE_TRANSITIONS.check(locked, "resolve")
    amount = quantize(amount)
    asked = sum((line.amount for line in request.lines.all()), ZERO) + request.shipping_amount
    if amount < 0 or amount > asked:
        raise OrderError("invalid_amount", _("The refund must be between 0 and ¥%(max)s.") % {"max": asked})
    if amount > 0:
        _refund_request(request, "resolve_refund", actor=arbiter, amount=amount)
    else:
        transition(
            request, "resolve_close", table=AFTER_SALES_TRANSITIONS, lock=False, changes={"closed_at": timezone.now()}
        )
    transition(
        locked,
        "resolve",
        table=DISPUTE_TRANSITIONS,
        lock=False,
        changes={
            "decision_amount": amount,
            "decision_note": note.strip(),
            "arbiter": arbiter,
            "resolved_at": timezone.now(),
        },
    )
    _sync_flags(request.merchant_order)
    audit_record(
        action="orders.dispute_resolved",
        actor=arbiter,
        obj=request.merchant_order,
        reason=locked.decision_note,
        data={"dispute": locked.pk, "amount": amount},
    )
    return locked


@transaction.atomic
def after_sales_withdraw(*, request: AfterSalesRequest, buyer) -> AfterSalesRequest:
    """The buyer withdraws an open (or rejected) request."""
    locked = _lock_request(request)
    if locked.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    transition(locked, "withdraw", table=AFTER_SALES_TRANSITIONS, lock=False, changes={"closed_at": timezone.now()})
    _sync_flags(locked.merchant_order)
    return locked


def _accept_overdue(pk: int) -> bool:
    request = AfterSalesRequest.objects.select_related("merchant_order__merchant").get(pk=pk)
    try:
        # The platform answers on behalf of the order's merchant.
        after_sales_accept(
            request=request,
            merchant=request.merchant_order.merchant,
            actor=None,
            note=str(_("Accepted automatically: no answer in time.")),
        )
    except OrderInvalidTransition:
        return False  # answered meanwhile
    return True


def accept_overdue_requests(*, now=None) -> int:
    """Periodic: accept requests the merchant left unanswered past `respond_by`, oldest
    first, each in its own transaction; one that cannot be accepted is recorded as a
    `JobFailure` with its code and the others are still accepted. Returns how many were."""
    now = now or timezone.now()
    ids = AfterSalesRequest.objects.filter(status=AfterSalesStatus.OPEN, respond_by__lt=now).order_by(
        "respond_by", "pk"
    )
    run = run_each(
        job="orders.accept_overdue_requests",
        object_type="orders.aftersalesrequest",
        ids=ids.values_list("pk", flat=True),
        handle=_accept_overdue,
    )
    return run.done
