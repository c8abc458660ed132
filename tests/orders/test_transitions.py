"""The orders' transition tables are the one answer to "may this be done now?": the buyer's
page (can_*), the admin's actions and the services ask them, and refusals keep their
409 `invalid_transition` with the same message and extra as before."""

from decimal import Decimal

import pytest
from django.utils import translation

from orders import services
from orders.choices import OrderStatus
from orders.errors import OrderInvalidTransition
from orders.models import (
    AFTER_SALES_TRANSITIONS,
    BUYER_ORDER_TRANSITIONS,
    DISPUTE_TRANSITIONS,
    REFUND_TRANSITIONS,
    TRANSITIONS,
    AfterSalesRequest,
    BuyerOrder,
    Dispute,
    MerchantOrder,
    OrderEvent,
    Refund,
)
from tests.factories import UserFactory
from tests.orders.test_aftersales import _paid_order


@pytest.fixture(autouse=True)
def _english():
    # Messages are compared in English (the site's default language is Chinese).
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("status", "can_cancel", "can_confirm", "can_review"),
    [
        ("pending_payment", True, False, False),
        ("paid", True, False, False),
        ("shipped", False, True, False),
        ("delivered", False, True, False),
        ("completed", False, False, True),
        ("cancelled", False, False, False),
    ],
)
def test_the_buyers_possible_actions_are_read_from_the_table(status, can_cancel, can_confirm, can_review):
    order = MerchantOrder(status=status)
    assert (order.can_cancel, order.can_confirm, order.can_review) == (can_cancel, can_confirm, can_review)
    assert order.can_cancel == (status in TRANSITIONS.sources("cancel"))
    assert order.can_confirm == (status in TRANSITIONS.sources("complete"))


def test_the_tables_hold_the_rules_of_domain_md():
    assert {action: (sorted(s), t) for action, (s, t) in TRANSITIONS.table.items()} == {
        "pay": (["pending_payment"], "paid"),
        "ship": (["paid"], "shipped"),
        "deliver": (["shipped"], "delivered"),
        "complete": (["delivered", "shipped"], "completed"),
        "cancel": (["paid", "pending_payment"], "cancelled"),
    }
    assert BUYER_ORDER_TRANSITIONS.can("pay", BuyerOrder(status="pending_payment"))
    assert not BUYER_ORDER_TRANSITIONS.can("cancel", BuyerOrder(status="paid"))
    assert REFUND_TRANSITIONS.predicate("retry")(Refund(status="failed"))
    assert not REFUND_TRANSITIONS.predicate("retry")(Refund(status="pending"))
    assert DISPUTE_TRANSITIONS.predicate("resolve")(Dispute(status="open"))
    assert AFTER_SALES_TRANSITIONS.sources("withdraw") == frozenset({"open", "rejected"})


@pytest.mark.django_db
def test_a_refused_merchant_order_transition_keeps_its_message_and_writes_nothing():
    merchant_order, _buyer, merchant, _wh = _paid_order()  # shipped
    events = OrderEvent.objects.filter(merchant_order=merchant_order).count()
    with pytest.raises(OrderInvalidTransition) as info:
        services.merchant_order_cancel(order=merchant_order, actor=merchant.owner)
    assert (info.value.status_code, info.value.code) == (409, "invalid_transition")
    assert info.value.extra == {"status": "shipped", "action": "cancel"}
    assert str(info.value.message) == "This cannot be done while the order is “Shipped”."
    merchant_order.refresh_from_db()
    assert (merchant_order.status, merchant_order.cancelled_at) == (OrderStatus.SHIPPED, None)
    assert OrderEvent.objects.filter(merchant_order=merchant_order).count() == events


@pytest.mark.django_db
def test_an_accepted_request_cannot_be_answered_again():
    merchant_order, buyer, merchant, _wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("35.50"))
    request = services.after_sales_request_create(
        order=merchant_order, buyer=buyer, kind="refund", reason="Scratched", items=[(line.pk, 1, Decimal("10.00"))]
    )
    services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner)
    for answer in (
        lambda: services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner),
        lambda: services.after_sales_reject(request=request, merchant=merchant, actor=merchant.owner, note="No"),
        lambda: services.after_sales_withdraw(request=request, buyer=buyer),
    ):
        with pytest.raises(OrderInvalidTransition) as info:
            answer()
        assert info.value.extra == {"status": "refunded"}
        assert str(info.value.message) == "This cannot be done while the request is “Refunded”."
    request.refresh_from_db()
    assert (request.status, request.merchant_note, Refund.objects.filter(merchant_order=merchant_order).count()) == (
        "refunded",
        "",
        1,
    )


@pytest.mark.django_db
def test_a_dispute_decision_closes_its_request_through_the_table():
    merchant_order, buyer, merchant, _wh = _paid_order()
    line = merchant_order.lines.get(unit_price=Decimal("35.50"))
    request = services.after_sales_request_create(
        order=merchant_order, buyer=buyer, kind="refund", reason="Broken", items=[(line.pk, 1, Decimal("10.00"))]
    )
    services.after_sales_reject(request=request, merchant=merchant, actor=merchant.owner, note="Worked")
    dispute = services.after_sales_escalate(request=request, buyer=buyer, statement="It did not")
    ops = UserFactory(is_staff=True)
    decided = services.dispute_resolve(dispute=dispute, arbiter=ops, amount=Decimal("0"), note="No evidence")
    request = AfterSalesRequest.objects.get(pk=request.pk)
    assert (decided.status, decided.decision_amount, decided.arbiter_id) == ("resolved", Decimal("0.00"), ops.pk)
    assert (request.status, request.closed_at is not None, request.refund_id) == ("closed", True, None)
    with pytest.raises(OrderInvalidTransition) as info:
        services.dispute_resolve(dispute=dispute, arbiter=ops, amount=Decimal("5.00"), note="again")
    assert (str(info.value.message), info.value.extra) == ("This dispute is already decided.", {"status": "resolved"})
    assert Refund.objects.filter(merchant_order=merchant_order).count() == 0


@pytest.mark.parametrize(
    ("status", "answer", "receive", "escalate", "withdraw"),
    [
        ("open", True, False, False, True),
        ("awaiting_return", False, True, False, False),
        ("rejected", False, False, True, True),
        ("escalated", False, False, False, False),
        ("refunded", False, False, False, False),
        ("closed", False, False, False, False),
    ],
)
def test_an_after_sales_requests_possible_actions_are_read_from_the_table(status, answer, receive, escalate, withdraw):
    request = AfterSalesRequest(status=status)
    assert (request.can_answer, request.can_receive_return, request.can_escalate, request.can_withdraw) == (
        answer,
        receive,
        escalate,
        withdraw,
    )
