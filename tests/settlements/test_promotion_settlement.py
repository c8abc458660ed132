"""A month of settlement of an order that carries both kinds of discount, placed through the
real checkout with live promotions, checked line by line against domain.md's formulas to the
cent; then half of it refunded the next month, clawed back in proportion."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from marketplace.money import quantize
from orders import services as order_services
from orders.models import OrderLineDiscount
from orders.services import RefundItem
from promotions.choices import BenefitType
from settlements.models import Statement
from tests.promotions.factories import promotion
from tests.settlements.test_runs import Shop, _lines, _settle, at

pytestmark = pytest.mark.django_db
D = Decimal


def test_an_order_with_merchant_and_platform_discounts_settles_and_is_clawed_back_to_the_cent(
    django_capture_on_commit_callbacks,
):
    shop = Shop()  # live since 2026-09-10 (launch policy in October: rate 10 % × 0.5), shipping 8.00
    october = {"starts_at": at(2026, 10, 1), "ends_at": at(2026, 11, 1)}
    merchant_funded = promotion(
        merchant=shop.merchant, benefit=BenefitType.SPEND_AND_SAVE, steps=[("300", "30"), ("400", "45")], **october
    )
    platform_funded = promotion(benefit=BenefitType.PERCENTAGE, percent="10", **october)

    order = shop.completed_order(
        [("199.99", 2), ("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18)
    )
    lamp, cable = order.lines.order_by("id")
    # Shop: 45 over the gross 399.98 / 35.50 → 41.33 / 3.67 (merchant-funded).
    # Platform: 10 % of what is left (358.65 + 31.83 = 390.48) = 39.05 → 35.87 / 3.18.
    # paid = gross − both; base = gross − merchant part; commission = base × 0.05.
    assert [
        (line.gross, line.merchant_discount, line.platform_discount, line.paid, line.base, line.commission)
        for line in (lamp, cable)
    ] == [
        (D("399.98"), D("41.33"), D("35.87"), D("322.78"), D("358.65"), D("17.93")),
        (D("35.50"), D("3.67"), D("3.18"), D("28.65"), D("31.83"), D("1.59")),
    ]
    for line in (lamp, cable):
        assert line.paid == line.gross - line.merchant_discount - line.platform_discount
        assert line.base == line.gross - line.merchant_discount == line.paid + line.platform_discount
        assert line.commission == quantize(line.base * line.commission_rate)
    assert dict(OrderLineDiscount.objects.filter(line=lamp).values_list("promotion_id", "merchant_part")) == {
        merchant_funded.pk: D("41.33"),
        platform_funded.pk: D("0.00"),
    }
    assert (order.goods_total, order.discount_total, order.shipping_fee, order.paid_total) == (
        D("435.48"),
        D("84.05"),
        D("8.00"),
        D("359.43"),
    )

    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = Statement.objects.get(period="2026-10")
    paid = lamp.paid + cable.paid
    platform = lamp.platform_discount + cable.platform_discount
    commission = lamp.commission + cable.commission
    assert _lines(statement) == {
        "goods": paid,
        "platform_discounts": platform,
        "shipping": order.shipping_fee,
        "commission": -commission,
    }
    assert _lines(statement) == {
        "goods": D("351.43"),
        "platform_discounts": D("39.05"),
        "shipping": D("8.00"),
        "commission": D("-19.52"),
    }
    # The merchant gets its sale (the base) less commission, plus shipping.
    assert statement.payable == D("378.96") == lamp.base + cable.base - commission + order.shipping_fee

    # November: half of each line's paid amount goes back to the buyer.
    refunds = {lamp: D("161.39"), cable: D("14.32")}
    with (
        django_capture_on_commit_callbacks(execute=True),
        mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 3, 10)),
    ):
        order_services.refund_issue(
            merchant_order=order,
            items=[RefundItem(line.pk, amount) for line, amount in refunds.items()],
            reason="half back",
        )
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    # s = R / paid; taken back = platform discount × s, returned = commission × s, rounded.
    taken_back = sum(quantize(line.platform_discount * r / line.paid) for line, r in refunds.items())
    returned = sum(quantize(line.commission * r / line.paid) for line, r in refunds.items())
    assert (taken_back, returned) == (D("17.94") + D("1.59"), D("8.97") + D("0.79"))
    assert {kind: amount for kind, amount in _lines(november).items() if amount} == {
        "refunds": D("-175.71"),
        "discounts_taken_back": D("-19.53"),
        "commission_returned": D("9.76"),
    }
