"""The demo orders of `seed_demo` (demo/orders.py): every merchant order state,
the after-sales cases, reviews and a complaint, realistic dates that the settlements demo
can settle, and a second run that creates nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F, Q, Sum
from django.utils import timezone

from catalog.models import Stock
from demo.orders import ADDRESSES, demo_periods, demo_tax_year, settlement_days
from orders.choices import OrderStatus
from orders.models import (
    Address,
    AfterSalesRequest,
    BuyerOrder,
    Complaint,
    Dispute,
    MerchantOrder,
    OrderEvent,
    Payment,
    Refund,
    Review,
)
from settlements.periods import local_midnight, settleable_cutoff

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def small_catalog(monkeypatch):
    # A smaller catalog keeps this quick; tests/catalog/test_demo.py checks the full one.
    monkeypatch.setattr("demo.products.PRODUCTS_PER_SHOP", 5)


def _snapshot() -> dict:
    return {
        "orders": sorted(BuyerOrder.objects.values_list("number", "status")),
        "merchant_orders": sorted(MerchantOrder.objects.values_list("number", "status", "is_frozen")),
        "payments": Payment.objects.count(),
        "refunds": Refund.objects.count(),
        "after_sales": AfterSalesRequest.objects.count(),
        "reviews": Review.objects.count(),
        "complaints": Complaint.objects.count(),
        "addresses": Address.objects.count(),
        "stock": sorted(Stock.objects.values_list("pk", "on_hand", "reserved")),
    }


def test_demo_orders(small_catalog):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    created = re.search(r"seed_demo: orders: (\d+) created", out.getvalue())
    # The tax rebate's December orders are the subsidies step's (demo/subsidies.py), checked
    # by tests/settlements/test_subsidy_demo.py: this test is about the orders step's.
    tax_year = Q(merchant_orders__settlement__statement__period=f"{demo_tax_year()}-12")
    assert created and int(created.group(1)) == BuyerOrder.objects.exclude(tax_year).count() >= 40
    now = timezone.now()

    # Every buyer has one saved address, each in another region, and orders.
    addresses = Address.objects.select_related("buyer")
    assert sorted(a.buyer.email for a in addresses) == sorted(ADDRESSES)
    assert len({a.region for a in addresses}) == 3
    assert all(BuyerOrder.objects.filter(buyer__email=email).exists() for email in ADDRESSES)

    # Every merchant order state, of every live demo merchant; many completed.
    orders = MerchantOrder.objects.exclude(settlement__statement__period=f"{demo_tax_year()}-12")
    assert set(orders.values_list("status", flat=True)) == set(OrderStatus.values)
    assert orders.filter(status=OrderStatus.COMPLETED).count() >= 30
    assert orders.values("merchant").distinct().count() == 4
    assert orders.values("buyer_order").distinct().count() < orders.count()  # some buy from two shops

    # Waiting for payment: placed just now, still payable.
    pending = BuyerOrder.objects.get(status="pending_payment")
    assert pending.placed_at <= now < pending.pay_by

    # Cancelled: one unpaid (nothing refunded), one paid and refunded in full, shipping too.
    unpaid = orders.get(status=OrderStatus.CANCELLED, paid_at__isnull=True)
    assert unpaid.buyer_order.status == "cancelled" and not unpaid.refunds.exists()
    paid_cancelled = orders.get(status=OrderStatus.CANCELLED, paid_at__isnull=False)
    assert paid_cancelled.refunds.get().amount == paid_cancelled.paid_total

    # Dates: spread over the last three months, each step after the one before.
    first, second = demo_periods()
    assert orders.order_by("placed_at").first().placed_at >= local_midnight(first.first_day) - timedelta(days=20)
    assert orders.filter(placed_at__gt=now).count() == 0
    assert orders.exclude(paid_at__isnull=True).filter(paid_at__lt=F("placed_at")).count() == 0
    assert orders.exclude(shipped_at__isnull=True).filter(shipped_at__lt=F("paid_at")).count() == 0
    assert orders.exclude(delivered_at__isnull=True).filter(delivered_at__lt=F("shipped_at")).count() == 0
    assert orders.exclude(completed_at__isnull=True).filter(completed_at__lt=F("shipped_at")).count() == 0
    assert orders.filter(completed_at__gt=now).count() == 0
    for order in orders.filter(status=OrderStatus.COMPLETED)[:10]:
        event = OrderEvent.objects.get(merchant_order=order, action="complete")
        assert event.created_at == order.completed_at
    # Shipped and delivered orders are recent: not yet due for automatic completion.
    assert orders.filter(status__in=["shipped", "delivered"], shipped_at__lt=now - timedelta(days=10)).count() == 0

    # Completed orders in each settlement window of the settlements demo.
    days = settlement_days(orders.first().merchant)
    first_cutoff, second_cutoff = settleable_cutoff(first, days), settleable_cutoff(second, days)
    completed = orders.filter(status=OrderStatus.COMPLETED)
    assert completed.filter(completed_at__lt=first_cutoff).count() >= 10
    assert completed.filter(completed_at__gte=first_cutoff, completed_at__lt=second_cutoff).count() >= 10
    assert completed.filter(completed_at__gte=second_cutoff).count() >= 5

    # After-sales: a partial refund accepted, a return refunded, a return waiting for the goods,
    # a rejected request, a request waiting for the merchant, and one open dispute.
    requests = AfterSalesRequest.objects.select_related("merchant_order", "refund")
    assert sorted(requests.values_list("kind", "status")) == sorted(
        [
            ("refund", "refunded"),
            ("return_refund", "refunded"),
            ("return_refund", "awaiting_return"),
            ("return_refund", "rejected"),
            ("refund", "open"),
            ("refund", "escalated"),
        ]
    )
    partial = requests.get(kind="refund", status="refunded")
    assert 0 < partial.refund.amount < partial.merchant_order.paid_total
    assert partial.refund.completed_at >= settleable_cutoff(first, days)  # after its order was settled
    assert partial.merchant_order.completed_at < first_cutoff
    assert requests.get(status="awaiting_return").merchant_order.after_sales_open
    assert requests.get(status="open").respond_by > now
    dispute = Dispute.objects.get()
    assert dispute.status == "open" and dispute.decision_amount is None
    frozen = MerchantOrder.objects.get(is_frozen=True)
    assert frozen == dispute.request.merchant_order
    assert frozen.status == OrderStatus.COMPLETED
    assert first_cutoff <= frozen.completed_at < second_cutoff

    # Reviews of completed lines (3 to 5 stars, Chinese) after completion; one complaint.
    reviews = Review.objects.select_related("order_line__merchant_order")
    assert reviews.count() >= 5
    assert len({r.merchant_id for r in reviews}) >= 3
    for review in reviews:
        assert 3 <= review.rating <= 5 and CJK.search(review.text)
        assert review.order_line.merchant_order.status == OrderStatus.COMPLETED
        assert review.created_at >= review.order_line.merchant_order.completed_at
    complaint = Complaint.objects.get()
    assert CJK.search(complaint.text) and complaint.merchant_order.paid_at is not None

    # Stock: every level is still explained by its movements (reservations, shipments, returns).
    unexplained = Stock.objects.annotate(
        moved_on_hand=Sum("movements__on_hand_delta"), moved_reserved=Sum("movements__reserved_delta")
    ).filter(~Q(on_hand=F("moved_on_hand")) | ~Q(reserved=F("moved_reserved")))
    assert list(unexplained) == []

    before = _snapshot()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: orders: 0 created" in out.getvalue()
    assert _snapshot() == before
