"""Settlement counts a refund from its decision, not from the gateway's answer (issue #10,
finding 10): the merchant owes it once decided, whether the gateway has returned the money
yet, failed, or returns it a month later. A late payment given back whole is no merchant's."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from orders import services as order_services
from orders.gateways import sandbox
from orders.gateways.base import GatewayError
from orders.models import Refund
from orders.services import CheckoutItem, RefundItem
from settlements import selectors, services
from settlements.models import SettledRefund, Statement
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_payments_and_lifecycle import _callback, _process
from tests.settlements.test_runs import Shop, _lines, _settle, at

pytestmark = pytest.mark.django_db


class DownGateway:
    name = "sandbox"

    def refund(self, *, payment, amount, reference):
        raise GatewayError("merchant account under review")


def test_a_refund_is_deducted_in_the_period_of_its_decision_whatever_the_gateway_did(monkeypatch):
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 5)):
        refund = order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, Decimal("25.00"))], reason="scratched"
        )
    monkeypatch.setitem(sandbox.GATEWAYS, "sandbox", DownGateway())
    assert order_services.refund_execute(refund_id=refund.pk) == "failed"

    _settle("2026-11", now=at(2026, 12, 1))
    november = Statement.objects.get(period="2026-11")
    assert list(SettledRefund.objects.filter(statement=november).values_list("refund_id", "amount")) == [
        (refund.pk, Decimal("25.00"))
    ]
    assert _lines(november)["refunds"] == Decimal("-25.00")
    report = selectors.reconcile(period="2026-11")
    assert report.sections["refunds"] == {
        "issued": Decimal("25.00"),
        "refund_lines": Decimal("25.00"),
        "differences": [],
    }

    # Staff send it again in December; the gateway answers: nothing more to settle.
    monkeypatch.setitem(sandbox.GATEWAYS, "sandbox", sandbox.SandboxGateway())
    order_services.refund_retry(refund=refund, actor=None)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 3)):
        assert order_services.refund_execute(refund_id=refund.pk) == "succeeded"
    _settle("2026-12", now=at(2027, 1, 1))
    assert SettledRefund.objects.count() == 1


def test_a_late_payment_refunded_whole_is_outside_settlement_and_reconciliation():
    shop = Shop()
    shop.completed_order([("100.00", 1)], placed=at(2026, 11, 1), completed=at(2026, 11, 2))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 10)):
        buyer = UserFactory()
        order = order_services.checkout_place(
            buyer=buyer, address=address_for(buyer), items=[CheckoutItem(shop.sku("100.00").pk, 1)]
        )
        payment = order_services.payment_start(buyer_order=order)
        order_services.buyer_order_cancel_unpaid(buyer_order=order)
        assert _process(*_callback(payment)) == "order_cancelled"
    late = Refund.objects.get(payment=payment)
    assert (late.merchant_order, late.amount) == (None, Decimal("108.00"))
    services.ledger_post_pending()  # the captures and deposits, as the beat posts them
    report = selectors.reconcile(period="2026-11")
    assert report.ok, report.sections
    assert report.sections["refunds"]["issued"] == Decimal("0")
    _settle("2026-12", now=at(2027, 1, 1))
    assert SettledRefund.objects.count() == 0
