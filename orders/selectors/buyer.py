"""Buyer-facing reads of orders: carts, addresses, orders and payments.

Each takes the buyer, so a buyer only ever reaches their own rows; anyone else's ids are not
found (None, answered 404 by the views; staff included: they use the admin).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.selectors import (
    live_images,
    sku_available_units,
    sku_on_sale,
)
from marketplace.money import ZERO, quantize

from ..choices import AFTER_SALES_OPEN_STATES, GIFT_OUT_OF_STOCK_EVENT
from ..models import (
    BUYER_ORDER_TRANSITIONS,
    REQUESTABLE_STATES,
    Address,
    AfterSalesLine,
    AfterSalesRequest,
    BuyerOrder,
    Cart,
    CartItem,
    CheckoutAttempt,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Payment,
    Shipment,
    ShipmentLine,
    ShippingRate,
)
from .base import _MERCHANT_PRIVATE
from .pricing import shipping_fee
from .reviews import complaints_for_buyer_order

# --- Buyer ---------------------------------------------------------------------------------

# ·· Cart


def cart_find(*, buyer=None, session_key: str | None = None) -> Cart | None:
    """The signed-in buyer's cart, else the anonymous session's; None when there is none yet
    (pages read carts without creating one: a visit alone writes nothing)."""
    if buyer is not None and buyer.is_authenticated:
        return Cart.objects.filter(buyer=buyer).first()
    if session_key:
        return Cart.objects.filter(session_key=session_key, buyer__isnull=True).first()
    return None


def _lines_of(*, buyer=None, session_key: str | None = None) -> Q | None:
    """The lines of the cart `cart_find` finds, as a filter on CartItem; None: no cart."""
    if buyer is not None and buyer.is_authenticated:
        return Q(cart__buyer=buyer)
    if session_key:
        return Q(cart__session_key=session_key, cart__buyer__isnull=True)
    return None


def cart_item_count(*, buyer=None, session_key: str | None = None) -> int:
    """Units in the cart (for the header link), in one query."""
    owner = _lines_of(buyer=buyer, session_key=session_key)
    if owner is None:
        return 0
    return CartItem.objects.filter(owner).aggregate(n=Sum("quantity", default=0))["n"]


@dataclass
class CartLine:
    item: CartItem
    unit_price: Decimal
    line_total: Decimal
    available: int  # units available now, over the active warehouses
    on_sale: bool
    image_id: int | None = None  # the product's first live image

    @property
    def sku(self):
        return self.item.sku

    @property
    def quantity(self) -> int:
        return self.item.quantity

    @property
    def problem(self) -> str:
        """ "" when the line can be ordered; else "unavailable", "out_of_stock" or "short"."""
        return line_problem(on_sale=self.on_sale, available=self.available, quantity=self.quantity)


def line_problem(*, on_sale: bool, available: int, quantity: int) -> str:
    """What keeps a cart line from being ordered (`CartLine.problem`), from its values alone."""
    if not on_sale:
        return "unavailable"
    if available <= 0:
        return "out_of_stock"
    return "short" if available < quantity else ""


@dataclass
class CartShop:
    merchant: object
    lines: list[CartLine] = field(default_factory=list)
    subtotal: Decimal = ZERO  # of the lines on sale
    shipping: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping


@dataclass
class CartView:
    shops: list[CartShop] = field(default_factory=list)

    @property
    def lines(self) -> list[CartLine]:
        return [line for shop in self.shops for line in shop.lines]

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def goods_total(self) -> Decimal:
        return sum((shop.subtotal for shop in self.shops), ZERO)

    @property
    def shipping_total(self) -> Decimal:
        return sum((shop.shipping for shop in self.shops), ZERO)

    @property
    def total(self) -> Decimal:
        return self.goods_total + self.shipping_total

    @property
    def has_problems(self) -> bool:
        return any(line.problem for line in self.lines)

    @property
    def items(self) -> list[tuple[int, int]]:
        """(sku id, quantity) of every line, in SKU order: what a checkout would order."""
        return sorted((line.sku.pk, line.quantity) for line in self.lines)


def cart_view(cart: Cart | None) -> CartView:
    """The cart grouped by shop: current price, line total and live availability per line;
    per shop the subtotal of the lines on sale and its shipping (`shipping_fee`, below).

    One query, however many lines and shops the cart holds: the lines with SKU, product,
    merchant and the merchant's shipping rate joined; availability, "on sale" and the first
    live picture computed in SQL.
    """
    return CartView() if cart is None else _cart_view("cart", cart.pk)


def cart_view_of(*, buyer=None, session_key: str | None = None) -> CartView:
    """`cart_view` of the cart `cart_find` would find, in its one query: the lines are
    reached through their cart's owner, without reading the cart first."""
    if buyer is not None and buyer.is_authenticated:
        return _cart_view("buyer", buyer.pk)
    if session_key:
        return _cart_view("session", session_key)
    return CartView()


