"""Who is told what when an order moves (`notifications.services.notify`), called by the order
services after their change, in their transaction: a rollback tells nobody. The members told
on a merchant's side are those whose role handles orders (`merchants.selectors.member_user_ids`).
"""

from __future__ import annotations

from django.urls import reverse

from merchants.choices import PortalSection
from merchants.selectors import member_user_ids
from notifications.choices import NotificationKind
from notifications.selectors import staff_user_ids
from notifications.services import notify, notify_many

from ..permissions import DISPUTE_RESOLVE


def _order_members(order) -> list[int]:
    return member_user_ids(order.merchant_id, section=PortalSection.ORDERS)


def _buyer_link(order) -> str:
    return reverse("orders:order_detail", args=[order.buyer_order.number])


def _portal_link(order) -> str:
    return reverse("portal_orders:order", args=[order.pk])


def order_paid(buyer_order, merchant_orders) -> None:
    """The buyer: payment received; each shop's order members: a new order to ship."""
    notify(
        user_ids=[buyer_order.buyer_id],
        kind=NotificationKind.ORDER_PAID,
        params={"order": buyer_order.number, "total": str(buyer_order.payable_total)},
        link=reverse("orders:order_detail", args=[buyer_order.number]),
    )
    # One INSERT and one e-mail task for every shop of the order.
    notify_many(
        kind=NotificationKind.NEW_ORDER,
        notices=[
            (_order_members(order), {"order": order.number, "total": str(order.paid_total)}, _portal_link(order))
            for order in merchant_orders
        ],
    )


def order_shipped(order, *, carrier: str, tracking_number: str) -> None:
    """The buyer: the shop's parcel is on its way, with its tracking."""
    notify(
        user_ids=[order.buyer_order.buyer_id],
        kind=NotificationKind.ORDER_SHIPPED,
        params={"order": order.number, "carrier": carrier, "tracking": tracking_number},
        link=_buyer_link(order),
    )


def after_sales_requested(request) -> None:
    """The shop's order members: a request to answer before it is accepted automatically."""
    order = request.merchant_order
    notify(
        user_ids=_order_members(order),
        kind=NotificationKind.AFTER_SALES_REQUESTED,
        params={"order": order.number, "request": request.pk, "deadline": request.respond_by.isoformat()},
        link=reverse("portal_orders:after_sales_detail", args=[request.pk]),
    )


def after_sales_decided(request, *, accepted: bool) -> None:
    """The buyer: the shop accepted or refused the request (with its note)."""
    order = request.merchant_order
    notify(
        user_ids=[request.buyer_id],
        kind=NotificationKind.AFTER_SALES_DECIDED,
        params={
            "order": order.number,
            "request": request.pk,
            "outcome": "accepted" if accepted else "refused",
            "note": request.merchant_note,
        },
        link=_buyer_link(order),
    )


def dispute_opened(dispute) -> None:
    """The shop's order members: the buyer escalated; staff who resolve disputes: one more to arbitrate."""
    request = dispute.request
    order = request.merchant_order
    notify(
        user_ids=_order_members(order),
        kind=NotificationKind.DISPUTE_OPENED,
        params={"order": order.number, "request": request.pk},
        link=reverse("portal_orders:after_sales_detail", args=[request.pk]),
    )
    notify(
        user_ids=staff_user_ids(DISPUTE_RESOLVE),
        kind=NotificationKind.DISPUTE_TO_ARBITRATE,
        params={"order": order.number, "dispute": dispute.pk},
        link=reverse("admin:orders_dispute_change", args=[dispute.pk]),
    )


def refund_issued(refund) -> None:
    """The buyer: a refund was recorded and is on its way back to the payment."""
    order = refund.merchant_order
    notify(
        user_ids=[order.buyer_order.buyer_id],
        kind=NotificationKind.REFUND_ISSUED,
        params={"order": order.number, "amount": str(refund.amount)},
        link=_buyer_link(order),
    )


def complaint_answered(complaint, *, resolved: bool) -> None:
    """The buyer who complained: operations answered the complaint (`resolved`: and closed
    it), with the response. Who handled it is not said."""
    order = complaint.merchant_order
    notify(
        user_ids=[complaint.buyer_id],
        kind=NotificationKind.COMPLAINT_ANSWERED,
        params={
            "order": order.number,
            "outcome": "resolved" if resolved else "answered",
            "response": complaint.response,
        },
        link=_buyer_link(order),
    )
