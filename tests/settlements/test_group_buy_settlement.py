"""A group buy's difference refund settles as a discount, split by the campaign's funding
(README "Settlement" of promotions; domain.md "Settlement"): the merchant-funded part lowers
the line's base and the commission on it, the platform-funded part is reimbursed like a
platform discount, and nothing of the line's first-step platform discount is taken back.
A refund below the minimum (everything back) stays an ordinary full refund.

Each campaign sells a ¥100.00 lamp (shipping ¥8.00 per order) with the ladder 2 → 10 %,
5 → 20 %, 10 → 30 %; five participants of one unit reach the second step: each paid ¥90.00
(the first step: ¥10.00 off) and is refunded the ¥10.00 difference. The shop went live at
placement (launch policy: rate 10 % × 0.5 = 5 %).

Per participant, by the campaign's platform share (first step = 10.00 split md / pd;
difference = 10.00 split Dm / Dp with `allocate` by the same funding):

| funding  | md    | pd    | paid  | base = 100 − md | commission = base × 5 % | Dm    | Dp    | returned = commission × Dm / base |
| merchant | 10.00 | 0.00  | 90.00 | 90.00           | 4.50                    | 10.00 | 0.00  | 4.50 × 10 / 90 = 0.50             |
| 50/50    | 5.00  | 5.00  | 90.00 | 95.00           | 4.75                    | 5.00  | 5.00  | 4.75 × 5 / 95 = 0.25              |
| platform | 0.00  | 10.00 | 90.00 | 100.00          | 5.00                    | 0.00  | 10.00 | 0                                 |

Five participants: goods 450.00, shipping 40.00, refunds −50.00, platform discounts
reimbursed 5 × (pd + Dp), commission −5 × commission, commission returned 5 × returned,
platform discounts taken back 0. The merchant ends with 5 × (base − Dm − (commission −
returned) + 8): 5 × 84.00 = 420.00, 5 × 93.50 = 467.50, 5 × 103.00 = 515.00."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from orders import services as order_services
from orders.models import MerchantOrder, OrderLineDiscount, Refund
from orders.selectors.marketing import source_marketing
from settlements import selectors, services
from settlements.models import JournalEntry, SettledOrder, SettledRefund, Statement, StatementLine
from tests.factories import UserFactory
from tests.promotions.group_buy_world import after_close, build_group_world, group_of
from tests.settlements.test_runs import _lines, _settle, at

pytestmark = pytest.mark.django_db
D = Decimal

#: share → (pd, Dp, commission, commission returned) per participant (module docstring).
FUNDING = {
    None: (D("0.00"), D("0.00"), D("4.50"), D("0.50")),
    "0.5": (D("5.00"), D("5.00"), D("4.75"), D("0.25")),
    "1": (D("10.00"), D("10.00"), D("5.00"), D("0.00")),
}
#: share → the merchant's total over the statements (module docstring).
MERCHANT_TOTAL = {None: D("420.00"), "0.5": D("467.50"), "1": D("515.00")}


def _five_completed(share, *, completed):
    """Five paid participants of one group, their orders completed at `completed`."""
    world = build_group_world(platform_share=share)
    participants = group_of(world, 5)
    orders = list(MerchantOrder.objects.filter(buyer_order_id__in=[p.order_id for p in participants]))
    for order in orders:
        _complete(order, world.shop.owner)
    MerchantOrder.objects.filter(pk__in=[o.pk for o in orders]).update(completed_at=completed)
    return world, participants


def _complete(order, owner):
    order_services.merchant_order_ship(
        order=order, merchant=order.merchant, actor=owner, carrier="SF", tracking_number="1"
    )
    order_services.merchant_order_confirm_receipt(order=order, actor=order.buyer_order.buyer)


def _close(participants, *, refunds_at):
    """Close the group (the second step) and date its refunds' decision `refunds_at`."""
    order_services.group_buys_close_due(now=after_close(participants[0].group))
    refunds = Refund.objects.filter(merchant_order__buyer_order_id__in=[p.order_id for p in participants])
    refunds.update(completed_at=refunds_at)
    return refunds