# The cart's lines by owner (the same lookups as `_lines_of`), each with a marker value no
# real owner has: `_cart_statement` finds the owner's place among the compiled parameters by it.
_CART_OWNERS = {
    "cart": (lambda marker: Q(cart_id=marker), -7_300_000_001),
    "buyer": (lambda marker: Q(cart__buyer_id=marker), -7_300_000_002),
    "session": (lambda marker: Q(cart__session_key=marker, cart__buyer__isnull=True), "\x00cart-owner-marker"),
}

# What the cart's pages and API show of a line, in the order `_cart_view` unpacks them (the
# merchant's private fields never).
_CART_ROW = (
    "id",
    "cart_id",
    "quantity",
    "added_at",
    "sku_id",
    "sku__code",
    "sku__attributes",
    "sku__price",
    "sku__product_id",
    "sku__product__title",
    "sku__merchant_id",
    "sku__merchant__shop_name",
    "sku__merchant__company_name",
    "sku__merchant__slug",
    "sku__merchant__shipping_rate__id",
    "sku__merchant__shipping_rate__flat_fee",
    "sku__merchant__shipping_rate__free_over",
    "available",
    "on_sale",
    "image_id",
)


def _cart_lines(lines: Q) -> QuerySet:
    """The cart view's query: the lines of `lines` as `_CART_ROW` tuples, by shop."""
    first_image = live_images().queryset.filter(product=OuterRef("sku__product_id")).values("pk")[:1]
    return (
        CartItem.objects.filter(lines)
        .annotate(
            available=Coalesce(sku_available_units(OuterRef("sku_id")), Value(0)),
            on_sale=ExpressionWrapper(sku_on_sale("sku__"), output_field=BooleanField()),
            image_id=Subquery(first_image),
        )
        .values_list(*_CART_ROW)
        .order_by("sku__merchant_id", "added_at", "id")
    )


@functools.cache
def _cart_statement(owner: str) -> tuple[str, tuple, int]:
    """`_cart_lines` for an owner kind of `_CART_OWNERS`, compiled once per process: the SQL,
    its parameters, and the place of the owner's among them.

    Why: every add to the cart answers with the whole cart, and compiling this query (three
    sub-selects and four joins) cost the ORM more CPU than the rest of the request's
    statements together; only the owner changes from one cart to the next. The statement is
    still the ORM's, built from catalog's own definitions (`sku_on_sale`,
    `sku_available_units`, `live_images`): none of them has a parameter that changes with
    time or with the request, which is what makes reusing it correct.
    """
    lookup, marker = _CART_OWNERS[owner]
    sql, params = _cart_lines(lookup(marker)).query.sql_with_params()
    (index,) = [i for i, param in enumerate(params) if type(param) is type(marker) and param == marker]
    return sql, params, index


