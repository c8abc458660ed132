"""Answers of the hot API requests written as plain dicts instead of through their serializers
(issue #12): DRF builds and binds a field per value, a fifth of the checkout POST's CPU for the
201 answer alone. Each function gives exactly its serializer's `data` (the same keys in the same
order, the same values, so the same JSON bytes); a field added to the serializer must be added
here: a test compares the two over orders of every shape."""

from __future__ import annotations

from ..selectors import missed_gift_message
from .serializers import (
    BuyerComplaintSerializer,
    BuyerMerchantOrderDetailSerializer,
    BuyerOrderDetailSerializer,
    BuyerShipmentSerializer,
)

# The serializers' own fields render the values that need more than int()/str() (money,
# times, choices): the same field gives the same string.
_order_fields = BuyerOrderDetailSerializer().fields
_part_fields = BuyerMerchantOrderDetailSerializer().fields
_money = _order_fields["payable_total"].to_representation
_time = _order_fields["placed_at"].to_representation
_order_status = _order_fields["status"].to_representation
_part_status = _part_fields["status"].to_representation
_shipment_status = BuyerShipmentSerializer().fields["status"].to_representation
_complaint_fields = BuyerComplaintSerializer().fields
_category = _complaint_fields["category"].to_representation
_progress = _complaint_fields["status"].to_representation


def _or_none(render, value):
    """As a serializer renders an attribute that may be None: None stays None."""
    return None if value is None else render(value)


def _line(line) -> dict:
    return {
        "id": line.pk,
        "sku": line.sku_id,
        "product_title": line.product_title,
        "sku_code": line.sku_code,
        "sku_label": line.sku_label,
        "unit_price": _money(line.unit_price),
        "quantity": line.quantity,
        "gross": _money(line.gross),
        "discount": f"{line.merchant_discount + line.platform_discount:.2f}",
        "paid": _money(line.paid),
        "shipping_share": _money(line.shipping_share),
        "refunded": _money(line.refunded),
    }


def _shipment(shipment) -> dict:
    return {
        "id": shipment.pk,
        "status": _shipment_status(shipment.status),
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "shipped_at": _or_none(_time, shipment.shipped_at),
        "lines": [{"order_line": row.order_line_id, "quantity": row.quantity} for row in shipment.lines.all()],
    }


def _complaint(complaint) -> dict:
    return {
        "id": complaint.pk,
        "category": _category(complaint.category),
        "status": _progress(complaint.progress),
        "text": complaint.text,
        "created_at": _time(complaint.created_at),
        "response": complaint.response,
        "responded_at": _or_none(_time, complaint.responded_at),
        "resolved_at": _or_none(_time, complaint.resolved_at),
    }


def _merchant_order(part) -> dict:
    merchant = part.merchant
    return {
        "id": part.pk,
        "number": part.number,
        "shop": {"id": merchant.pk, "name": merchant.display_name, "slug": merchant.slug},
        "status": _part_status(part.status),
        "goods_total": _money(part.goods_total),
        "discount_total": _money(part.discount_total),
        "shipping_fee": _money(part.shipping_fee),
        "paid_total": _money(part.paid_total),
        "placed_at": _time(part.placed_at),
        "paid_at": _or_none(_time, part.paid_at),
        "shipped_at": _or_none(_time, part.shipped_at),
        "delivered_at": _or_none(_time, part.delivered_at),
        "completed_at": _or_none(_time, part.completed_at),
        "cancelled_at": _or_none(_time, part.cancelled_at),
        "after_sales_open": part.after_sales_open,
        "lines": [_line(line) for line in part.lines.all()],
        "shipments": [_shipment(shipment) for shipment in part.shipments],
        "complaints": [_complaint(complaint) for complaint in part.complaints.all()],
        "gifts_out_of_stock": [{"gift": name, "message": missed_gift_message(name)} for name in part.missed_gifts],
    }


def buyer_order_body(order) -> dict:
    """`BuyerOrderDetailSerializer(order).data` as a plain dict, for an order made ready by
    `orders.selectors.buyer_order_detail` (the checkout's new order: no query)."""
    return {
        "number": order.number,
        "status": _order_status(order.status),
        "recipient": order.recipient,
        "phone": order.phone,
        "region": order.region,
        "address": order.address,
        "goods_total": _money(order.goods_total),
        "discount_total": _money(order.discount_total),
        "shipping_total": _money(order.shipping_total),
        "payable_total": _money(order.payable_total),
        "placed_at": _time(order.placed_at),
        "pay_by": _time(order.pay_by),
        "paid_at": _or_none(_time, order.paid_at),
        "cancelled_at": _or_none(_time, order.cancelled_at),
        "merchant_orders": [_merchant_order(part) for part in order.merchant_orders.all()],
    }