def _platform_cost(merchant):
    """The statements' platform cost: discounts reimbursed less discounts taken back."""
    lines = StatementLine.objects.filter(
        statement__merchant=merchant, kind__in=["platform_discounts", "discounts_taken_back"]
    )
    return sum((line.amount for line in lines), D("0.00"))


def _assert_marketing_agrees(world, share):
    pd, dp, _commission, _returned = FUNDING[share]
    figures = source_marketing("group_buy", [world.campaign.pk])[world.campaign.pk]
    # Marketing: 5 × (first step + difference) by funder; the platform's equals the statements'.
    assert figures.platform_cost == 5 * (pd + dp) == _platform_cost(world.shop)
    assert figures.merchant_cost == 5 * (D("20.00") - pd - dp)


@pytest.mark.parametrize("share", [None, "0.5", "1"])
def test_closed_at_the_second_step_and_settled_the_same_month(share):
    pd, dp, commission, returned = FUNDING[share]
    world, participants = _five_completed(share, completed=at(2026, 12, 8, 12))
    refunds = _close(participants, refunds_at=at(2026, 12, 9, 12))
    assert sorted(refunds.values_list("amount", flat=True)) == [D("10.00")] * 5
    assert (
        sorted(OrderLineDiscount.objects.values_list("later_merchant_part", "later_platform_part"))
        == [(D("10.00") - dp, dp)] * 5
    )

    _settle("2026-12", now=at(2027, 1, 1, 1))
    statement = Statement.objects.get(merchant=world.shop, period="2026-12")
    assert _lines(statement) == {
        "goods": D("450.00"),
        "platform_discounts": 5 * (pd + dp),
        "shipping": D("40.00"),
        "commission": -5 * commission,
        "refunds": D("-50.00"),
        "shipping_refunds": D("0.00"),
        "discounts_taken_back": D("0.00"),
        "commission_returned": 5 * returned,
    }
    assert statement.payable == MERCHANT_TOTAL[share]
    # Five orders, plus five differences when the platform funds a part of them.
    assert statement.lines.get(kind="platform_discounts").count == (10 if dp else 5)
    # Each settled difference: merchant part off the base, platform part reimbursed (negative
    # "taken back"), commission on the merchant part returned.
    assert (
        sorted(SettledRefund.objects.values_list("amount", "refunded_base", "discount_back", "commission_returned"))
        == [(D("10.00"), D("10.00") - dp, -dp, returned)] * 5
    )
    _assert_marketing_agrees(world, share)


@pytest.mark.parametrize("share", [None, "0.5", "1"])
def test_closed_after_the_order_settled_the_difference_is_settled_next_month(share):
    pd, dp, commission, returned = FUNDING[share]
    world, participants = _five_completed(share, completed=at(2026, 12, 8, 12))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    december = Statement.objects.get(merchant=world.shop, period="2026-12")
    assert _lines(december) == {
        "goods": D("450.00"),
        "platform_discounts": 5 * pd,
        "shipping": D("40.00"),
        "commission": -5 * commission,
    }

    _close(participants, refunds_at=at(2027, 1, 5, 12))
    _settle("2027-01", now=at(2027, 2, 1, 1))
    january = Statement.objects.get(merchant=world.shop, period="2027-01")
    expected = {
        "refunds": D("-50.00"),
        "shipping_refunds": D("0.00"),
        "discounts_taken_back": D("0.00"),
        "commission_returned": 5 * returned,
    }
    if dp:
        expected["platform_discounts"] = 5 * dp
    assert _lines(january) == expected
    # merchant: −50.00 + 2.50 = −47.50; 50/50: −50.00 + 1.25 + 25.00 = −23.75; platform: 0.00.
    assert january.payable == {None: D("-47.50"), "0.5": D("-23.75"), "1": D("0.00")}[share]
    # Over both months the merchant gets what it gets when the close comes first.
    assert december.payable + january.payable == MERCHANT_TOTAL[share]
    _assert_marketing_agrees(world, share)