#: What the add-to-cart's statement gives with each line after the cart view's columns
#: (`cart_lines_statement`), in this order: whether the cart may have changed after the
#: statement's snapshot (the lines must then be read again), and the cart's own fields.
CART_WRITE_COLUMNS = ("changed", "cart_buyer_id", "cart_session_key", "cart_updated_at")


@functools.cache
def cart_lines_statement(source: str) -> tuple[str, tuple]:
    """The cart view's query (`_cart_lines`) compiled once per process to read its lines from
    `source`, a common table expression of the statement this query ends, with the columns of
    orders_cartitem's `id, cart_id, quantity, added_at, sku_id` and CART_WRITE_COLUMNS: the
    SQL and its parameters (none changes between calls, as in `_cart_statement`). Each row is
    the cart view's (`_CART_ROW`: the line's id, cart_id, quantity, added_at and sku_id
    first), then CART_WRITE_COLUMNS.

    Why: the add-to-cart (`orders.services.cart._add_units`) writes the line and reads the
    whole cart for its answer in one statement; the lines come from the rows it wrote and the
    cart's other lines, since a statement does not see the rows its own INSERT wrote.
    """
    if not source.isidentifier():
        raise ValueError(f"{source!r} is not the name of a common table expression.")
    sql, params = _cart_lines(Q()).query.sql_with_params()
    table = ' FROM "orders_cartitem" '
    if sql.count(table) != 1:  # the lines' FROM only: no sub-select of the query reads the lines
        raise ValueError("The cart view's query reads orders_cartitem more than once.")
    # The source takes the table's name, so every column the ORM compiled refers to it; its
    # own columns end the select list (the ORDER BY names columns by their place: unchanged).
    extra = "".join(f', "orders_cartitem"."{name}"' for name in CART_WRITE_COLUMNS)
    return sql.replace(table, f'{extra} FROM {source} "orders_cartitem" '), params


# The models a cart line joins, reached through their relations (the layer contracts let orders
# read other apps only through their selectors).
SKU = CartItem._meta.get_field("sku").related_model
Product = SKU._meta.get_field("product").related_model
Merchant = SKU._meta.get_field("merchant").related_model


def _loaded(model, **values):
    """An instance of `model` as the ORM loads one with only `values`' fields (the others
    deferred, read on access), without the ORM's per-row machinery."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


def _cart_rows(owner: str, value) -> list[tuple]:
    """The cart view's rows of the cart of `owner` (a kind of `_CART_OWNERS`) `value`."""
    sql, params, index = _cart_statement(owner)
    params = list(params)
    params[index] = value
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _cart_view(owner: str, value) -> CartView:
    return cart_view_of_rows(_cart_rows(owner, value))


def _rows_after_add(item: CartItem) -> list[tuple]:
    """The cart's rows after the add that gave `item`: those its statement read, or read again
    when they may be older than the add (None: see `orders.services.cart_add`)."""
    rows = getattr(item, "cart_rows", None)
    return rows if rows is not None else _cart_rows("cart", item.cart_id)


def cart_view_after_add(item: CartItem) -> CartView:
    """`cart_view` of the cart after `cart_add(..., read_lines=True)` gave `item`: built from
    the rows the add's statement read, without another query (one when a concurrent change
    of the cart made them stale)."""
    return cart_view_of_rows(_rows_after_add(item))


def cart_plain_after_add(item: CartItem) -> dict:
    """`cart_plain_of_rows` of the cart after `cart_add(..., read_lines=True)` gave `item` (as
    `cart_view_after_add`)."""
    return cart_plain_of_rows(_rows_after_add(item))


