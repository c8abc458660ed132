"""Placing an order: one buyer order, one merchant order per shop, shipments per warehouse.

Guarantees:
- atomic: every row (orders, lines, shipments, events, stock reservations) or none;
- stock is reserved in the same transaction through `catalog.services.stock_allocate_and_reserve`,
  which locks the stock rows in primary-key order and never oversells; a short item gives
  409 `insufficient_stock` and nothing is written (the transaction rolls back). A plain read
  with the SKUs refuses an item already short before any other work; the stock is then
  locked and reserved once the order is priced, before its rows are inserted: a buyer who
  lost the race for the last units (passed the plain read, found them gone under the lock)
  is refused having written nothing: its refusal costs the reads and the locked read, not
  the order's inserts and the rollback of them;
- each line freezes its price, category, discounts, base, rate and commission (pricing.py);
  shipping is charged per merchant order and spread over its lines with `money.allocate`;
- promotions: one query reads the live offers for the order's shops (`promotions.selectors
  .live_offers`), the pure engine (`promotions.pricing.price_cart`) prices the order, and the
  lines freeze its answer: each line's merchant- and platform-funded discount, one
  `OrderLineDiscount` per (line, promotion), gift lines (ordinary lines, stock reserved,
  gross discounted in full; the gift may be the SKU ordered, "buy X, get X": its own line,
  the stock reserved for both) and waived shipping (fee 0, `shipping_waived` on the merchant
  order). Totals: goods = Σ gross, discount = Σ discounts, paid = goods − discount +
  shipping. Limited promotions are consumed last (`promotion_usage_consume`: conditional
  UPDATEs in promotion-id order); one that ran out meanwhile refuses the order with 409
  `promotion_exhausted` and nothing stays written. Without a live promotion this costs the
  one query;
- a gift never refuses the order: short of stock at pricing its promotion gives nothing,
  and a gift whose units went between pricing and the stock lock is reserved optionally and
  dropped (`_drop_short_gifts`). Either way its promotion is not counted (no use, budget or
  per-buyer count: it gave this order nothing) and a `gift_out_of_stock` event tells the
  buyer (the answer's `missed_gifts`, the order page);
- a coupon (`coupon_id` or `coupon_code`) is found (a public code claimed) and checked
  before anything is written, priced as the coupon offer, and refused with the reason it
  gives nothing (400 `coupon_min_spend_not_reached`, `coupon_not_applicable`, …); it is
  marked used by a conditional UPDATE in this transaction: of concurrent checkouts with the
  same coupon one wins, the others get 409 `coupon_unavailable` and write nothing;
- totals add up to the cent (database constraints check them again);
- `checkout_place_idempotent`: the same buyer + `Idempotency-Key` + body gives the first
  order however often and however concurrently it is sent; another body → 422; a retry
  while the first is still running → 409 `request_in_progress`;
- order numbers are unique by construction (`_number`): "B", the local date (yymmdd) and
  the next value of the `orders_buyer_order_number_seq` sequence zero-padded to 10 digits,
  e.g. B2612070000004217; its merchant orders add "-1", "-2", … in merchant-id order.
  A refused or rolled-back checkout leaves a gap, never a duplicate;
- few round trips and little CPU (the checkout is the hot path): one query reads what pricing
  needs (the SKUs with their product, category, merchant, shipping rate and current
  contract's revenue-share rate), compiled once per process (marketplace/compiled.py, as the
  key's attempt read and the stock's locking read); one statement inserts the buyer order,
  merchant orders, lines and events (`_save_orders`), one the shipments with their lines; the
  placed order comes back with every row attached, so its answer is built without reading
  it again. An idempotent checkout adds no statement of its own: the buyer's address is read
  with the key's lock and the order number, whether the key was used with the SKUs, and the
  key's attempt and the ordered lines out of the cart are written with the order.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import BigIntegerField, BooleanField, Exists, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import category_ancestor_ids, sku_available_units, sku_list_for_checkout
from catalog.services.stock import stock_allocate_and_reserve, stock_refuse_short
from marketplace.audit import audit_record
from marketplace.compiled import ID_MARKER_BASE, TIME_MARKER, CompiledRead, id_markers
from marketplace.money import ZERO, allocate, quantize
from marketplace.numbers import sequence_next
from marketplace.prefetch import set_prefetched
from merchants.choices import MerchantStatus
from merchants.selectors import current_contract_value
from promotions.pricing import GiftLine, PricingResult
from promotions.selectors import cart_line_of, coupon_offer, flash_hold_pending
from promotions.services import (
    Use,
    coupon_check_applies,
    coupon_for_checkout,
    coupon_return_for_order,
    coupon_use,
    promotion_usage_consume,
)
from promotions.services.flash import FlashHold, flash_holds_consume, flash_holds_lock

from ..choices import GIFT_OUT_OF_STOCK_EVENT, OrderStatus
from ..errors import IdempotencyMismatch, OrderError, RequestInProgress
from ..models import (
    MAX_LINES,
    MAX_QUANTITY,
    Address,
    BuyerOrder,
    Cart,
    CartItem,
    CheckoutAttempt,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    OrderLineDiscount,
    Shipment,
    ShipmentLine,
)
from ..selectors import (
    PRICING_SKU_COLUMNS,
    buyer_order_detail,
    gift_name,
    line_rate,
    order_pricing,
    shipping_fee,
    sku_is_on_sale,
)


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
    *PRICING_SKU_COLUMNS,
    "merchant__shop_name",
    "merchant__company_name",
    "merchant__slug",
    "merchant__cooperation_mode",
    "merchant__live_since",
    "merchant__shipping_rate__id",
    "merchant__shipping_rate__merchant_id",
    "merchant__shipping_rate__flat_fee",
    "merchant__shipping_rate__free_over",
    # The logistics subsidy's higher rate: `MerchantOrder.has_special_category`.
    "product__category__is_fresh",
    "product__category__is_cross_border",
)


def _sku_rows(ids):
    return (
        sku_list_for_checkout(ids)
        .select_related("merchant__shipping_rate")
        .only(*_SKU_COLUMNS)
        .annotate(
            contract_revenue_share_rate=current_contract_value(OuterRef("merchant_id"), "revenue_share_rate"),
            available_units=sku_available_units(OuterRef("pk")),
            category_path=category_ancestor_ids("product__category_id"),
        )
    )


def _checkout_skus(*, ids, buyer_id, now):
    return _sku_rows(ids).annotate(flash_held=flash_hold_pending(OuterRef("pk"), buyer=buyer_id, now=now))


# The SKU read compiled once per number of SKUs (`compiled.py`): building and compiling it
# was about a quarter of the checkout's CPU and most of a refused buyer's. Its only values
# that change are the ids, the buyer and the time (the contract's and the stock's subqueries
# have none).
_CHECKOUT_SKUS = CompiledRead(_checkout_skus)


def _keyed_checkout_skus(*, ids, buyer_id, now, attempt_buyer_id, key):
    return _checkout_skus(ids=ids, buyer_id=buyer_id, now=now).annotate(
        attempted=Exists(CheckoutAttempt.objects.filter(buyer_id=attempt_buyer_id, key=key))
    )


# The same read for an idempotent checkout, with whether the key was used already
# (`attempted`): the key's attempt costs no statement of its own. It runs after the key's
# lock is held, so its snapshot sees the attempt of any request that held the lock before.
_KEYED_CHECKOUT_SKUS = CompiledRead(_keyed_checkout_skus)


def _on_sale(sku) -> bool:
    return sku is not None and sku.is_active and sku.product.is_published and sku.merchant.status == MerchantStatus.LIVE


def _read_skus(ids: list[int], *, buyer, key: str | None = None) -> list:
    """The rows of `_load_skus` (not checked); with `key`, each says whether the buyer's
    key was used already (`attempted`)."""
    markers = {"ids": id_markers(len(ids)), "buyer_id": ID_MARKER_BASE + 1, "now": TIME_MARKER}
    values = {"ids": ids, "buyer_id": buyer.pk, "now": timezone.now()}
    if key is None:
        return _CHECKOUT_SKUS.read(len(ids), markers=markers, values=values)
    return _KEYED_CHECKOUT_SKUS.read(
        len(ids),
        markers={**markers, "attempt_buyer_id": ID_MARKER_BASE + 2, "key": _KEY_MARKER},
        values={**values, "attempt_buyer_id": buyer.pk, "key": key},
    )


def _load_skus(items: list[CheckoutItem], *, buyer, rows: list | None = None) -> dict:
    """The ordered SKUs by id, in one query with what pricing reads (the merchant's shipping
    rate joined, its current contract's revenue-share rate as `contract_revenue_share_rate`,
    the category's ancestors as `category_path`), their available units as a plain read
    (`available_units`, for the stock pre-check) and whether the buyer holds a flash-sale
    reservation of it (`flash_held`); 400 `sku_unavailable` listing those no longer on sale.
    `rows`: those SKUs already read (`_read_skus`), checked here without another query."""
    ids = sorted({i.sku_id for i in items})
    if rows is None:
        rows = _read_skus(ids, buyer=buyer)
    skus = {s.pk: s for s in rows}
    unavailable = []
    for sku_id in sorted(ids):
        if not sku_is_on_sale(skus.get(sku_id)):
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
def checkout_place(*, buyer, address: Address, items, coupon_id=None, coupon_code: str = "") -> BuyerOrder:
    """Place an order for `items` (sku_id, quantity) delivered to the buyer's `address`,
    priced with the live promotions and the buyer's coupon `coupon_id` or the coupon (own or
    public) `coupon_code`, if given.

    The order is priced, the stock reserved (a short item refuses the order before anything
    is written; the transaction rolls back), the orders inserted with their lines and events
    and shipped from the warehouses the reservation chose (module
    docstring: the guarantees). Returns the order with everything its page and API answer
    show already attached (`orders.selectors.buyer_order_detail`), read from memory.
    """
    return _place(buyer=buyer, address=address, items=items, coupon_id=coupon_id, coupon_code=coupon_code)


def _place(
    *,
    buyer,
    address: Address,
    items,
    serial: int | None = None,
    coupon_id=None,
    coupon_code: str = "",
    line_discount: LineDiscount | None = None,
    sku_rows: list | None = None,
    attempt: tuple[str, str] | None = None,
    clear_cart: bool = False,
) -> BuyerOrder:
    """`checkout_place` inside the caller's transaction: every error it raises must abort
    that transaction (the caller lets it propagate), as rows may already be written.

    `line_discount(sku_id, gross)` → (merchant part, platform part) or None: a discount fixed
    by the caller for some lines (a group buy's first step, `group_buys.group_buy_join`),
    frozen on the line like any other. `sku_rows`: the ordered SKUs already read
    (`_read_skus`). `attempt` (key, request hash): the key's `CheckoutAttempt`, and
    `clear_cart`: the ordered SKUs out of the buyer's cart, both written in the order's
    statement (`_save_orders`)."""
    if address.buyer_id != buyer.pk:
        raise OrderError("invalid_address", _("Choose one of your saved addresses."))
    items = _clean_items(items)
    skus = _load_skus(items, buyer=buyer, rows=sku_rows)
    # The stock pre-check on the units read with the SKUs: a sold-out SKU is refused before
    # anything is written and without queueing on its stock rows' lock (the locked check
    # below stays the one that decides).
    stock_refuse_short(
        items=[(i.sku_id, i.quantity) for i in items], units={pk: sku.available_units for pk, sku in skus.items()}
    )
    placed_at = timezone.now()
    # The coupon: found (or its public code claimed) and checked before anything is written.
    coupon = coupon_for_checkout(buyer=buyer, coupon_id=coupon_id, code=coupon_code, now=placed_at)
    coupons = ((coupon.pk, coupon.promotion_id),) if coupon is not None else ()
    number = _number("B", placed_at, serial)
    # Flash sales: the buyer's live reservations of these SKUs, locked; their units are priced
    # at the special price and the reservations consumed below, in this transaction. A flash
    # line takes no other promotion: the engine prices the other lines only.
    flash = {}
    if any(sku.flash_held for sku in skus.values()):
        flash = flash_holds_lock(buyer=buyer, quantities={i.sku_id: i.quantity for i in items}, now=placed_at)
    # A group-buy place (`line_discount`) fixes its line's discount as a flash hold does.
    fixed = {}
    if line_discount is not None:
        for item in items:
            parts = line_discount(item.sku_id, quantize(skus[item.sku_id].price * item.quantity))
            if parts is not None:
                fixed[item.sku_id] = parts
    promoted = [item for item in items if item.sku_id not in flash and item.sku_id not in fixed]
    by_merchant = _items_by_merchant(items, skus)
    fees = {}
    for group in by_merchant:
        merchant = skus[group[0].sku_id].merchant
        gross = sum((quantize(skus[i.sku_id].price * i.quantity) for i in group), ZERO)
        fees[merchant.pk] = shipping_fee(merchant=merchant, goods_total=gross)
    priced = _price(buyer=buyer, items=promoted, skus=skus, fees=fees, placed_at=placed_at, coupons=coupons)
    if coupon is not None:
        _require_coupon_applied(coupon, promoted, skus, priced)

    merchant_orders = [
        _merchant_order(
            merchant_items,
            skus=skus,
            number=f"{number}-{index}",
            placed_at=placed_at,
            fees=fees,
            priced=priced,
            flash=flash,
            fixed=fixed,
        )
        for index, merchant_items in enumerate(by_merchant, start=1)
    ]
    buyer_order = _buyer_order(
        buyer=buyer, address=address, number=number, placed_at=placed_at, merchant_orders=merchant_orders
    )
    # The stock is reserved before anything is written: from here to the commit, other buyers
    # of these SKUs wait. A buyer who lost the race for the last units is refused as soon as
    # it holds the lock, having written nothing: its refusal costs the reads above, the locked
    # read and the rollback, not the order's inserts (in process, on a loaded machine: 11-12 ms
    # of CPU before, 9.3-9.7 now; a sale 12.5-13.5). The winners hold the lock over the inserts
    # too, a few round trips more; and this is the order a cancellation takes its locks in
    # (stock, then the coupon). A gift is reserved only from what the ordered units leave
    # (optional): gone since pricing, the order is placed without it (`_drop_short_gifts`)
    # rather than refused.
    all_lines = [line for _order, lines in merchant_orders for line in lines]
    allocations = stock_allocate_and_reserve(
        items=[(line.sku_id, line.quantity) for line in all_lines if not line.is_gift],
        optional=[(line.sku_id, line.quantity) for line in all_lines if line.is_gift],
        region=address.region,
        reference=f"order:{number}",
        precheck=False,  # made above, with the SKUs (a gift's with its promotion)
    )
    events = _save_orders(
        buyer_order,
        merchant_orders,
        actor=buyer,
        attempt=attempt,
        cart_skus=[item.sku_id for item in items] if clear_cart else (),
    )
    if priced is not None or flash:
        _save_line_discounts(merchant_orders, priced.result if priced else None, flash=flash)
    if coupon is not None:
        # A checkout that lost the coupon to a concurrent one fails here (409
        # coupon_unavailable): the transaction rolls back, its stock reservation with it.
        coupon_use(coupon=coupon, buyer=buyer, order_id=buyer_order.pk, order_number=number, now=placed_at)
    flash_holds_consume(
        holds=flash,
        order_numbers={line.sku_id: order.number for order, lines in merchant_orders for line in lines},
    )
    missed = _drop_short_gifts(buyer_order, merchant_orders, allocations)
    if coupon is not None and coupon.promotion_id in missed:
        # The coupon's gift was all it gave: it goes back to the buyer, as on a cancellation.
        coupon_return_for_order(order_id=buyer_order.pk, now=placed_at)
    shipments = _create_shipments(
        allocations,
        [line for _order, lines in merchant_orders for line in lines],
        buyer=buyer,
        address=buyer_order.address,
    )
    uses = [use for use in priced.uses if use.promotion_id not in missed] if priced is not None else []
    if uses:
        # Last: a limited promotion's row is the one every checkout using it queues on.
        promotion_usage_consume(buyer=buyer, order_id=buyer_order.pk, uses=uses)
    audit_record(action="orders.placed", actor=buyer, obj=buyer_order, data={"payable": buyer_order.payable_total})
    _attach(buyer_order, merchant_orders, events)
    if priced is not None:
        _record_missed_gifts(merchant_orders, events, [*priced.missed_gifts, *missed.values()], priced.gift_skus)
    return buyer_order_detail(buyer_order, shipments=shipments)


def _items_by_merchant(items: list[CheckoutItem], skus: dict) -> list[list[CheckoutItem]]:
    """One merchant order per shop, in merchant-id order (their numbers -1, -2, … follow it)."""
    by_merchant: dict[int, list[CheckoutItem]] = defaultdict(list)
    for item in items:
        by_merchant[skus[item.sku_id].merchant_id].append(item)
    return [by_merchant[merchant_id] for merchant_id in sorted(by_merchant)]


@dataclass(frozen=True)
class _Priced:
    """The engine's answer for this order, the gift SKUs (loaded, on sale), the uses of
    limited promotions to count and the gifts short of stock at pricing (`order_pricing`)."""

    result: PricingResult
    gift_skus: dict
    uses: list[Use]
    missed_gifts: tuple[GiftLine, ...] = ()


def _price(*, buyer, items, skus: dict, fees: dict, placed_at, coupons) -> _Priced | None:
    """Price the order with the promotions live at `placed_at` (`order_pricing`, shared with
    the cart); None when none is live for these shops. The uses to count are those of the
    applied promotions that have a limit."""
    priced = order_pricing(
        lines=[(skus[item.sku_id], item.quantity) for item in items],
        fees=fees,
        buyer=buyer,
        now=placed_at,
        coupons=coupons,
        load_gifts=_sku_rows,
    )
    if priced is None:
        return None
    uses = [
        Use(
            promotion_id=applied.promotion_id,
            amount=applied.amount,
            has_budget=priced.offers[applied.promotion_id].budget_left is not None,
            has_max_uses=priced.offers[applied.promotion_id].uses_left is not None,
            has_buyer_limit=priced.offers[applied.promotion_id].buyer_uses_left is not None,
        )
        for applied in priced.result.applied
    ]
    return _Priced(
        result=priced.result,
        gift_skus=priced.gift_skus,
        uses=[use for use in uses if use.is_limited],
        missed_gifts=priced.missed_gifts,
    )


def _require_coupon_applied(coupon, items, skus: dict, priced: _Priced | None) -> None:
    """Raise why the coupon gives nothing on this order (`coupon_check_applies`, on the
    coupon's own offer: `live_offers` leaves out a promotion whose budget is spent)."""
    lines = [
        cart_line_of(skus[item.sku_id], item.quantity, category_path=skus[item.sku_id].category_path) for item in items
    ]
    coupon_check_applies(coupon_offer(coupon), lines, priced.result if priced else PricingResult())


def _priced_line(
    sku,
    quantity: int,
    *,
    merchant,
    placed_at,
    pricing=None,
    is_gift: bool = False,
    flash_hold: FlashHold | None = None,
    fixed: tuple[Decimal, Decimal] | None = None,
) -> OrderLine:
    """A line that freezes, at placement, the price, the category, the discounts (the
    engine's `LinePricing`, None: no promotion) and the commission on the base: later
    changes of any of them never reprice an order already placed. A flash-sale hold prices
    its units at the special price instead: the difference is the line's discount, split
    between merchant and platform by the sale's funding; a group-buy place gives its line
    the `fixed` (merchant, platform) discount of its step."""
    gross = quantize(sku.price * quantity)
    merchant_discount = pricing.merchant_discount if pricing else ZERO
    platform_discount = pricing.platform_discount if pricing else ZERO
    if flash_hold is not None:
        merchant_discount, platform_discount = flash_hold.discount(sku.price)
    elif fixed is not None:
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
        is_gift=is_gift,
    )


def _merchant_order(
    merchant_items: list[CheckoutItem],
    *,
    skus: dict,
    number: str,
    placed_at,
    fees: dict,
    priced: _Priced | None,
    flash: dict[int, FlashHold],
    fixed: dict[int, tuple[Decimal, Decimal]],
) -> tuple[MerchantOrder, list[OrderLine]]:
    """One shop's part of the order (not saved yet): its priced lines (gift lines after the
    ordered ones), and its shipping fee (free-over threshold on the goods' gross, waived by a
    free-shipping promotion) charged once and spread over the lines by what the buyer pays
    for them, to the cent (`money.allocate`). Each line keeps its engine key as
    `pricing_key`, for its discount rows."""
    merchant = skus[merchant_items[0].sku_id].merchant
    result = priced.result if priced else None
    lines = []
    for item in merchant_items:
        key = str(item.sku_id)
        line = _priced_line(
            skus[item.sku_id],
            item.quantity,
            merchant=merchant,
            placed_at=placed_at,
            pricing=result.line(key) if result and item.sku_id not in flash and item.sku_id not in fixed else None,
            flash_hold=flash.get(item.sku_id),
            fixed=fixed.get(item.sku_id),
        )
        line.pricing_key = key
        lines.append(line)
    for gift in result.gifts if result else ():
        if gift.merchant_id == merchant.pk:
            line = _priced_line(
                priced.gift_skus[gift.sku_id],
                gift.quantity,
                merchant=merchant,
                placed_at=placed_at,
                pricing=result.line(gift.key),
                is_gift=True,
            )
            line.pricing_key = gift.key
            lines.append(line)
    goods = sum((line.gross for line in lines), ZERO)
    discount = sum((line.merchant_discount + line.platform_discount for line in lines), ZERO)
    waived = result.waived_shipping.get(merchant.pk, ZERO) if result else ZERO
    fee = fees[merchant.pk] - waived
    for line, share in zip(lines, allocate(fee, [line.paid for line in lines]), strict=True):
        line.shipping_share = share
    merchant_order = MerchantOrder(
        merchant=merchant,
        number=number,
        goods_total=goods,
        discount_total=discount,
        shipping_fee=fee,
        shipping_waived=waived,
        shipping_promotion_id=_waiving_promotion(result, merchant.pk) if waived else None,
        paid_total=goods - discount + fee,
        platform_discount_total=sum((line.platform_discount for line in lines), ZERO),
        base_total=sum((line.base for line in lines), ZERO),
        commission_total=sum((line.commission for line in lines), ZERO),
        has_special_category=_has_special_category(lines),
        placed_at=placed_at,
    )
    return merchant_order, lines


def _has_special_category(lines: list[OrderLine]) -> bool:
    """A line (a gift's too: it ships with the order) of a fresh or cross-border category,
    from the categories loaded with the SKUs: no query."""
    return any(line.category.is_fresh or line.category.is_cross_border for line in lines)


def _waiving_promotion(result: PricingResult, merchant_id: int) -> int | None:
    return next(
        (a.promotion_id for a in result.applied if a.waived_shipping_merchant_id == merchant_id and a.waived_shipping),
        None,
    )


def _save_line_discounts(merchant_orders, result: PricingResult | None, *, flash: dict[int, FlashHold]) -> None:
    """One row per (line, promotion) with its two funded parts, and one per flash line (its
    sale, the line's discount as frozen), all in one statement (none when no promotion gave
    anything and no flash hold was used). A group-buy line's row is written by
    `group_buys.group_buy_join`, which knows the campaign."""
    lines = {line.pricing_key: line for _order, order_lines in merchant_orders for line in order_lines}
    rows = [
        OrderLineDiscount(
            line=lines[part.line_key],
            promotion_id=part.promotion_id,
            merchant_part=part.merchant_part,
            platform_part=part.platform_part,
        )
        for part in (result.discounts if result is not None else ())
    ]
    for sku_id, hold in sorted(flash.items()):
        line = lines[str(sku_id)]
        rows.append(
            OrderLineDiscount(
                line=line,
                flash_sale_id=hold.sale_id,
                merchant_part=line.merchant_discount,
                platform_part=line.platform_discount,
            )
        )
    if rows:
        OrderLineDiscount.objects.bulk_create(rows)


def _drop_short_gifts(buyer_order: BuyerOrder, merchant_orders, allocations) -> dict[int, GiftLine]:
    """Take out of the order (rows and totals, in memory too) the gift lines the reservation
    could not cover: their SKU ran out between pricing and the lock. Returns the dropped gifts
    by promotion id; nothing is written when every gift was reserved (the usual case).

    A gift is given whole or not at all, and a promotion whose gift was not given gave this
    order nothing: its use, budget and per-buyer count are not taken (the caller leaves it
    out of the uses it consumes), as when it is short at pricing."""
    reserved: dict[int, int] = defaultdict(int)
    for allocation in allocations:
        reserved[allocation.sku_id] += allocation.quantity
    ordered: dict[int, int] = defaultdict(int)
    for _order, lines in merchant_orders:
        for line in lines:
            if not line.is_gift:
                ordered[line.sku_id] += line.quantity
    dropped: dict[int, GiftLine] = {}
    for merchant_order, lines in merchant_orders:
        short = [
            line for line in lines if line.is_gift and reserved[line.sku_id] < ordered[line.sku_id] + line.quantity
        ]
        if not short:
            continue
        for line in short:
            lines.remove(line)
            merchant_order.goods_total -= line.gross
            merchant_order.discount_total -= line.merchant_discount + line.platform_discount
            merchant_order.platform_discount_total -= line.platform_discount
            merchant_order.base_total -= line.base
            merchant_order.commission_total -= line.commission
            buyer_order.goods_total -= line.gross
            buyer_order.discount_total -= line.merchant_discount + line.platform_discount
            promotion_id = int(line.pricing_key.split(":", 1)[1])
            dropped[promotion_id] = GiftLine(
                key=line.pricing_key,
                promotion_id=promotion_id,
                sku_id=line.sku_id,
                product_id=line.sku.product_id,
                merchant_id=line.merchant_id,
                unit_price=line.unit_price,
                quantity=line.quantity,
            )
        # A gift's line is paid 0, so its shipping share is 0 unless every line is paid 0:
        # the fee is spread again over the lines that stay.
        if any(line.shipping_share for line in short):
            for line, share in zip(
                lines, allocate(merchant_order.shipping_fee, [kept.paid for kept in lines]), strict=True
            ):
                line.shipping_share = share
            OrderLine.objects.bulk_update(lines, ["shipping_share"])
        merchant_order.has_special_category = _has_special_category(lines)  # a dropped gift may have made it so
        merchant_order.save(
            update_fields=[
                "goods_total",
                "discount_total",
                "platform_discount_total",
                "base_total",
                "commission_total",
                "has_special_category",
            ]
        )
        ids = [line.pk for line in short]
        OrderLineDiscount.objects.filter(line_id__in=ids).delete()
        OrderLine.objects.filter(pk__in=ids).delete()
    if dropped:
        buyer_order.save(update_fields=["goods_total", "discount_total"])
    return dropped


def _record_missed_gifts(merchant_orders, events: list[OrderEvent], gifts, gift_skus: dict) -> None:
    """One `gift_out_of_stock` event per gift the order would have had but for its stock
    (short at pricing or at the lock), on its shop's merchant order, attached after the
    "place" event: the checkout's answer and the order's page tell the buyer."""
    by_merchant = {
        merchant_order.merchant_id: (merchant_order, event)
        for (merchant_order, _l), event in zip(merchant_orders, events, strict=True)
    }
    rows = []
    for gift in gifts:
        if gift.merchant_id in by_merchant:
            merchant_order, _place_event = by_merchant[gift.merchant_id]
            rows.append(
                OrderEvent(
                    merchant_order=merchant_order,
                    action=GIFT_OUT_OF_STOCK_EVENT,
                    note=gift_name(gift_skus[gift.sku_id]),
                )
            )
    if not rows:
        return
    OrderEvent.objects.bulk_create(rows)
    for merchant_order, place in by_merchant.values():
        added = [row for row in rows if row.merchant_order is merchant_order]
        if added:
            set_prefetched(merchant_order, "events", [place, *added])


def _buyer_order(*, buyer, address: Address, number: str, placed_at, merchant_orders) -> BuyerOrder:
    """The buyer's order (not saved yet): the address copied as it is now, the totals of its
    merchant orders, and the time by which it must be paid."""
    goods = sum((merchant_order.goods_total for merchant_order, _lines in merchant_orders), ZERO)
    discount = sum((merchant_order.discount_total for merchant_order, _lines in merchant_orders), ZERO)
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


# The buyer order, its merchant orders, their lines and "place" events in one statement (one
# round trip, no ORM insert compiled: the four inserts were a quarter of the checkout POST's
# CPU). Each INSERT takes its parent's id from the RETURNING of the one before it, by a scalar
# subquery on a key unique within the order (a merchant order's merchant); PostgreSQL returns
# the rows of a multi-row VALUES in its order, as Django's bulk_create relies on. The columns
# come from the models (a column a later migration adds is written as Django would write it).
_ORDERS_SQL = """
WITH buyer_order AS (
    INSERT INTO {buyer_orders} VALUES {buyer_order_rows} RETURNING id
), merchant_orders AS (
    INSERT INTO {merchant_orders} VALUES {merchant_order_rows} RETURNING id, merchant_id
), lines AS (
    INSERT INTO {lines} VALUES {line_rows} RETURNING id
), events AS (
    INSERT INTO {events} VALUES {event_rows} RETURNING id
){extra}
SELECT 1, id FROM buyer_order
UNION ALL SELECT 2, id FROM merchant_orders
UNION ALL SELECT 3, id FROM lines
UNION ALL SELECT 4, id FROM events
"""
_BUYER_ORDER_ID = "(SELECT id FROM buyer_order)"
# An idempotent checkout's attempt (its key, with the order's id) and the ordered lines out of
# the buyer's cart, in the same statement: two round trips fewer. A data-modifying WITH runs
# whether or not the SELECT reads it. The cart is locked first (a FOR UPDATE sub-select), as
# `cart._delete_lines` does: the DELETE queues behind a concurrent change to the cart. Nothing
# cascades from a cart line and no signal listens to its deletion (the cart's line count is
# kept by the table's triggers, which fire here as for any DELETE).
_ATTEMPT_SQL = """, attempt AS (
    INSERT INTO {attempts} VALUES {attempt_rows} RETURNING id
)"""
_CART_SQL = """, cart_lines AS (
    DELETE FROM {cart_items}
     WHERE cart_id IN (SELECT id FROM {carts} WHERE buyer_id = %s FOR UPDATE)
       AND sku_id IN ({skus})
)"""
_MERCHANT_ORDER_ID = "(SELECT id FROM merchant_orders WHERE merchant_id = %s)"


def _no_params(_row) -> list:
    return []


def _own_merchant(line: OrderLine) -> list:
    return [line.merchant_id]


def _orders_merchant(event: OrderEvent) -> list:
    return [event.merchant_order.merchant_id]


# Fields whose value of one of these types is written as it is: their `get_db_prep_save`
# gives it back unchanged on PostgreSQL (a str, a whole number, a flag, a Decimal, an id:
# psycopg adapts them), and it was a third of `_save_orders`' CPU (150 calls an order). Any
# other field or value (a time, set on save or not; a JSON document; a choice's enum member)
# goes through it.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DecimalField,
    models.ForeignKey,
)
_PLAIN_VALUES = frozenset({str, int, bool, Decimal, type(None)})


