"""Merchant order states: pay, ship, deliver, complete, cancel, and the periodic jobs.

Every change goes through `merchant_order_transition` (the kernel's `transition` helper): it
locks the merchant order, checks `TRANSITIONS` (409 `invalid_transition` otherwise), writes the
new state and an `OrderEvent` (who, from, to, note); buyer orders move by
`BUYER_ORDER_TRANSITIONS` the same way. Cancelling releases the stock reservation of the order's lines in the same
transaction. Locks are taken buyer order first, then its merchant orders by primary key.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.services import StockLine, stock_release, stock_ship
from marketplace.errors import NotFoundError
from marketplace.jobs import run_each
from marketplace.transitions import transition
from promotions.services import (
    coupon_return_for_order,
    group_buy_order_cancelled,
    group_buy_order_paid,
    promotion_usage_release,
)
from promotions.services.flash import flash_reservations_return

from ..choices import BuyerOrderStatus, ShipmentStatus
from ..errors import OrderConflict, OrderError
from ..models import BUYER_ORDER_TRANSITIONS, TRANSITIONS, BuyerOrder, MerchantOrder, OrderEvent, Shipment, ShipmentLine
from ..selectors import parcel_order_ids
from . import notices
from .parcels import shipment_detach
from .refunds import full_refund_items, refund_issue

TIMESTAMPS = {
    "pay": "paid_at",
    "ship": "shipped_at",
    "deliver": "delivered_at",
    "complete": "completed_at",
    "cancel": "cancelled_at",
}


def merchant_order_transition(
    order: MerchantOrder, action: str, *, actor=None, note: str = "", changes: dict | None = None
) -> MerchantOrder:
    """Move the merchant order by `action` with the kernel's `transition` helper: lock it,
    check `TRANSITIONS` (409 `invalid_transition` otherwise), stamp the action's time and
    write `changes` in the same UPDATE and record the `OrderEvent`. Call inside a
    transaction; returns the locked row."""

    def record(locked: MerchantOrder, previous: str) -> None:
        OrderEvent.objects.create(
            merchant_order=locked, action=action, from_status=previous, to_status=locked.status, actor=actor, note=note
        )

    return transition(
        order, action, table=TRANSITIONS, changes={TIMESTAMPS[action]: timezone.now(), **(changes or {})}, record=record
    )


def shipped_changes(carrier: str) -> dict:
    """What the ship transition writes besides its time: the carrier code the logistics
    subsidy reads (`MerchantOrder.shipped_carrier`). An order ships once, every parcel of it
    with this carrier, so this is the carrier of its first shipped shipment."""
    return {"shipped_carrier": MerchantOrder.carrier_code(carrier)}


def merchant_order_reserved_lines(order: MerchantOrder) -> list[StockLine]:
    """The stock the order still holds reserved: the lines of its parcels not shipped yet."""
    rows = ShipmentLine.objects.filter(
        order_line__merchant_order=order, shipment__status=ShipmentStatus.PENDING
    ).select_related("shipment", "order_line")
    return [StockLine(r.order_line.sku_id, r.shipment.warehouse_id, r.quantity) for r in rows]


@transaction.atomic
def buyer_order_mark_paid(*, buyer_order: BuyerOrder) -> BuyerOrder:
    """The gateway confirmed payment: the buyer order and each merchant order become paid."""
    locked = transition(buyer_order, "pay", table=BUYER_ORDER_TRANSITIONS, changes={"paid_at": timezone.now()})
    for order in locked.merchant_orders.order_by("pk"):
        merchant_order_transition(order, "pay", note="gateway")
    group_buy_order_paid(order_id=locked.pk)  # a group buy's participant counts once paid
    notices.order_paid(locked, locked.merchant_orders.order_by("pk"))
    return locked


@transaction.atomic
def merchant_order_cancel(*, order: MerchantOrder, actor=None, note: str = "") -> MerchantOrder:
    """Cancel before shipping; the stock reservation is released and flash-sale units return
    to their sales. (Refunds of paid orders are issued by the payments service.) An order
    merged into a parcel with other orders is first moved out of it, so the others' parcel
    is not cancelled with it."""
    shipment_detach(order=order, actor=actor)
    locked = merchant_order_transition(order, "cancel", actor=actor, note=note)
    lines = merchant_order_reserved_lines(locked)
    if lines:
        stock_release(lines=lines, reference=f"cancel:{locked.number}", actor=actor)
    # Flash-sale units of the order go back to their sales (once: the reservations change state).
    flash_reservations_return(order_number=locked.number)
    Shipment.objects.filter(lines__order_line__merchant_order=locked, status=ShipmentStatus.PENDING).update(
        status=ShipmentStatus.CANCELLED
    )
    return locked


@transaction.atomic
def buyer_order_cancel_unpaid(*, buyer_order: BuyerOrder, actor=None, note: str = "") -> BuyerOrder:
    """Cancel a buyer order still waiting for payment, with all its merchant orders; the
    coupon it used goes back to the buyer (once: the cancellation happens once)."""
    # Locked and checked first: its merchant orders are cancelled under the buyer order's lock.
    locked = BuyerOrder.objects.select_for_update().get(pk=buyer_order.pk)
    BUYER_ORDER_TRANSITIONS.check(locked, "cancel")
    for order in locked.merchant_orders.order_by("pk"):
        merchant_order_cancel(order=order, actor=actor, note=note)
    # Unpaid, so the limited promotions it used give their uses and budget back (exactly once:
    # the buyer order can be cancelled only once, and the release marks what it gave back).
    promotion_usage_release(order_id=locked.pk)
    coupon_return_for_order(order_id=locked.pk)
    group_buy_order_cancelled(order_id=locked.pk)  # its group buy place, if any, is free again
    return transition(
        locked, "cancel", table=BUYER_ORDER_TRANSITIONS, lock=False, changes={"cancelled_at": timezone.now()}
    )


def _cancel_expired(pk: int) -> bool:
    order = (
        BuyerOrder.objects.select_for_update(skip_locked=True)
        .filter(pk=pk, status=BuyerOrderStatus.PENDING_PAYMENT)
        .first()
    )
    if order is None:
        return False  # paid or cancelled meanwhile, or being handled right now
    buyer_order_cancel_unpaid(buyer_order=order, note="payment time limit passed")
    return True


def cancel_expired_unpaid(*, now=None) -> int:
    """Periodic: cancel buyer orders not paid within ORDER_PAYMENT_MINUTES, each in its own
    transaction; one that fails is recorded as a `JobFailure` and the others go on. Returns
    how many were cancelled."""
    now = now or timezone.now()
    ids = BuyerOrder.objects.filter(status=BuyerOrderStatus.PENDING_PAYMENT, pay_by__lt=now).order_by("pay_by", "pk")
    run = run_each(
        job="orders.cancel_expired_unpaid",
        object_type="orders.buyerorder",
        ids=ids.values_list("pk", flat=True),
        handle=_cancel_expired,
    )
    return run.done


def merchant_order_lock_for_merchant(order: MerchantOrder, merchant) -> MerchantOrder:
    """Lock the merchant order for a change by `merchant`; another merchant's order is not
    found (404), whatever the caller checked before. Call inside a transaction."""
    locked = MerchantOrder.objects.select_for_update().get(pk=order.pk)
    if merchant is None or locked.merchant_id != merchant.pk:
        raise NotFoundError(message=_("No such order."))
    return locked


@transaction.atomic
def merchant_order_ship(*, order: MerchantOrder, merchant, actor, carrier: str, tracking_number: str) -> MerchantOrder:
    """`merchant` hands the goods of its order to a carrier: reserved stock leaves the
    warehouses. Locks the order (ownership checked under the lock), then stock rows."""
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise OrderError("tracking_required", _("Give the carrier and the tracking number."))
    merchant_order_lock_for_merchant(order, merchant)
    if len(parcel_order_ids([order.pk])) > 1:
        raise OrderConflict("parcel_shared", _("This order travels in one parcel with other orders: ship the parcel."))
    lines = merchant_order_reserved_lines(order)
    locked = merchant_order_transition(
        order, "ship", actor=actor, note=f"{carrier} {tracking_number}", changes=shipped_changes(carrier)
    )
    if lines:
        stock_ship(lines=lines, reference=f"ship:{locked.number}", actor=actor)
    Shipment.objects.filter(lines__order_line__merchant_order=locked, status=ShipmentStatus.PENDING).update(
        status=ShipmentStatus.SHIPPED, carrier=carrier, tracking_number=tracking_number, shipped_at=timezone.now()
    )
    notices.order_shipped(locked, carrier=carrier, tracking_number=tracking_number)
    return locked


@transaction.atomic
def merchant_order_deliver(*, order: MerchantOrder, actor=None) -> MerchantOrder:
    """The carrier reports delivery."""
    return merchant_order_transition(order, "deliver", actor=actor)


@transaction.atomic
def merchant_order_confirm_receipt(*, order: MerchantOrder, actor) -> MerchantOrder:
    """The buyer confirms receipt: the order is completed (settlement counts from here).
    Only the order's buyer may confirm."""
    if BuyerOrder.objects.filter(pk=order.buyer_order_id).values_list("buyer_id", flat=True).first() != actor.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    return merchant_order_transition(order, "complete", actor=actor, note="buyer confirmed receipt")


