"""Reads of the orders app.

Buyer-facing reads take the buyer, so a buyer only ever reaches their own carts, addresses,
orders and payments; anyone else's ids are not found (None, answered 404 by the views; staff
included: they use the admin).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.selectors import (
    category_effective_rate,
    live_images,
    sku_available_units,
    sku_public_queryset,
)
from marketplace.money import ZERO, quantize
from merchants.choices import CooperationMode, CreditGrade, PortalSection
from merchants.selectors import current_contract, membership_for_user

from . import permissions
from .choices import AFTER_SALES_OPEN_STATES, AfterSalesStatus, OrderStatus, ShipmentStatus
from .models import (
    BUYER_ORDER_TRANSITIONS,
    REQUESTABLE_STATES,
    Address,
    AfterSalesLine,
    AfterSalesPhoto,
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

# Merchant columns a buyer page never shows: encrypted, so loading them costs a decryption.
_MERCHANT_PRIVATE = ("legal_rep_id_number", "bank_account_number")

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


def cart_item_count(*, buyer=None, session_key: str | None = None) -> int:
    """Units in the cart (for the header link), in one query."""
    if buyer is not None and buyer.is_authenticated:
        owner = Q(cart__buyer=buyer)
    elif session_key:
        owner = Q(cart__session_key=session_key, cart__buyer__isnull=True)
    else:
        return 0
    return CartItem.objects.filter(owner).aggregate(n=Sum("quantity", default=0))["n"]


@dataclass
class CartLine:
    item: CartItem
    unit_price: Decimal
    line_total: Decimal
    available: int  # units available now, over the active warehouses
    on_sale: bool

    @property
    def sku(self):
        return self.item.sku

    @property
    def quantity(self) -> int:
        return self.item.quantity

    @property
    def problem(self) -> str:
        """ "" when the line can be ordered; else "unavailable", "out_of_stock" or "short"."""
        if not self.on_sale:
            return "unavailable"
        if self.available <= 0:
            return "out_of_stock"
        return "short" if self.available < self.quantity else ""


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

    Queries: one for the lines (SKU, product and merchant joined; availability and "on sale"
    computed in SQL), one for the pictures, and one shipping-rate lookup per shop
    (`shipping_fee` reads the rate itself), however many lines the cart holds.
    """
    if cart is None:
        return CartView()
    items = (
        CartItem.objects.filter(cart=cart)
        .select_related("sku__product", "sku__merchant")
        .defer(*(f"sku__merchant__{name}" for name in _MERCHANT_PRIVATE), "sku__product__search_text")
        .prefetch_related(live_images("sku__product__images"))
        .annotate(
            available=Coalesce(sku_available_units(OuterRef("sku_id")), Value(0)),
            on_sale=Exists(sku_public_queryset().filter(pk=OuterRef("sku_id"))),
        )
        .order_by("sku__merchant_id", "added_at", "id")
    )
    shops: dict[int, CartShop] = {}
    for item in items:
        sku = item.sku
        shop = shops.setdefault(sku.merchant_id, CartShop(merchant=sku.merchant))
        line = CartLine(
            item=item,
            unit_price=sku.price,
            line_total=quantize(sku.price * item.quantity),
            available=max(item.available, 0),
            on_sale=item.on_sale,
        )
        shop.lines.append(line)
        if line.on_sale:
            shop.subtotal += line.line_total
    for shop in shops.values():
        # A shop with nothing orderable left charges no shipping.
        if any(line.on_sale for line in shop.lines):
            shop.shipping = shipping_fee(merchant=shop.merchant, goods_total=shop.subtotal)
    return CartView(shops=list(shops.values()))


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
    """One of the buyer's orders with everything its page shows, in a fixed number of queries.

    Each merchant order carries `shipments`, `open_request`, and the buyer's possible
    actions (`can_cancel`, `can_confirm`, `can_request`, `can_complain`); each after-sales
    request its `dispute_obj`; each line `refundable`, `review_obj` and `can_review`; the
    order `can_pay`.
    """
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


# --- Merchant ------------------------------------------------------------------------------
# Merchant-facing reads take the merchant: another merchant's ids answer 404, and a merchant
# reaches only its own merchant order of a buyer order, never the other shops' lines.


def merchant_order_list_for_merchant(merchant) -> QuerySet[MerchantOrder]:
    """The merchant's orders, newest first, with the buyer order's address snapshot."""
    return MerchantOrder.objects.filter(merchant=merchant).select_related("buyer_order").order_by("-placed_at", "-id")


def merchant_order_get_for_merchant(merchant, order_id) -> MerchantOrder | None:
    """One of the merchant's orders with its lines; None for anyone else's."""
    return (
        merchant_order_list_for_merchant(merchant)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .filter(pk=order_id)
        .first()
    )


