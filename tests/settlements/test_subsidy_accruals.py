"""Logistics-subsidy accruals in the settlement run (issue #14, domain.md "Incentive
subsidies"): ¥0.5 per shipped order with a designated carrier, ¥1.0 when it holds a fresh or
cross-border product, capped per merchant and calendar year in completion order (the cut
recorded and shown), paid in the statement of the period the order settles, clawed back
once when the order is fully refunded after it was paid; reruns change nothing; the ledger
takes the subsidy as the platform's expense and still matches the statements.

Every merchant below is `Shop` (tests.settlements.test_runs): live since 2026-09-10, grade B,
category rate 10 %, orders placed in October within three months (rate 5 %), shipping ¥8.00.
A ¥10.00 order: goods 10.00, shipping 8.00, commission 0.50.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from catalog.models import Category
from orders.models import MerchantOrder, OrderLine, Shipment
from settlements import selectors, services
from settlements.choices import AccountKind, LineKind, ProgrammeKind
from settlements.models import JournalEntry, Posting, Statement, StatementLine, SubsidyAccrual, SubsidyProgramme
from settlements.services import subsidies
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.settlements.test_runs import Shop, _lines, _refund, _settle, at

pytestmark = pytest.mark.django_db

SUBSIDY_KINDS = {LineKind.LOGISTICS_SUBSIDY, LineKind.LOGISTICS_SUBSIDY_CLAWBACK}


def logistics(*, cap="500000.00", carriers=("SF",), valid_from=datetime.date(2026, 1, 1), valid_until=None):
    return subsidies.programme_save(
        programme=SubsidyProgramme(
            code=f"logistics-{SubsidyProgramme.objects.count()}",
            name="Logistics",
            kind=ProgrammeKind.LOGISTICS,
            rules={"carriers": list(carriers), "per_order": "0.50", "per_order_special": "1.00"},
            valid_from=valid_from,
            valid_until=valid_until,
            merchant_year_cap=Decimal(cap),
        ),
        actor=None,
    )


def order(shop, *, completed, price="10.00", carrier=None, fresh=False, cross_border=False):
    """A completed ¥`price` order of `shop`, shipped with SF (or `carrier`), placed 2026-10-01."""
    placed = min(at(2026, 10, 1, 9), completed - datetime.timedelta(days=1))
    merchant_order = shop.completed_order([(price, 1)], placed=placed, completed=completed)
    # Rewritten in place, so the order's columns are too, as shipping with `carrier` and
    # placing lines of that category would have written them.
    if carrier is not None:
        Shipment.objects.filter(lines__order_line__merchant_order=merchant_order).update(carrier=carrier)
        MerchantOrder.objects.filter(pk=merchant_order.pk).update(shipped_carrier=MerchantOrder.carrier_code(carrier))
    if fresh or cross_border:
        special = make_category(f"Special {merchant_order.pk}")
        Category.objects.filter(pk=special.pk).update(is_fresh=fresh, is_cross_border=cross_border)
        OrderLine.objects.filter(merchant_order=merchant_order).update(category=special)
        MerchantOrder.objects.filter(pk=merchant_order.pk).update(has_special_category=True)
    return merchant_order


def accruals():
    return list(
        SubsidyAccrual.objects.order_by("completed_at", "merchant_order_id").values_list(
            "merchant_order_id", "due", "cut", "amount", "statement__period"
        )
    )


def test_a_statement_pays_the_logistics_subsidy_of_the_orders_it_settles():
    logistics(carriers=("sf", "JDVA"))
    shop = Shop()
    plain = order(shop, completed=at(2026, 10, 2, 10))
    fresh = order(shop, completed=at(2026, 10, 3, 10), fresh=True, carrier=" jdva ")
    cross = order(shop, completed=at(2026, 10, 4, 10), cross_border=True)
    order(shop, completed=at(2026, 10, 5, 10), carrier="ZTO")  # not a designated carrier
    order(shop, completed=at(2026, 10, 6, 10), fresh=True, carrier="YT")  # fresh, but not designated

    _settle("2026-10", now=at(2026, 11, 1, 1))

    october = Statement.objects.get(period="2026-10")
    # 5 orders × ¥10.00: goods 50.00, shipping 5 × 8.00 = 40.00, commission 5 × 0.50 = 2.50;
    # subsidy: plain SF 0.50 + fresh JDVA 1.00 + cross-border SF 1.00 = 2.50 (ZTO, YT: none).
    # Payable 50.00 + 40.00 − 2.50 + 2.50 = 90.00.
    assert _lines(october) == {
        "goods": Decimal("50.00"),
        "shipping": Decimal("40.00"),
        "platform_discounts": Decimal("0.00"),
        "commission": Decimal("-2.50"),
        "logistics_subsidy": Decimal("2.50"),
    }
    assert october.payable == Decimal("90.00")
    assert october.lines.get(kind=LineKind.LOGISTICS_SUBSIDY).count == 3
    assert accruals() == [
        (plain.pk, Decimal("0.50"), Decimal("0.00"), Decimal("0.50"), "2026-10"),
        (fresh.pk, Decimal("1.00"), Decimal("0.00"), Decimal("1.00"), "2026-10"),
        (cross.pk, Decimal("1.00"), Decimal("0.00"), Decimal("1.00"), "2026-10"),
    ]


def test_a_yearly_cap_reached_mid_month_is_never_exceeded_and_the_cut_is_recorded():
    logistics(cap="2.20")
    shop = Shop()
    # Completion order decides, not creation order: the 10-07 order is created first.
    last = order(shop, completed=at(2026, 10, 7, 10))
    first = order(shop, completed=at(2026, 10, 2, 10), fresh=True)
    second = order(shop, completed=at(2026, 10, 3, 10))
    third = order(shop, completed=at(2026, 10, 5, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))

    # Running due 1.00, 1.50, 2.00, 2.50 against the cap 2.20: the 10-07 order, last to
    # complete, gets 0.20 of its 0.50 (cut 0.30). Paid 2.20.
    assert accruals() == [
        (first.pk, Decimal("1.00"), Decimal("0.00"), Decimal("1.00"), "2026-10"),
        (second.pk, Decimal("0.50"), Decimal("0.00"), Decimal("0.50"), "2026-10"),
        (third.pk, Decimal("0.50"), Decimal("0.00"), Decimal("0.50"), "2026-10"),
        (last.pk, Decimal("0.50"), Decimal("0.30"), Decimal("0.20"), "2026-10"),
    ]
    october = Statement.objects.get(period="2026-10")
    assert _lines(october)["logistics_subsidy"] == Decimal("2.20")
    # 4 × (10.00 + 8.00 − 0.50) + 2.20 = 72.20
    assert october.payable == Decimal("72.20")
    assert selectors.statement_subsidy_summary(october) == {
        "due": Decimal("2.50"),
        "cut": Decimal("0.30"),
        "paid": Decimal("2.20"),
        "clawed_back": Decimal("0.00"),
        "orders": 4,
    }

    # November: the year's cap is used up; the next order accrues nothing, its cut shown.
    november_order = order(shop, completed=at(2026, 11, 2, 10))
    _settle("2026-11", now=at(2026, 12, 1, 1))
    assert accruals()[-1] == (november_order.pk, Decimal("0.50"), Decimal("0.50"), Decimal("0.00"), "2026-11")
    assert _lines(Statement.objects.get(period="2026-11"))["logistics_subsidy"] == Decimal("0.00")

    # A new calendar year starts a new cap: completed 2027-01-02, settled in January.
    january_order = order(shop, completed=at(2027, 1, 2, 10))
    _settle("2026-12", now=at(2027, 1, 1, 1))
    _settle("2027-01", now=at(2027, 2, 1, 1))
    assert accruals()[-1] == (january_order.pk, Decimal("0.50"), Decimal("0.00"), Decimal("0.50"), "2027-01")
    assert sum(a.amount for a in SubsidyAccrual.objects.filter(year=2026)) == Decimal("2.20")


def test_an_accrual_reversed_by_a_full_refund_after_it_was_paid_is_clawed_back_next_period():
    logistics()
    shop = Shop()
    refunded_later = order(shop, completed=at(2026, 10, 2, 10), fresh=True)
    partly_refunded = order(shop, completed=at(2026, 10, 3, 10))
    refunded_before = order(shop, completed=at(2026, 10, 4, 10))
    # Fully refunded before its period ends: settled with its refund, accrues nothing.
    _refund(refunded_before, "10.00", when=at(2026, 10, 20, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(period="2026-10")
    # Goods 30.00, shipping 24.00, commission −1.50, refunds −10.00, commission returned
    # +0.50, subsidy 1.00 (fresh) + 0.50 = 1.50 (the refunded order: none). Payable 44.50.
    assert _lines(october)["logistics_subsidy"] == Decimal("1.50")
    assert october.payable == Decimal("44.50")
    assert SubsidyAccrual.objects.filter(merchant_order=refunded_before).count() == 0

    _refund(refunded_later, "10.00", when=at(2026, 11, 3, 10))
    _refund(partly_refunded, "4.00", when=at(2026, 11, 3, 10))  # a partial refund keeps the subsidy
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    # Refunds −14.00, commission returned +0.50 + 0.20 = 0.70, clawback −1.00. Payable −14.30.
    assert {k: v for k, v in _lines(november).items() if v} == {
        "refunds": Decimal("-14.00"),
        "commission_returned": Decimal("0.70"),
        "logistics_subsidy_clawback": Decimal("-1.00"),
    }
    assert november.payable == Decimal("-14.30")
    clawed = SubsidyAccrual.objects.get(merchant_order=refunded_later)
    assert (clawed.statement.period, clawed.clawed_back_in.period) == ("2026-10", "2026-11")
    assert SubsidyAccrual.objects.get(merchant_order=partly_refunded).clawed_back_in is None

    # Once only: December claws nothing back again.
    order(shop, completed=at(2026, 12, 1, 10), carrier="ZTO")
    _settle("2026-12", now=at(2027, 1, 1, 1))
    assert LineKind.LOGISTICS_SUBSIDY_CLAWBACK not in _lines(Statement.objects.get(period="2026-12"))


def test_orders_shipped_outside_the_programme_validity_accrue_nothing():
    # Shop.completed_order ships at the placing time (2026-10-01).
    logistics(valid_from=datetime.date(2026, 10, 2))
    logistics(valid_until=datetime.date(2026, 9, 30))
    shop = Shop()
    order(shop, completed=at(2026, 10, 2, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    assert SubsidyAccrual.objects.count() == 0
    assert LineKind.LOGISTICS_SUBSIDY not in _lines(Statement.objects.get(period="2026-10"))


def test_reruns_change_nothing_and_the_ledger_takes_the_subsidy_as_an_expense():
    logistics(cap="1.20")
    shop = Shop()
    order(shop, completed=at(2026, 10, 2, 10), fresh=True)
    order(shop, completed=at(2026, 10, 3, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    before = (
        accruals(),
        list(StatementLine.objects.order_by("pk").values_list("pk", "kind", "amount")),
        list(Statement.objects.values_list("pk", "payable")),
    )
    rerun = _settle("2026-10", now=at(2026, 11, 2, 1))
    assert rerun.statements_created == 0
    after = (
        accruals(),
        list(StatementLine.objects.order_by("pk").values_list("pk", "kind", "amount")),
        list(Statement.objects.values_list("pk", "payable")),
    )
    assert after == before

    october = Statement.objects.get(period="2026-10")
    # 2 × (10.00 + 8.00 − 0.50) + 1.20 (1.00 + 0.20 of 0.50, cut 0.30) = 36.20
    assert october.payable == Decimal("36.20")
    services.statement_approve(statement=october, actor=UserFactory())
    entry = JournalEntry.objects.get(statement=october)
    postings = dict(entry.postings.values_list("account__kind", "amount"))
    assert postings[AccountKind.SUBSIDY_EXPENSE] == Decimal("1.20")
    assert postings[AccountKind.MERCHANT_PAYABLE] == Decimal("-36.20")
    assert sum(postings.values()) == Decimal("0.00")
    assert Posting.objects.filter(entry=entry).count() == len(postings)
    report = selectors.reconcile(period="2026-10")
    assert report.sections["ledger"]["differences"] == []


def test_a_statement_with_only_a_clawback_is_kept():
    logistics()
    shop = Shop()
    paid = order(shop, completed=at(2026, 10, 2, 10))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    # Refunded in November; nothing else happens for this merchant.
    _refund(paid, "10.00", when=at(2026, 11, 3, 10))
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    assert _lines(november)["logistics_subsidy_clawback"] == Decimal("-0.50")
    # Refund −10.00, commission returned +0.50, clawback −0.50.
    assert november.payable == Decimal("-10.00")