def _complete_overdue(pk: int) -> bool:
    order = MerchantOrder.objects.select_for_update(skip_locked=True).filter(pk=pk, after_sales_open=False).first()
    if order is None or not TRANSITIONS.can("complete", order):
        return False  # a request opened, or completed meanwhile, or being handled right now
    merchant_order_transition(order, "complete", note="completed automatically after the confirmation period")
    return True


def complete_overdue_shipped(*, now=None) -> int:
    """Periodic: complete orders shipped ORDER_AUTO_COMPLETE_DAYS ago, unless an after-sales
    request is open (it pauses the clock); each order in its own transaction, one that fails
    is recorded as a `JobFailure` and the others go on. Returns how many were completed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORDER_AUTO_COMPLETE_DAYS)
    ids = MerchantOrder.objects.filter(
        status__in=TRANSITIONS.sources("complete"), shipped_at__lte=cutoff, after_sales_open=False
    ).order_by("shipped_at", "pk")
    run = run_each(
        job="orders.complete_overdue_shipped",
        object_type="orders.merchantorder",
        ids=ids.values_list("pk", flat=True),
        handle=_complete_overdue,
    )
    return run.done


@transaction.atomic
def buyer_cancel(*, order: MerchantOrder, buyer, reason: str = "") -> MerchantOrder:
    """The buyer cancels before shipping. Unpaid: the whole buyer order is cancelled (it is
    paid at once). Paid: this merchant order is cancelled and refunded in full, shipping too."""
    buyer_order = BuyerOrder.objects.select_for_update().get(pk=order.buyer_order_id)
    if buyer_order.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    if buyer_order.status == BuyerOrderStatus.PENDING_PAYMENT:
        buyer_order_cancel_unpaid(buyer_order=buyer_order, actor=buyer, note=reason or "cancelled by the buyer")
        return MerchantOrder.objects.get(pk=order.pk)
    locked = merchant_order_cancel(order=order, actor=buyer, note=reason or "cancelled by the buyer")
    refund_issue(
        merchant_order=locked,
        items=full_refund_items(locked),
        shipping_amount=locked.shipping_fee,
        reason="cancelled before shipping",
        actor=buyer,
        reference=f"cancel-{locked.number}",
    )
    return locked