def merchant_order_shipments(order: MerchantOrder) -> list[Shipment]:
    """The order's parcels (a merged parcel also holds lines of the merchant's other orders of
    the same buyer), each with `order_numbers`: the orders travelling in it."""
    shipments = list(
        Shipment.objects.filter(pk__in=ShipmentLine.objects.filter(order_line__merchant_order=order).values("shipment"))
        .select_related("warehouse")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("order_line__merchant_order").order_by("order_line_id"),
            )
        )
        .order_by("created_at", "id")
    )
    for shipment in shipments:
        shipment.order_numbers = sorted({line.order_line.merchant_order.number for line in shipment.lines.all()})
    return shipments


def merchant_order_events(order: MerchantOrder) -> QuerySet[OrderEvent]:
    return order.events.select_related("actor").order_by("created_at", "id")


def merge_candidates_for_merchant(merchant) -> list[dict]:
    """Paid orders waiting to ship that could travel together: same buyer, delivery address
    snapshot and warehouse, today in more than one parcel. Each group is a dict with
    `orders`, `warehouse`, `recipient`, `address` and `parcels` (the number of parcels)."""
    rows = (
        ShipmentLine.objects.filter(
            shipment__merchant=merchant,
            shipment__status=ShipmentStatus.PENDING,
            order_line__merchant_order__status=OrderStatus.PAID,
        )
        .select_related("shipment__warehouse", "order_line__merchant_order__buyer_order")
        .order_by("order_line__merchant_order_id")
    )
    by_order: dict[int, dict] = {}
    for row in rows:
        order = row.order_line.merchant_order
        entry = by_order.setdefault(order.pk, {"order": order, "warehouses": {}, "parcels": set()})
        entry["warehouses"][row.shipment.warehouse_id] = row.shipment.warehouse
        entry["parcels"].add(row.shipment_id)
    groups: dict[tuple, dict] = {}
    for entry in by_order.values():
        if len(entry["warehouses"]) != 1:
            continue  # an order split over warehouses cannot travel in one parcel
        order, (warehouse,) = entry["order"], entry["warehouses"].values()
        bo = order.buyer_order
        key = (bo.buyer_id, warehouse.pk, bo.recipient, bo.phone, bo.region, bo.address)
        group = groups.setdefault(
            key,
            {"orders": [], "warehouse": warehouse, "recipient": bo.recipient, "address": bo.address, "parcels": set()},
        )
        group["orders"].append(order)
        group["parcels"] |= entry["parcels"]
    result = []
    for group in groups.values():
        if len(group["parcels"]) > 1:
            group["parcels"] = len(group["parcels"])
            group["orders"].sort(key=lambda o: (o.placed_at, o.pk))
            result.append(group)
    return sorted(result, key=lambda g: (g["orders"][0].placed_at, g["orders"][0].pk))