@functools.cache
def _insert_fields(model) -> list[tuple]:
    """(field, attname, plain) of the columns `_insert_rows` writes: all but the primary key."""
    return [
        (field, field.attname, isinstance(field, _PLAIN_FIELDS) and not isinstance(field, models.JSONField))
        for field in model._meta.concrete_fields
        if not field.primary_key
    ]


def _insert_rows(
    model, rows, parent: str = "", parent_sql: str = "", parent_params=_no_params
) -> tuple[str, str, list]:
    """`table (columns)`, the VALUES rows and their parameters of `rows` (instances of `model`,
    not saved), the `parent` foreign key given by `parent_sql` (with `parent_params(row)`)."""
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    values, params = [], []
    for row in rows:
        places = []
        for field, attname, plain in fields:
            if field.name == parent:
                places.append(parent_sql)
                params.extend(parent_params(row))
                continue
            places.append("%s")
            value = getattr(row, attname) if plain else field.pre_save(row, True)
            if type(value) in _PLAIN_VALUES and plain:
                params.append(value)
                continue
            if hasattr(value, "resolve_expression"):  # a database default or expression: not here
                raise TypeError(f"{model.__name__}.{field.name} is an expression; give it a value.")
            params.append(field.get_db_prep_save(value, connection))
        values.append(f"({', '.join(places)})")
    table = f"{quote(model._meta.db_table)} ({', '.join(quote(field.column) for field, _attname, _plain in fields)})"
    return table, ", ".join(values), params


