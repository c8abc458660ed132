"""Merchant-facing reads of orders (and the API's buyer reads by id): each takes the merchant
(or buyer), so another tenant's ids are not found (None, answered 404 by the views)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When

from merchants.choices import PortalSection
from merchants.selectors import membership_for_user

from .. import permissions
from ..choices import AfterSalesStatus, OrderStatus, ShipmentStatus
from ..models import (
    AfterSalesLine,
    AfterSalesPhoto,
    AfterSalesRequest,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    Shipment,
    ShipmentLine,
)
from .base import _MERCHANT_PRIVATE

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
