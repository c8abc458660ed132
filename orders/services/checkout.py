"""Placing an order: one buyer order, one merchant order per shop, shipments per warehouse.

Guarantees:
- atomic: every row (orders, lines, shipments, events, stock reservations) or none;
- stock is reserved in the same transaction through `catalog.services.stock_allocate_and_reserve`,
  which locks the stock rows in primary-key order and never oversells; a short item gives
  409 `insufficient_stock` and nothing is written (the transaction rolls back). It is reserved
  as late as it can be, after the orders and lines are inserted: the stock rows are the only
  rows other buyers queue on, so their locks are held for the shortest time;
- each line freezes its price, category, discounts, base, rate and commission (pricing.py);
  shipping is charged per merchant order and spread over its lines with `money.allocate`;
- totals add up to the cent (database constraints check them again);
- `checkout_place_idempotent`: the same buyer + `Idempotency-Key` + body gives the first
  order however often and however concurrently it is sent; another body → 422; a retry
  while the first is still running → 409 `request_in_progress`;
- order numbers are unique by construction (`_number`): "B", the local date (yymmdd) and
  the next value of the `orders_buyer_order_number_seq` sequence zero-padded to 10 digits,
  e.g. B2612070000004217; its merchant orders add "-1", "-2", … in merchant-id order.
  A refused or rolled-back checkout leaves a gap, never a duplicate;
- few round trips (the checkout is the hot path): one query reads what pricing needs (the SKUs
  with their product, category, merchant, shipping rate and current contract's revenue-share
  rate) and one bulk insert per kind of row written; the placed order comes back with every
  row attached, so its answer is built without reading it again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import sku_available_units, sku_list_for_checkout
from catalog.services.stock import stock_allocate_and_reserve, stock_refuse_short
from marketplace.audit import audit_record
from marketplace.money import ZERO, allocate, quantize
from marketplace.numbers import sequence_next
from marketplace.prefetch import set_prefetched
from merchants.choices import MerchantStatus
from merchants.selectors import current_contract_value

from ..choices import OrderStatus
from ..errors import IdempotencyMismatch, OrderError, RequestInProgress
from ..models import (
    MAX_LINES,
    MAX_QUANTITY,
    Address,
    BuyerOrder,
    CheckoutAttempt,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Shipment,
    ShipmentLine,
)
from ..selectors import buyer_order_detail, line_rate, shipping_fee


@dataclass(frozen=True)
class CheckoutItem:
    sku_id: int
    quantity: int


#: A discount a caller fixes for some lines: (sku_id, gross) → (merchant part, platform part),
#: None for the lines it leaves alone.
LineDiscount = Callable[[int, Decimal], "tuple[Decimal, Decimal] | None"]


# What pricing, the lines and the answer read of a SKU and its product, category, merchant
# and shipping rate: the other columns (descriptions, search text, the merchant's documents
# and bank details) are never read at checkout and cost transfer and decoding on every order.
_SKU_COLUMNS = (
    "id",
    "product_id",
    "merchant_id",
    "code",
    "attributes",
    "price",
    "is_active",
    "product__id",
    "product__title",
    "product__category_id",
    "product__published_at",
    "product__withdrawn_at",
    "product__category__id",
    "product__category__parent_id",
    "product__category__commission_rate",
    "merchant__id",
    "merchant__status",
    "merchant__shop_name",
    "merchant__company_name",
    "merchant__slug",
    "merchant__cooperation_mode",
    "merchant__live_since",
    "merchant__credit_grade",
    "merchant__shipping_rate__id",
    "merchant__shipping_rate__merchant_id",
    "merchant__shipping_rate__flat_fee",
    "merchant__shipping_rate__free_over",
)


def _load_skus(items: list[CheckoutItem]) -> dict:
    """The ordered SKUs by id, in one query with what pricing reads (the merchant's shipping
    rate joined, its current contract's revenue-share rate as `contract_revenue_share_rate`)
    and their available units as a plain read (`available_units`, for the stock pre-check);
    400 `sku_unavailable` listing those no longer on sale."""
    ids = {i.sku_id for i in items}
    rows = (
        sku_list_for_checkout(ids)
        .select_related("merchant__shipping_rate")
        .only(*_SKU_COLUMNS)
        .annotate(
            contract_revenue_share_rate=current_contract_value(OuterRef("merchant_id"), "revenue_share_rate"),
            available_units=sku_available_units(OuterRef("pk")),
        )
    )
    skus = {s.pk: s for s in rows}
    unavailable = []
    for sku_id in sorted(ids):
        sku = skus.get(sku_id)
        product = sku.product if sku else None
        if sku is None or not sku.is_active or not product.is_published or sku.merchant.status != MerchantStatus.LIVE:
            unavailable.append(sku_id)
    if unavailable:
        raise OrderError(
            "sku_unavailable", _("Some items are no longer on sale; remove them from the cart."), {"skus": unavailable}
        )
    return skus


def _clean_items(items) -> list[CheckoutItem]:
    """Items merged by SKU, each 1 to MAX_QUANTITY units (after merging: a SKU listed twice
    must not double the cap), at most MAX_LINES of them, so the totals fit their columns."""
    invalid_quantity = OrderError(
        "invalid_quantity",
        _("Quantities are whole numbers from %(low)s to %(high)s.") % {"low": 1, "high": MAX_QUANTITY},
    )
    merged: dict[int, int] = defaultdict(int)
    for item in items:
        quantity = item.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            raise invalid_quantity
        merged[int(item.sku_id)] += quantity
    if not merged:
        raise OrderError("empty_order", _("There is nothing to order."))
    if any(quantity > MAX_QUANTITY for quantity in merged.values()):
        raise invalid_quantity
    if len(merged) > MAX_LINES:
        raise OrderError(
            "too_many_lines",
            _("An order has at most %(max)s different items.") % {"max": MAX_LINES},
            {"max_lines": MAX_LINES},
        )
    return [CheckoutItem(sku_id, quantity) for sku_id, quantity in sorted(merged.items())]


# Created by orders migration 0010. One sequence for all time, not one per day: the date is
# only there to be read, the sequence alone makes the number unique.
NUMBER_SEQUENCE = "orders_buyer_order_number_seq"


def _number(prefix: str, placed_at, serial: int | None = None) -> str:
    """The order's number: `prefix`, the local date and the sequence value `serial` (the next
    one when not given: `checkout_place_idempotent` takes it in the statement of its lock).

    Before, it was the time to the second plus six random digits, not retried: two orders in
    the same second collided about once in 10**6 pairs (a 500 at checkout). `nextval` cannot
    hand out a value twice and waits for no one, so concurrent checkouts never queue on it."""
    if serial is None:
        serial = sequence_next(NUMBER_SEQUENCE)
    return f"{prefix}{timezone.localdate(placed_at):%y%m%d}{serial:010d}"


@transaction.atomic
def checkout_place(*, buyer, address: Address, items) -> BuyerOrder:
    """Place an order for `items` (sku_id, quantity) delivered to the buyer's `address`.

    The orders are priced and inserted with their lines and events, then the stock is
    reserved (a short item refuses the order: the transaction rolls back, nothing stays
    written) and the order shipped from the warehouses the reservation chose (module
    docstring: the guarantees). Returns the order with everything its page and API answer
    show already attached (`orders.selectors.buyer_order_detail`), read from memory.
    """
    return _place(buyer=buyer, address=address, items=items)


def _place(
    *, buyer, address: Address, items, serial: int | None = None, line_discount: LineDiscount | None = None
) -> BuyerOrder:
    """`checkout_place` inside the caller's transaction: every error it raises must abort
    that transaction (the caller lets it propagate), as rows may already be written.

    `line_discount(sku_id, gross)` → (merchant part, platform part) or None: a discount fixed
    by the caller for some lines (a group buy's first step, `group_buys.group_buy_join`),
    frozen on the line like any other."""
    if address.buyer_id != buyer.pk:
        raise OrderError("invalid_address", _("Choose one of your saved addresses."))
    items = _clean_items(items)
    skus = _load_skus(items)
    # The stock pre-check on the units read with the SKUs: a sold-out SKU is refused before
    # anything is written and without queueing on its stock rows' lock (the locked check
    # below stays the one that decides).
    stock_refuse_short(
        items=[(i.sku_id, i.quantity) for i in items], units={pk: sku.available_units for pk, sku in skus.items()}
    )
    placed_at = timezone.now()
    number = _number("B", placed_at, serial)

    merchant_orders = [
        _merchant_order(
            merchant_items, skus=skus, number=f"{number}-{index}", placed_at=placed_at, line_discount=line_discount
        )
        for index, merchant_items in enumerate(_items_by_merchant(items, skus), start=1)
    ]
    buyer_order = _buyer_order(
        buyer=buyer, address=address, number=number, placed_at=placed_at, merchant_orders=merchant_orders
    )
    events = _save_orders(buyer_order, merchant_orders, actor=buyer)
    # Locked as late as possible: from here to the commit, other buyers of these SKUs wait.
    allocations = stock_allocate_and_reserve(
        items=[(i.sku_id, i.quantity) for i in items],
        region=address.region,
        reference=f"order:{number}",
        precheck=False,  # made above, with the SKUs
    )
    lines_by_sku = {line.sku_id: line for _order, lines in merchant_orders for line in lines}
    shipments = _create_shipments(allocations, lines_by_sku, buyer=buyer, address=buyer_order.address)
    audit_record(action="orders.placed", actor=buyer, obj=buyer_order, data={"payable": buyer_order.payable_total})
    _attach(buyer_order, merchant_orders, events)
    return buyer_order_detail(buyer_order, shipments=shipments)


def _items_by_merchant(items: list[CheckoutItem], skus: dict) -> list[list[CheckoutItem]]:
    """One merchant order per shop, in merchant-id order (their numbers -1, -2, … follow it)."""
    by_merchant: dict[int, list[CheckoutItem]] = defaultdict(list)
    for item in items:
        by_merchant[skus[item.sku_id].merchant_id].append(item)
    return [by_merchant[merchant_id] for merchant_id in sorted(by_merchant)]


def _priced_line(sku, quantity: int, *, merchant, placed_at, line_discount: LineDiscount | None = None) -> OrderLine:
    """A line that freezes, at placement, the price, the category and the commission: later
    changes of any of them never reprice an order already placed."""
    gross = quantize(sku.price * quantity)
    merchant_discount = platform_discount = ZERO  # promotions decide these later
    fixed = line_discount(sku.pk, gross) if line_discount is not None else None
    if fixed is not None:
        merchant_discount, platform_discount = fixed
    base = gross - merchant_discount
    rate = line_rate(
        merchant=merchant,
        category=sku.product.category,
        placed_at=placed_at,
        revenue_share_rate=sku.contract_revenue_share_rate,
    )
    return OrderLine(
        merchant=merchant,
        sku=sku,
        category=sku.product.category,
        product_title=sku.product.title,
        sku_code=sku.code,
        sku_label=sku.label,
        unit_price=sku.price,
        quantity=quantity,
        gross=gross,
        merchant_discount=merchant_discount,
        platform_discount=platform_discount,
        paid=gross - merchant_discount - platform_discount,
        base=base,
        category_rate=rate.category_rate,
        launch_policy=rate.launch_policy,
        grade_a=rate.grade_a,
        commission_rate=rate.rate,
        commission=rate.commission(base),
    )


def _merchant_order(
    merchant_items: list[CheckoutItem], *, skus: dict, number: str, placed_at, line_discount: LineDiscount | None = None
) -> tuple[MerchantOrder, list[OrderLine]]:
    """One shop's part of the order (not saved yet): its priced lines, and its shipping fee
    charged once and spread over the lines to the cent (`money.allocate`)."""
    merchant = skus[merchant_items[0].sku_id].merchant
    lines = [
        _priced_line(
            skus[item.sku_id], item.quantity, merchant=merchant, placed_at=placed_at, line_discount=line_discount
        )
        for item in merchant_items
    ]
    goods = sum((line.paid for line in lines), ZERO)
    fee = shipping_fee(merchant=merchant, goods_total=goods)
    for line, share in zip(lines, allocate(fee, [line.paid for line in lines]), strict=True):
        line.shipping_share = share
    merchant_order = MerchantOrder(
        merchant=merchant,
        number=number,
        goods_total=goods,
        discount_total=ZERO,
        shipping_fee=fee,
        paid_total=goods + fee,
        platform_discount_total=sum((line.platform_discount for line in lines), ZERO),
        base_total=sum((line.base for line in lines), ZERO),
        commission_total=sum((line.commission for line in lines), ZERO),
        placed_at=placed_at,
    )
    return merchant_order, lines


def _buyer_order(*, buyer, address: Address, number: str, placed_at, merchant_orders) -> BuyerOrder:
    """The buyer's order (not saved yet): the address copied as it is now, the totals of its
    merchant orders, and the time by which it must be paid."""
    goods = sum((merchant_order.goods_total for merchant_order, _lines in merchant_orders), ZERO)
    discount = ZERO  # promotions decide it later
    shipping = sum((merchant_order.shipping_fee for merchant_order, _lines in merchant_orders), ZERO)
    return BuyerOrder(
        number=number,
        buyer=buyer,
        recipient=address.recipient,
        phone=address.phone,
        region=address.region,
        address=f"{address.province}{address.city}{address.district}{address.line}",
        goods_total=goods,
        discount_total=discount,
        shipping_total=shipping,
        payable_total=goods - discount + shipping,
        placed_at=placed_at,
        pay_by=placed_at + timedelta(minutes=settings.ORDER_PAYMENT_MINUTES),
    )


def _save_orders(buyer_order: BuyerOrder, merchant_orders, *, actor) -> list[OrderEvent]:
    """Insert the buyer order, then all its merchant orders, all their lines and their "place"
    events, one statement each (PostgreSQL returns the new ids, which the next statement
    needs); returns the events, in merchant-order order."""
    buyer_order.save()
    for merchant_order, _lines in merchant_orders:
        merchant_order.buyer_order = buyer_order
    MerchantOrder.objects.bulk_create([merchant_order for merchant_order, _lines in merchant_orders])
    for merchant_order, lines in merchant_orders:
        for line in lines:
            line.merchant_order = merchant_order
    OrderLine.objects.bulk_create([line for _order, lines in merchant_orders for line in lines])
    return OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                merchant_order=merchant_order, action="place", to_status=OrderStatus.PENDING_PAYMENT, actor=actor
            )
            for merchant_order, _lines in merchant_orders
        ]
    )


def _create_shipments(allocations, lines_by_sku: dict[int, OrderLine], *, buyer, address: str) -> list[Shipment]:
    """One shipment per merchant and warehouse the reservation chose; a line split over
    warehouses has a shipment line in each. Two statements whatever their number; returns the
    shipments in the order they were created, each with its lines attached."""
    shipments: dict[tuple[int, int], Shipment] = {}
    lines_of: dict[tuple[int, int], list[ShipmentLine]] = defaultdict(list)
    for allocation in allocations:
        line = lines_by_sku[allocation.sku_id]
        key = (line.merchant_id, allocation.warehouse_id)
        if key not in shipments:
            shipments[key] = Shipment(
                merchant_id=line.merchant_id, warehouse_id=allocation.warehouse_id, buyer=buyer, address=address
            )
        lines_of[key].append(ShipmentLine(shipment=shipments[key], order_line=line, quantity=allocation.quantity))
    Shipment.objects.bulk_create(shipments.values())
    for key, shipment_lines in lines_of.items():
        for shipment_line in shipment_lines:
            shipment_line.shipment = shipments[key]  # now with its id
    ShipmentLine.objects.bulk_create([row for rows in lines_of.values() for row in rows])
    for key, shipment in shipments.items():
        set_prefetched(shipment, "lines", lines_of[key])
    return list(shipments.values())


def _attach(buyer_order: BuyerOrder, merchant_orders, events: list[OrderEvent]) -> None:
    """Attach the rows just written to the order as `buyer_order_get` would load them (merchant
    orders by number, lines by id), and the relations known to be empty for a new order, so
    reading the order for the answer asks the database nothing."""
    set_prefetched(buyer_order, "merchant_orders", sorted((order for order, _lines in merchant_orders), key=_by_number))
    for (merchant_order, lines), event in zip(merchant_orders, events, strict=True):
        for line in lines:
            set_prefetched(line, "review", None)
        set_prefetched(merchant_order, "lines", sorted(lines, key=lambda line: line.pk))
        set_prefetched(merchant_order, "events", [event])
        set_prefetched(merchant_order, "after_sales", [])
        set_prefetched(merchant_order, "refunds", [])


def _by_number(merchant_order: MerchantOrder) -> str:
    return merchant_order.number


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a checkout request body (key order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def checkout_place_idempotent(*, buyer, key: str, fingerprint: str, address: Address, items) -> tuple[BuyerOrder, bool]:
    """Place once per (buyer, key). Returns (order, created); a new order comes as
    `checkout_place` returns it, a replayed one as stored (the caller reads what it shows).

    A transaction-level advisory lock on (buyer, key) lets exactly one request work on a
    key at a time; others answer `request_in_progress` at once instead of waiting. The lock
    is held until the transaction ends (the caller's, when it runs in one).
    """
    key = (key or "").strip()
    if not 8 <= len(key) <= 100:
        raise OrderError("invalid_idempotency_key", _("The Idempotency-Key header must have 8 to 100 characters."))
    lock_id = int.from_bytes(hashlib.sha256(f"checkout:{buyer.pk}:{key}".encode()).digest()[:8], "big", signed=True)
    # No savepoint (nested in cart_checkout's transaction): an error of the placement aborts
    # the whole order anyway, and every caller lets it propagate so its transaction rolls back
    # as a whole; a savepoint would only cost two round trips. The refusals found here
    # (another request holds the key; the key was used for another body) leave the block
    # first: nothing is written by then, so the caller's transaction stays usable.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # The order number's sequence value in the same round trip: a request refused
            # here or replayed leaves a gap in the numbers, which they may have.
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s), nextval(%s)", [lock_id, NUMBER_SEQUENCE])
            locked, serial = cursor.fetchone()
        if locked:
            attempt = CheckoutAttempt.objects.filter(buyer=buyer, key=key).select_related("buyer_order").first()
            if attempt is None:
                order = _place(buyer=buyer, address=address, items=items, serial=serial)
                CheckoutAttempt.objects.create(buyer=buyer, key=key, request_hash=fingerprint, buyer_order=order)
                return order, True
            if attempt.request_hash == fingerprint:
                return attempt.buyer_order, False
    if not locked:
        raise RequestInProgress(message=_("This order is still being placed; wait a moment."))
    raise IdempotencyMismatch(message=_("This Idempotency-Key was already used for a different order. Use a new key."))