def _save_orders(
    buyer_order: BuyerOrder, merchant_orders, *, actor, attempt: tuple[str, str] | None = None, cart_skus=()
) -> list[OrderEvent]:
    """Insert the buyer order, all its merchant orders, all their lines and their "place"
    events in one statement (`_ORDERS_SQL`); returns the events, in merchant-order order. The
    rows come back as `save()` leaves them: ids set, saved, linked to their parents. In the
    same statement: the `attempt` (key, request hash) of an idempotent checkout, and the
    `cart_skus` lines out of the buyer's cart."""
    orders = [merchant_order for merchant_order, _lines in merchant_orders]
    lines = [line for _order, order_lines in merchant_orders for line in order_lines]
    events = [
        OrderEvent(merchant_order=merchant_order, action="place", to_status=OrderStatus.PENDING_PAYMENT, actor=actor)
        for merchant_order in orders
    ]
    parts = {
        "buyer_orders": _insert_rows(BuyerOrder, [buyer_order]),
        "merchant_orders": _insert_rows(MerchantOrder, orders, "buyer_order", _BUYER_ORDER_ID, _no_params),
        "lines": _insert_rows(OrderLine, lines, "merchant_order", _MERCHANT_ORDER_ID, _own_merchant),
        "events": _insert_rows(OrderEvent, events, "merchant_order", _MERCHANT_ORDER_ID, _orders_merchant),
    }
    extra, extra_params = "", []
    if attempt is not None:
        key, request_hash = attempt
        row = CheckoutAttempt(buyer_id=buyer_order.buyer_id, key=key, request_hash=request_hash)
        table, rows, params = _insert_rows(CheckoutAttempt, [row], "buyer_order", _BUYER_ORDER_ID)
        extra += _ATTEMPT_SQL.format(attempts=table, attempt_rows=rows)
        extra_params += params
    if cart_skus:
        quote = connection.ops.quote_name
        extra += _CART_SQL.format(
            cart_items=quote(CartItem._meta.db_table),
            carts=quote(Cart._meta.db_table),
            skus=", ".join(["%s"] * len(cart_skus)),
        )
        extra_params += [buyer_order.buyer_id, *cart_skus]
    sql = _ORDERS_SQL.format(
        extra=extra,
        buyer_orders=parts["buyer_orders"][0],
        buyer_order_rows=parts["buyer_orders"][1],
        merchant_orders=parts["merchant_orders"][0],
        merchant_order_rows=parts["merchant_orders"][1],
        lines=parts["lines"][0],
        line_rows=parts["lines"][1],
        events=parts["events"][0],
        event_rows=parts["events"][1],
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(param for part in parts.values() for param in part[2]), *extra_params])
        returned = cursor.fetchall()
    ids: dict[int, list[int]] = defaultdict(list)
    for kind, pk in returned:
        ids[kind].append(pk)
    for kind, rows in ((1, [buyer_order]), (2, orders), (3, lines), (4, events)):
        if len(ids[kind]) != len(rows):  # never: one id per row inserted
            raise RuntimeError("The order's insert returned another number of rows.")
        for row, pk in zip(rows, ids[kind], strict=True):
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias
    for merchant_order in orders:
        merchant_order.buyer_order = buyer_order  # now with its id
    for merchant_order, order_lines in merchant_orders:
        for line in order_lines:
            line.merchant_order = merchant_order
    for event, merchant_order in zip(events, orders, strict=True):
        event.merchant_order = merchant_order
    return events


