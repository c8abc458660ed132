"""Builders for the risk alert tests: merchant orders, complaints and returns written as rows
(the jobs read only their dates and owners), so a rule can be tested at its boundary."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from orders.models import AfterSalesRequest, BuyerOrder, Complaint, MerchantOrder
from tests.factories import UserFactory

_n = itertools.count(1)


def orders(merchant, count: int, *, paid_at: datetime.datetime, shipped_after: datetime.timedelta | None = None):
    """`count` merchant orders of `merchant` paid at `paid_at`, shipped `shipped_after` later
    (None: not shipped)."""
    buyer = UserFactory()
    made = []
    for _ in range(count):
        n = next(_n)
        buyer_order = BuyerOrder.objects.create(
            number=f"RB{n:08d}",
            buyer=buyer,
            recipient="Li",
            phone="13800000000",
            region="east",
            address="1 Road",
            goods_total=Decimal("100.00"),
            shipping_total=Decimal("0.00"),
            payable_total=Decimal("100.00"),
            placed_at=paid_at,
            pay_by=paid_at + datetime.timedelta(minutes=30),
            paid_at=paid_at,
        )
        made.append(
            MerchantOrder.objects.create(
                buyer_order=buyer_order,
                merchant=merchant,
                number=f"RM{n:08d}",
                status="paid" if shipped_after is None else "shipped",
                goods_total=Decimal("100.00"),
                shipping_fee=Decimal("0.00"),
                paid_total=Decimal("100.00"),
                placed_at=paid_at,
                paid_at=paid_at,
                shipped_at=None if shipped_after is None else paid_at + shipped_after,
            )
        )
    return made


def complaints(merchant_orders, *, at: datetime.datetime):
    rows = [
        Complaint.objects.create(
            merchant_order=o, merchant_id=o.merchant_id, buyer=o.buyer_order.buyer, category="service", text="Rude"
        )
        for o in merchant_orders
    ]
    Complaint.objects.filter(pk__in=[c.pk for c in rows]).update(created_at=at)
    return rows


def returns(merchant_orders, *, at: datetime.datetime):
    rows = [
        AfterSalesRequest.objects.create(
            merchant_order=o,
            buyer=o.buyer_order.buyer,
            kind="return_refund",
            reason="Broken",
            respond_by=at + datetime.timedelta(hours=48),
        )
        for o in merchant_orders
    ]
    AfterSalesRequest.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=at)
    return rows