def test_reruns_change_nothing_and_the_ledger_balances_and_reconciles():
    _world, participants = _five_completed("0.5", completed=at(2026, 12, 8, 12))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    refunds = _close(participants, refunds_at=at(2027, 1, 5, 12))
    for refund in refunds:
        with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 5, 13)):
            assert order_services.refund_execute(refund_id=refund.pk) == "succeeded"
    _settle("2027-01", now=at(2027, 2, 1, 1))
    before = (
        sorted(Statement.objects.values_list("pk", "period", "payable")),
        sorted(StatementLine.objects.values_list("statement_id", "kind", "amount", "count")),
        SettledOrder.objects.count(),
        SettledRefund.objects.count(),
    )
    for period, now in (("2026-12", at(2027, 1, 2)), ("2027-01", at(2027, 2, 2))):
        again = _settle(period, now=now)
        # (The world's other shop, with nothing to settle, is looked at again and kept nothing.)
        assert again.statements_created == 0
    assert (
        sorted(Statement.objects.values_list("pk", "period", "payable")),
        sorted(StatementLine.objects.values_list("statement_id", "kind", "amount", "count")),
        SettledOrder.objects.count(),
        SettledRefund.objects.count(),
    ) == before

    staff = UserFactory(is_staff=True)
    for statement in Statement.objects.order_by("period"):
        services.statement_approve(statement=statement, actor=staff)
        assert selectors.statement_matches_ledger(statement)
    services.ledger_post_pending()
    for entry in JournalEntry.objects.all():
        assert sum(entry.postings.values_list("amount", flat=True)) == 0
    report = selectors.reconcile(period="2027-01")
    assert report.ok, report.sections


def test_a_group_below_the_minimum_on_a_completed_order_is_an_ordinary_full_refund():
    world = build_group_world(platform_share="0.5")
    (participant,) = group_of(world, 1)
    order = MerchantOrder.objects.get(buyer_order_id=participant.order_id)
    _complete(order, world.shop.owner)
    MerchantOrder.objects.filter(pk=order.pk).update(completed_at=at(2026, 12, 8, 12))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    _close([participant], refunds_at=at(2027, 1, 5, 12))
    _settle("2027-01", now=at(2027, 2, 1, 1))
    # Everything back, 90.00 + shipping 8.00 (s = 1): the platform's 5.00 taken back whole,
    # the commission 4.75 returned whole; no discount given later.
    assert _lines(Statement.objects.get(period="2027-01")) == {
        "refunds": D("-90.00"),
        "shipping_refunds": D("-8.00"),
        "discounts_taken_back": D("-5.00"),
        "commission_returned": D("4.75"),
    }
    assert list(OrderLineDiscount.objects.values_list("later_merchant_part", "later_platform_part")) == [
        (D("0.00"), D("0.00"))
    ]


def test_a_return_after_the_difference_reverses_the_line_as_the_difference_left_it():
    world, participants = _five_completed("0.5", completed=at(2026, 12, 8, 12))
    _close(participants, refunds_at=at(2026, 12, 9, 12))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    assert Statement.objects.get(period="2026-12").payable == D("467.50")
    order = MerchantOrder.objects.get(buyer_order_id=participants[0].order_id)
    line = order.lines.get()
    with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 10, 12)):
        order_services.refund_issue(
            merchant_order=order, items=[order_services.RefundItem(line.pk, D("80.00"))], reason="returned"
        )
    _settle("2027-01", now=at(2027, 2, 1, 1))
    # Left after the difference: paid 90 − 10 = 80, base 95 − 5 = 90, platform discount
    # 5 + 5 = 10, commission 4.75 − 0.25 = 4.50; R = 80 → s = 1: all of it reversed.
    assert _lines(Statement.objects.get(period="2027-01")) == {
        "refunds": D("-80.00"),
        "shipping_refunds": D("0.00"),
        "discounts_taken_back": D("-10.00"),
        "commission_returned": D("4.50"),
    }
    assert SettledRefund.objects.get(refund__reason="returned").refunded_base == D("90.00")
    # The merchant keeps the returned order's shipping only: 467.50 − 80 − 10 + 4.50 = 382.00
    # = 4 × 93.50 + 8.00.
    assert sum(Statement.objects.values_list("payable", flat=True)) == D("382.00") == 4 * D("93.50") + D("8.00")
    # Marketing: 4 participants × (5 + 5) platform-funded, as the statements: 50.00 − 10.00.
    figures = source_marketing("group_buy", [world.campaign.pk])[world.campaign.pk]
    assert figures.platform_cost == D("40.00") == _platform_cost(world.shop)