def _line_allocations(allocations, lines: list[OrderLine]) -> list[tuple[OrderLine, int, int]]:
    """The reserved units as (line, warehouse id, quantity): a SKU's allocations go to its
    lines in order, the ordered line before a gift of the same SKU ("buy X, get X")."""
    queues: dict[int, list[list[int]]] = defaultdict(list)
    for allocation in allocations:
        queues[allocation.sku_id].append([allocation.warehouse_id, allocation.quantity])
    placed = []
    for line in sorted(lines, key=lambda line: line.is_gift):
        wanted, queue = line.quantity, queues[line.sku_id]
        while wanted:
            warehouse_id, units = queue[0]
            take = min(units, wanted)
            placed.append((line, warehouse_id, take))
            wanted -= take
            if take == units:
                queue.pop(0)
            else:
                queue[0][1] -= take
    return placed


# The shipments and their lines in one statement: the lines' insert joins the shipments'
# RETURNING on (merchant, warehouse), unique within an order, so it needs no ids from Python
# and the order costs one round trip less. The shipments' columns come from the model (any
# column a later migration adds is written as Django would write it).
_SHIPMENT_FIELDS = [field for field in Shipment._meta.concrete_fields if not field.primary_key]
_SHIPMENTS_SQL = """
WITH new_shipments AS (
    INSERT INTO {shipments} ({columns}) VALUES {shipment_rows}
    RETURNING id, merchant_id, warehouse_id
), new_lines AS (
    INSERT INTO {lines} (shipment_id, order_line_id, quantity)
    SELECT shipment.id, v.line_id, v.quantity
      FROM (VALUES {line_rows}) AS v (merchant_id, warehouse_id, line_id, quantity)
      JOIN new_shipments AS shipment
        ON shipment.merchant_id = v.merchant_id AND shipment.warehouse_id = v.warehouse_id
    RETURNING id, shipment_id, order_line_id
)
SELECT false, id, merchant_id, warehouse_id FROM new_shipments
UNION ALL
SELECT true, id, shipment_id, order_line_id FROM new_lines
"""