#: After-sales queue order: waiting for the merchant first, then waiting for the goods, then
#: the others still open; closed ones last.
AFTER_SALES_QUEUE_ORDER = Case(
    When(status=AfterSalesStatus.OPEN, then=Value(0)),
    When(status=AfterSalesStatus.AWAITING_RETURN, then=Value(1)),
    When(status__in=[AfterSalesStatus.REJECTED, AfterSalesStatus.ESCALATED], then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def after_sales_list_for_merchant(merchant, *, status: str = "") -> QuerySet[AfterSalesRequest]:
    """The merchant's after-sales requests: open ones first, the nearest deadline first."""
    requests = (
        AfterSalesRequest.objects.filter(merchant_order__merchant=merchant)
        .select_related("merchant_order", "dispute", "refund")
        .prefetch_related(Prefetch("lines", queryset=AfterSalesLine.objects.select_related("order_line")))
        .order_by(AFTER_SALES_QUEUE_ORDER, "respond_by", "id")
    )
    return requests.filter(status=status) if status else requests


def after_sales_get_for_merchant(merchant, request_id) -> AfterSalesRequest | None:
    return after_sales_list_for_merchant(merchant).filter(pk=request_id).first()


# ·· The API addresses a buyer's merchant orders, requests and lines by id (the pages above
# use order numbers): the same scoping, by id.


def merchant_order_get_for_buyer_by_id(buyer, order_id) -> MerchantOrder | None:
    return (
        MerchantOrder.objects.filter(pk=order_id, buyer_order__buyer=buyer)
        .select_related("buyer_order", "merchant")
        .defer(*(f"merchant__{name}" for name in _MERCHANT_PRIVATE))
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
        .first()
    )


def after_sales_get_for_buyer_by_id(buyer, request_id) -> AfterSalesRequest | None:
    return (
        AfterSalesRequest.objects.filter(pk=request_id, buyer=buyer)
        .select_related("merchant_order", "dispute", "refund")
        .prefetch_related(Prefetch("lines", queryset=AfterSalesLine.objects.select_related("order_line")))
        .first()
    )


def order_line_get_for_buyer_by_id(buyer, line_id) -> OrderLine | None:
    return (
        OrderLine.objects.filter(pk=line_id, merchant_order__buyer_order__buyer=buyer)
        .select_related("merchant_order__buyer_order")
        .first()
    )


def after_sales_photo_get_for_user(user, photo_id: int) -> AfterSalesPhoto | None:
    """A photo attached to an after-sales request, for those who may see it; else None (the view's 404) or
    PermissionDenied (403).

    Photos are evidence a buyer hands over (damaged goods, often a label with a name and an
    address), served like identity documents (merchants.selectors.document_get_for_user):
    staff need the `orders.after_sales_photo_view` declaration (else PermissionDenied: 403,
    as in the admin, whatever the id). Otherwise the buyer who made the request and the
    members of the order's merchant whose role covers orders (owner, orders) see it; anyone
    else, signed out or signed in, gets None (404), like a missing id.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    photos = AfterSalesPhoto.objects.select_related("request")
    if user.is_staff:
        if not permissions.AFTER_SALES_PHOTO_VIEW.allows(user):
            raise PermissionDenied
    else:
        # The buyer's own requests, and the requests on the member's merchant's orders.
        visible = Q(request__buyer=user)
        member = membership_for_user(user)
        if member is not None and member.can(PortalSection.ORDERS):
            visible |= Q(request__merchant_order__merchant_id=member.merchant_id)
        photos = photos.filter(visible)
    return photos.filter(pk=photo_id).first()


# --- Parcels: merchant orders travelling together (read by the services and the pages) -----


def parcel_order_ids(order_ids: Iterable[int]) -> set[int]:
    """The given merchant orders and every order sharing a pending parcel with them (reads only)."""
    found = set(order_ids)
    while True:
        parcels = ShipmentLine.objects.filter(
            order_line__merchant_order_id__in=found, shipment__status=ShipmentStatus.PENDING
        ).values("shipment_id")
        more = set(
            ShipmentLine.objects.filter(shipment_id__in=parcels).values_list("order_line__merchant_order_id", flat=True)
        )
        if more <= found:
            return found
        found |= more


def parcel_groups(order_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """For each of the orders (and those merged with them): the ids of its parcel group, in
    a fixed number of queries however many orders there are (reads only)."""
    ids = parcel_order_ids(order_ids)
    parent = {pk: pk for pk in ids}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    members: dict[int, set[int]] = defaultdict(set)
    for shipment_id, order_id in ShipmentLine.objects.filter(
        order_line__merchant_order_id__in=ids, shipment__status=ShipmentStatus.PENDING
    ).values_list("shipment_id", "order_line__merchant_order_id"):
        members[shipment_id].add(order_id)
    for together in members.values():
        first, *rest = together
        for other in rest:
            parent[root(other)] = root(first)
    groups: dict[int, set[int]] = defaultdict(set)
    for pk in ids:
        groups[root(pk)].add(pk)
    return {pk: frozenset(groups[root(pk)]) for pk in ids}


# --- Pricing and what buyers may buy (read by checkout, the cart and the pages) ------------


# The commission rule of domain.md, applied when an order line is placed:
# rate = category effective rate (joint operation: the contract's revenue-share rate)
#        × 0.5 if placed within three calendar months of `live_since` (launch policy)
#        × 0.9 if the merchant's credit grade is A at that moment.
# The rate is not rounded; commission = base × rate, rounded half-up to the cent.
@dataclass(frozen=True)
class LineRate:
    category_rate: Decimal
    launch_policy: bool
    grade_a: bool
    rate: Decimal

    def commission(self, base: Decimal) -> Decimal:
        return quantize(base * self.rate)


def in_launch_policy(live_since: datetime | None, placed_at: datetime) -> bool:
    """Placed within LAUNCH_POLICY_MONTHS calendar months of going live (platform time zone)."""
    if live_since is None:
        return False
    start = timezone.localtime(live_since)
    return timezone.localtime(placed_at) < start + relativedelta(months=settings.LAUNCH_POLICY_MONTHS)


def line_rate(*, merchant, category, placed_at: datetime, contract=None) -> LineRate:
    """The frozen rate of a line of `merchant` in `category` placed at `placed_at`."""
    contract = contract if contract is not None else current_contract(merchant)
    if merchant.cooperation_mode == CooperationMode.JOINT_OPERATION and contract and contract.revenue_share_rate:
        base_rate = contract.revenue_share_rate
    else:
        base_rate = category_effective_rate(category)
    launch = in_launch_policy(merchant.live_since, placed_at)
    grade_a = merchant.credit_grade == CreditGrade.A
    rate = Decimal(base_rate)
    if launch:
        rate *= Decimal(settings.LAUNCH_POLICY_FACTOR)
    if grade_a:
        rate *= Decimal(settings.GRADE_A_FACTOR)
    return LineRate(category_rate=Decimal(base_rate), launch_policy=launch, grade_a=grade_a, rate=rate)


def shipping_fee(*, merchant, goods_total: Decimal) -> Decimal:
    """The merchant's flat fee per merchant order, free from its threshold."""
    rate = ShippingRate.objects.filter(merchant=merchant).first()
    fee = rate.flat_fee if rate else Decimal(settings.DEFAULT_SHIPPING_FEE)
    free_over = rate.free_over if rate else Decimal(settings.DEFAULT_FREE_SHIPPING_OVER)
    if free_over is not None and goods_total >= free_over:
        return quantize(0)
    return quantize(fee)