def cart_view_of_rows(rows) -> CartView:
    """The CartView of the cart view's rows (`_CART_ROW` tuples in the query's order; columns
    after those are ignored), its lines as model instances for pages and serializers."""
    decode_attributes = SKU._meta.get_field("attributes").from_db_value  # jsonb arrives as text
    shops: dict[int, CartShop] = {}
    rates: dict[int, ShippingRate | None] = {}
    for row in rows:
        (pk, cart_id, quantity, added_at, sku_id, code, attributes, price, product_id, title, merchant_id) = row[:11]
        (shop_name, company_name, slug, rate_id, flat_fee, free_over, available, on_sale, image_id) = row[11:20]
        shop = shops.get(merchant_id)
        if shop is None:
            merchant = _loaded(Merchant, id=merchant_id, shop_name=shop_name, company_name=company_name, slug=slug)
            rate = None
            if rate_id is not None:
                rate = _loaded(
                    ShippingRate, id=rate_id, merchant_id=merchant_id, flat_fee=flat_fee, free_over=free_over
                )
            # As select_related leaves it: read without a query, None when the merchant has none.
            Merchant.shipping_rate.related.set_cached_value(merchant, rate)
            shop = shops[merchant_id] = CartShop(merchant=merchant)
            rates[merchant_id] = rate
        sku = _loaded(
            SKU,
            id=sku_id,
            product_id=product_id,
            merchant_id=merchant_id,
            code=code,
            attributes=decode_attributes(attributes, None, None),
            price=price,
        )
        sku.product = _loaded(Product, id=product_id, title=title)
        sku.merchant = shop.merchant
        item = _loaded(CartItem, id=pk, cart_id=cart_id, sku_id=sku_id, quantity=quantity, added_at=added_at)
        item.sku = sku
        line = CartLine(
            item=item,
            unit_price=price,
            line_total=quantize(price * quantity),
            available=max(available, 0),
            on_sale=on_sale,
            image_id=image_id,
        )
        shop.lines.append(line)
        if line.on_sale:
            shop.subtotal += line.line_total
    for merchant_id, shop in shops.items():
        # A shop with nothing orderable left charges no shipping.
        if any(line.on_sale for line in shop.lines):
            shop.shipping = shipping_fee(merchant=shop.merchant, goods_total=shop.subtotal, rate=rates[merchant_id])
    return CartView(shops=list(shops.values()))


def cart_plain_of_rows(rows) -> dict:
    """What `cart_view_of_rows(rows)` shows, as plain values without model instances: the
    API's cart (`CartSerializer`'s keys in its order; amounts as Decimals), for an answer
    written without the serializer (`orders.api.lean.cart_body`; a test compares the two).

    The same rules as CartView's: line totals rounded by `quantize`, a shop's subtotal of its
    lines on sale and its shipping (`shipping_fee`, none when nothing is on sale), the line's
    problem (`line_problem`); the merchant's display name and the SKU's label by their models'
    own properties, read from the row's values.
    """
    decode_attributes = SKU._meta.get_field("attributes").from_db_value  # jsonb arrives as text
    display_name, label = Merchant.display_name.fget, SKU.label.fget
    shops: dict[int, dict] = {}
    rates: dict[int, SimpleNamespace | None] = {}
    orderable: set[int] = set()  # shops with a line on sale
    count, goods_total, shipping_total, has_problems = 0, ZERO, ZERO, False
    for row in rows:
        (_pk, _cart_id, quantity, _added_at, sku_id, code, attributes, price, _product_id, title, merchant_id) = row[
            :11
        ]
        (shop_name, company_name, slug, rate_id, flat_fee, free_over, available, on_sale, _image_id) = row[11:20]
        shop = shops.get(merchant_id)
        if shop is None:
            name = display_name(SimpleNamespace(shop_name=shop_name, company_name=company_name))
            shop = shops[merchant_id] = {"shop": {"id": merchant_id, "name": name, "slug": slug}, "lines": []}
            shop["subtotal"] = ZERO
            rates[merchant_id] = None if rate_id is None else SimpleNamespace(flat_fee=flat_fee, free_over=free_over)
        available = max(available, 0)
        line_total = quantize(price * quantity)
        problem = line_problem(on_sale=on_sale, available=available, quantity=quantity)
        shop["lines"].append(
            {
                "sku": sku_id,
                "product_title": title,
                "sku_code": code,
                "sku_label": label(SimpleNamespace(attributes=decode_attributes(attributes, None, None), code=code)),
                "unit_price": price,
                "quantity": quantity,
                "line_total": line_total,
                "available": available,
                "on_sale": on_sale,
                "problem": problem,
            }
        )
        if on_sale:
            shop["subtotal"] += line_total
            orderable.add(merchant_id)
        count += quantity
        has_problems = has_problems or bool(problem)
    for merchant_id, shop in shops.items():
        # A shop with nothing orderable left charges no shipping.
        shipping = ZERO
        if merchant_id in orderable:
            shipping = shipping_fee(merchant=None, goods_total=shop["subtotal"], rate=rates[merchant_id])
        shop["shipping"], shop["total"] = shipping, shop["subtotal"] + shipping
        goods_total += shop["subtotal"]
        shipping_total += shipping
    return {
        "shops": list(shops.values()),
        "count": count,
        "goods_total": goods_total,
        "shipping_total": shipping_total,
        "total": goods_total + shipping_total,
        "has_problems": has_problems,
    }