def _create_shipments(allocations, lines: list[OrderLine], *, buyer, address: str) -> list[Shipment]:
    """One shipment per merchant and warehouse the reservation chose; a line split over
    warehouses has a shipment line in each. One statement whatever their number (a shipment
    line is unique by (shipment, order line): a line's units in one warehouse are one
    allocation); returns the shipments in the order they were created, each with its lines
    attached."""
    shipments: dict[tuple[int, int], Shipment] = {}
    lines_of: dict[tuple[int, int], list[ShipmentLine]] = defaultdict(list)
    for line, warehouse_id, quantity in _line_allocations(allocations, lines):
        key = (line.merchant_id, warehouse_id)
        if key not in shipments:
            shipments[key] = Shipment(
                merchant_id=line.merchant_id, warehouse_id=warehouse_id, buyer=buyer, address=address
            )
        lines_of[key].append(ShipmentLine(shipment=shipments[key], order_line=line, quantity=quantity))
    if not shipments:
        return []
    quote = connection.ops.quote_name
    sql = _SHIPMENTS_SQL.format(
        shipments=quote(Shipment._meta.db_table),
        columns=", ".join(quote(field.column) for field in _SHIPMENT_FIELDS),
        shipment_rows=", ".join([f"({', '.join(['%s'] * len(_SHIPMENT_FIELDS))})"] * len(shipments)),
        lines=quote(ShipmentLine._meta.db_table),
        line_rows=", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::integer)"] * sum(map(len, lines_of.values()))),
    )
    params = [
        field.get_db_prep_save(field.pre_save(shipment, True), connection)
        for shipment in shipments.values()
        for field in _SHIPMENT_FIELDS
    ]
    params += [
        value
        for key, rows in lines_of.items()
        for row in rows
        for value in (key[0], key[1], row.order_line.pk, row.quantity)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    line_of = {
        (row.shipment.merchant_id, row.shipment.warehouse_id, row.order_line.pk): row
        for rows in lines_of.values()
        for row in rows
    }
    for is_line, pk, first, second in returned:
        if not is_line:
            shipments[(first, second)].pk = pk
    merchant_warehouse = {shipment.pk: key for key, shipment in shipments.items()}
    for is_line, pk, shipment_id, order_line_id in returned:
        if is_line:
            line_of[(*merchant_warehouse[shipment_id], order_line_id)].pk = pk
    for key, shipment in shipments.items():
        for row in [shipment, *lines_of[key]]:
            row._state.adding = False
            row._state.db = connection.alias
        for shipment_line in lines_of[key]:
            shipment_line.shipment = shipment  # now with its id
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
        set_prefetched(merchant_order, "complaints", [])


def _by_number(merchant_order: MerchantOrder) -> str:
    return merchant_order.number


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a checkout request body (key order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _attempt(*, buyer_id, key):
    return CheckoutAttempt.objects.filter(buyer_id=buyer_id, key=key).select_related("buyer_order").order_by("pk")[:1]


# The key's attempt, read when the SKU read says the key was used (a replay, a reused key):
# compiled once (marketplace/compiled.py); only the buyer and the key change.
_ATTEMPT = CompiledRead(_attempt)
_KEY_MARKER = "compiled-read:idempotency-key-marker"


def _locked_address(*, address_id, buyer_id, lock_id):
    return (
        Address.objects.filter(pk=address_id, buyer_id=buyer_id)
        .order_by()
        .annotate(
            locked=RawSQL("pg_try_advisory_xact_lock(%s)", [lock_id], output_field=BooleanField()),
            serial=RawSQL("nextval(%s)", [NUMBER_SEQUENCE], output_field=BigIntegerField()),
        )
    )


# The buyer's address with the key's lock and the order number's sequence value: one statement
# (compiled once) where there were two, the address's outside the transaction (its own commit).
# The lock and the value are taken only for the row found: another buyer's address, or none,
# takes neither.
_LOCKED_ADDRESS = CompiledRead(_locked_address)


def checkout_place_idempotent(
    *,
    buyer,
    key: str,
    fingerprint: str,
    address: Address | None = None,
    items,
    coupon_id=None,
    coupon_code: str = "",
    address_id: int | None = None,
    clear_cart: bool = False,
) -> tuple[BuyerOrder, bool]:
    """Place once per (buyer, key). Returns (order, created); a new order comes as
    `checkout_place` returns it, a replayed one as stored (the caller reads what it shows).

    The address is the buyer's `address`, or the buyer's saved address `address_id` (400
    `invalid_address` when it is not one), read in the statement that takes the lock.
    A transaction-level advisory lock on (buyer, key) lets exactly one request work on a
    key at a time; others answer `request_in_progress` at once instead of waiting. The lock
    is held until the transaction ends (the caller's, when it runs in one). `clear_cart`:
    the ordered SKUs leave the buyer's cart with the new order (in its statement).
    """
    key = (key or "").strip()
    if not 8 <= len(key) <= 100:
        raise OrderError("invalid_idempotency_key", _("The Idempotency-Key header must have 8 to 100 characters."))
    if address is not None:
        address_id = address.pk
    lock_id = int.from_bytes(hashlib.sha256(f"checkout:{buyer.pk}:{key}".encode()).digest()[:8], "big", signed=True)
    ids = sorted({int(item.sku_id) for item in items})
    # No savepoint (nested in cart_checkout's transaction): an error of the placement aborts
    # the whole order anyway, and every caller lets it propagate so its transaction rolls back
    # as a whole; a savepoint would only cost two round trips. The refusals found here
    # (not the buyer's address; another request holds the key; the key was used for another
    # body) leave the block first: nothing is written by then, so the caller's transaction
    # stays usable.
    locked = False
    with transaction.atomic(savepoint=False):
        # The order number's sequence value in the same round trip: a request refused here or
        # replayed leaves a gap in the numbers, which they may have.
        found = _LOCKED_ADDRESS.read(
            1,
            markers={"address_id": ID_MARKER_BASE, "buyer_id": ID_MARKER_BASE + 1, "lock_id": ID_MARKER_BASE + 2},
            values={"address_id": address_id, "buyer_id": buyer.pk, "lock_id": lock_id},
        )
        locked = bool(found) and found[0].locked
        if locked:
            sku_rows, attempted = None, True
            if 1 <= len(ids) <= MAX_LINES:
                # Whether the key was used, with the SKUs (one statement): read after the lock.
                sku_rows = _read_skus(ids, buyer=buyer, key=key)
                attempted = any(row.attempted for row in sku_rows) if sku_rows else None
            attempt = None
            if attempted is not False:  # used, or not known (no SKU read or none found)
                attempts = _ATTEMPT.read(
                    1,
                    markers={"buyer_id": ID_MARKER_BASE, "key": _KEY_MARKER},
                    values={"buyer_id": buyer.pk, "key": key},
                )
                attempt = attempts[0] if attempts else None
            if attempt is None:
                order = _place(
                    buyer=buyer,
                    address=found[0],
                    items=items,
                    serial=found[0].serial,
                    coupon_id=coupon_id,
                    coupon_code=coupon_code,
                    sku_rows=sku_rows,
                    attempt=(key, fingerprint),
                    clear_cart=clear_cart,
                )
                return order, True
            if attempt.request_hash == fingerprint:
                return attempt.buyer_order, False
    if not found:
        raise OrderError("invalid_address", _("Choose one of your saved addresses."))
    if not locked:
        raise RequestInProgress(message=_("This order is still being placed; wait a moment."))
    raise IdempotencyMismatch(message=_("This Idempotency-Key was already used for a different order. Use a new key."))