# ·· Addresses


def address_list(buyer) -> QuerySet[Address]:
    """The buyer's saved addresses, the default first."""
    return Address.objects.filter(buyer=buyer).order_by("-is_default", "-id")


def address_get(buyer, address_id: int) -> Address | None:
    return Address.objects.filter(buyer=buyer, pk=address_id).first()


# ·· Orders


def buyer_order_list(buyer, *, status: str = "") -> QuerySet[BuyerOrder]:
    """The buyer's orders, newest first, each with its merchant orders (shop and lines).
    `status` keeps orders with at least one merchant order in that state."""
    qs = BuyerOrder.objects.filter(buyer=buyer)
    if status:
        qs = qs.filter(Exists(MerchantOrder.objects.filter(buyer_order=OuterRef("pk"), status=status)))
    parts = (
        MerchantOrder.objects.select_related("merchant")
        .defer(*(f"merchant__{name}" for name in _MERCHANT_PRIVATE))
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .order_by("number")
    )
    return qs.prefetch_related(Prefetch("merchant_orders", queryset=parts)).order_by("-placed_at", "-id")


def _payable(order: BuyerOrder, now) -> bool:
    return BUYER_ORDER_TRANSITIONS.can("pay", order) and now < order.pay_by


def buyer_order_get(buyer, number: str) -> BuyerOrder | None:
    """One of the buyer's orders with everything its page shows, in a fixed number of queries
    (what is set on it: `buyer_order_detail`)."""
    requests = AfterSalesRequest.objects.select_related("dispute").prefetch_related(
        Prefetch("lines", queryset=AfterSalesLine.objects.select_related("order_line")), "photos"
    )
    parts = (
        MerchantOrder.objects.select_related("merchant")
        .defer(*(f"merchant__{name}" for name in _MERCHANT_PRIVATE))
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("review").order_by("id")),
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("created_at", "id")),
            Prefetch("after_sales", queryset=requests.order_by("-created_at", "-id")),
            "refunds",
            Prefetch("complaints", queryset=complaints_for_buyer_order()),
        )
        .order_by("number")
    )
    order = (
        BuyerOrder.objects.filter(buyer=buyer, number=number)
        .prefetch_related(Prefetch("merchant_orders", queryset=parts))
        .first()
    )
    if order is None:
        return None
    shipments = (
        Shipment.objects.filter(lines__order_line__merchant_order__buyer_order=order)
        .distinct()
        .prefetch_related(Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line")))
        .order_by("created_at", "id")
    )
    return buyer_order_detail(order, shipments=list(shipments))


def buyer_order_detail(order: BuyerOrder, *, shipments: list[Shipment]) -> BuyerOrder:
    """`order` made ready for its page and API answer, without a query: `order` comes with its
    merchant orders (by number), their lines (by id, each with `review`), events, after-sales
    requests, refunds and complaints (`complaints_for_buyer_order`) prefetched, and `shipments` (by creation) with their lines and each
    line's order line. `buyer_order_get` loads them; checkout hands over the rows it has just
    written (`checkout_place`), so its answer is the same as this page's without re-reading.

    Each merchant order carries `shipments`, `open_request`, `missed_gifts` (the names of
    the gifts that were out of stock when it was placed), and the buyer's possible
    actions (`can_cancel`, `can_confirm`, `can_request`, `can_complain`); each after-sales
    request its `dispute_obj`; each line `refundable`, `review_obj` and `can_review`; the
    order `can_pay`.
    """
    by_part: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in shipments:
        for part_id in sorted({row.order_line.merchant_order_id for row in shipment.lines.all()}):
            by_part[part_id].append(shipment)

    now = timezone.now()
    order.can_pay = _payable(order, now)
    for part in order.merchant_orders.all():
        requests_ = list(part.after_sales.all())
        for request in requests_:
            # A missing reverse one-to-one raises on access; templates need a plain None.
            request.dispute_obj = getattr(request, "dispute", None)
        part.shipments = by_part[part.pk]
        part.missed_gifts = [e.note for e in part.events.all() if e.action == GIFT_OUT_OF_STOCK_EVENT]
        part.open_request = next((r for r in requests_ if r.status in AFTER_SALES_OPEN_STATES), None)
        for line in part.lines.all():
            line.refundable = line.paid - line.refunded
            line.review_obj = getattr(line, "review", None)
            line.can_review = part.can_review and line.review_obj is None
        part.can_request = (
            part.status in REQUESTABLE_STATES
            and part.open_request is None
            and any(line.refundable > 0 for line in part.lines.all())
        )
    return order


def merchant_order_get_for_buyer(buyer, number: str, part: str) -> MerchantOrder | None:
    """Merchant order `part` of the buyer's order `number`, with its lines."""
    order = (
        MerchantOrder.objects.filter(buyer_order__buyer=buyer, buyer_order__number=number, number=part)
        .select_related("buyer_order", "merchant")
        .defer(*(f"merchant__{name}" for name in _MERCHANT_PRIVATE))
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .first()
    )
    if order is None:
        return None
    for line in order.lines.all():
        line.refundable = line.paid - line.refunded
    return order


def after_sales_get_for_buyer(buyer, number: str, request_id: int) -> AfterSalesRequest | None:
    return (
        AfterSalesRequest.objects.filter(pk=request_id, buyer=buyer, merchant_order__buyer_order__number=number)
        .select_related("merchant_order")
        .first()
    )


def order_line_get_for_buyer(buyer, number: str, line_id: int) -> OrderLine | None:
    return (
        OrderLine.objects.filter(
            pk=line_id,
            merchant_order__buyer_order__buyer=buyer,
            merchant_order__buyer_order__number=number,
        )
        .select_related("merchant_order__buyer_order")
        .first()
    )


# ·· Payment


def payment_order_get(buyer, number: str) -> BuyerOrder | None:
    """The buyer's order for the payment page, with `can_pay`."""
    order = BuyerOrder.objects.filter(buyer=buyer, number=number).first()
    if order is None:
        return None
    order.can_pay = _payable(order, timezone.now())
    return order


def payment_get_for_buyer(buyer, reference: str) -> Payment | None:
    """A payment of one of the buyer's orders, by gateway reference."""
    return Payment.objects.filter(reference=reference, buyer_order__buyer=buyer).select_related("buyer_order").first()


def checkout_attempt_order(buyer, key: str) -> BuyerOrder | None:
    """The order a checkout form (idempotency key) placed, once it is committed."""
    attempt = CheckoutAttempt.objects.filter(buyer=buyer, key=key).select_related("buyer_order").first()
    return attempt.buyer_order if attempt else None
