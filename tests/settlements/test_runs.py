import datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from catalog import services as catalog_services
from merchants.models import Merchant
from orders import services as order_services
from orders.gateways import sandbox
from orders.models import MerchantOrder, OrderLine, Refund, ShippingRate
from orders.services import CheckoutItem, RefundItem
from settlements import selectors, services
from settlements.models import (
    FrozenOrder,
    JournalEntry,
    Posting,
    SettledOrder,
    SettledRefund,
    SettlementRun,
    Statement,
)
from settlements.periods import Period, settleable_cutoff
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime.datetime(*args, tzinfo=SH)


def _lines(statement):
    return {line.kind: line.amount for line in statement.lines.all()}


class Shop:
    """A merchant live since 2026-09-10, grade B, category rate 10 %, shipping ¥8.00."""

    def __init__(self, **kwargs):
        self.merchant, (self.category,) = live_merchant(**kwargs)
        Merchant.objects.filter(pk=self.merchant.pk).update(live_since=at(2026, 9, 10, 10, 0))
        self.merchant.refresh_from_db()
        ShippingRate.objects.create(merchant=self.merchant, flat_fee=Decimal("8.00"), free_over=None)
        self.wh = warehouse()
        self.skus = {}

    def sku(self, price):
        if price not in self.skus:
            item = product(self.merchant, self.category, skus=[{"code": f"P{price}", "price": price}])
            sku = item.skus.get()
            catalog_services.stock_receive(
                merchant=sku.merchant, sku=sku, warehouse=self.wh, quantity=1000, actor=self.merchant.owner
            )
            self.skus[price] = sku
        return self.skus[price]

    def completed_order(self, items, *, placed, completed, buyer=None):
        buyer = buyer or UserFactory()
        with mock.patch("django.utils.timezone.now", return_value=placed):
            order = order_services.checkout_place(
                buyer=buyer, address=address_for(buyer), items=[CheckoutItem(self.sku(p).pk, q) for p, q in items]
            )
            payment = order_services.payment_start(buyer_order=order)
            body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
            event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
            order_services.gateway_event_process(gateway="sandbox", event=event)
            merchant_order = order.merchant_orders.get()
            order_services.merchant_order_ship(
                order=merchant_order,
                merchant=merchant_order.merchant,
                actor=self.merchant.owner,
                carrier="SF",
                tracking_number="1",
            )
            order_services.merchant_order_confirm_receipt(order=merchant_order, actor=buyer)
        MerchantOrder.objects.filter(pk=merchant_order.pk).update(completed_at=completed)
        merchant_order.refresh_from_db()
        return merchant_order


def platform_discount(line, amount: Decimal) -> None:
    """Give an order line a platform-funded discount as promotions will at placement:
    the line's paid amount and its order's frozen totals move with it."""
    OrderLine.objects.filter(pk=line.pk).update(platform_discount=amount, paid=line.paid - amount)
    MerchantOrder.objects.filter(pk=line.merchant_order_id).update(
        goods_total=F("goods_total") - amount,
        paid_total=F("paid_total") - amount,
        platform_discount_total=F("platform_discount_total") + amount,
    )


def _settle(period, *, now):
    """Run a period synchronously: one batch with every merchant left to settle."""
    with mock.patch("django.utils.timezone.now", return_value=now):
        run = services.run_start(period=period, enqueue=False)
        for batch_id in selectors.run_batch_ids(run):
            services.settle_batch(batch_id=batch_id)
    run.refresh_from_db()
    return run


def test_the_worked_example_of_domain_md(django_capture_on_commit_callbacks):
    shop = Shop()
    order = shop.completed_order(
        [("199.99", 2), ("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18)
    )
    line2 = order.lines.get(unit_price=Decimal("35.50"))
    # Line 2 carries a ¥5.00 platform discount in the example (promotions will set it).
    platform_discount(line2, Decimal("5.00"))
    assert list(order.lines.order_by("id").values_list("commission", flat=True)) == [Decimal("20.00"), Decimal("1.78")]

    run = _settle("2026-10", now=at(2026, 11, 1, 1))
    assert (run.status, run.statements_created) == ("completed", 1)
    october = Statement.objects.get(period="2026-10")
    assert _lines(october) == {
        "goods": Decimal("430.48"),
        "platform_discounts": Decimal("5.00"),
        "shipping": Decimal("8.00"),
        "commission": Decimal("-21.78"),
    }
    assert october.payable == Decimal("421.70")

    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 3, 10)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(line2.pk, Decimal("15.25"))], reason="partial"
        )
    _settle("2026-11", now=at(2026, 12, 1, 1))
    november = Statement.objects.get(period="2026-11")
    assert {k: v for k, v in _lines(november).items() if v} == {
        "refunds": Decimal("-15.25"),
        "discounts_taken_back": Decimal("-2.50"),
        "commission_returned": Decimal("0.89"),
    }
    assert november.payable == Decimal("-16.86")

    # A negative payable is carried forward to the next statement.
    services.adjustment_create(
        merchant=shop.merchant, period="2026-12", amount="100.00", reason="Goodwill", actor=UserFactory()
    )
    _settle("2026-12", now=at(2027, 1, 1, 1))
    december = Statement.objects.get(period="2026-12")
    assert {k: v for k, v in _lines(december).items() if v} == {
        "adjustments": Decimal("100.00"),
        "carry_forward": Decimal("-16.86"),
    }
    assert december.payable == Decimal("83.14")


def test_settleable_edges_t_plus_15_at_23_59_on_the_last_day():
    shop = Shop()
    on_time = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1, 9), completed=at(2026, 10, 16, 23, 59, 59))
    late = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1, 9), completed=at(2026, 10, 17, 0, 0, 0))
    assert settleable_cutoff(Period(2026, 10), 15) == at(2026, 10, 17)
    _settle("2026-10", now=at(2026, 11, 1))
    assert list(SettledOrder.objects.values_list("merchant_order_id", flat=True)) == [on_time.pk]
    _settle("2026-11", now=at(2026, 12, 1))
    assert SettledOrder.objects.get(merchant_order=late).statement.period == "2026-11"


def test_a_run_for_a_period_that_has_not_ended_is_refused():
    with (
        mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 31, 23, 59)),
        pytest.raises(services.SettlementConflict) as info,
    ):
        services.run_start(period="2026-10", enqueue=False)
    assert info.value.code == "period_not_ended"
    assert SettlementRun.objects.count() == 0


def test_reruns_change_nothing_and_post_nothing_twice():
    shop = Shop()
    shop.completed_order([("10.00", 3)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    before = list(Statement.objects.values_list("pk", "payable"))
    rows = (SettledOrder.objects.count(), SettledRefund.objects.count())
    second = _settle("2026-10", now=at(2026, 11, 3))
    assert (second.merchants_total, second.statements_created) == (0, 0)
    assert list(Statement.objects.values_list("pk", "payable")) == before
    assert (SettledOrder.objects.count(), SettledRefund.objects.count()) == rows


def test_frozen_orders_are_listed_then_caught_up_when_released():
    shop = Shop()
    order = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=order.pk).update(is_frozen=True)
    _settle("2026-10", now=at(2026, 11, 2))
    october = Statement.objects.get(period="2026-10")
    assert october.payable == Decimal("0.00")
    assert list(FrozenOrder.objects.values_list("merchant_order_id", "amount")) == [(order.pk, Decimal("58.00"))]
    MerchantOrder.objects.filter(pk=order.pk).update(is_frozen=False)
    _settle("2026-11", now=at(2026, 12, 2))
    assert SettledOrder.objects.get(merchant_order=order).statement.period == "2026-11"
    assert Statement.objects.get(period="2026-11").payable == Decimal("58.00") - Decimal("2.50")


def test_a_refund_before_settlement_is_settled_with_its_order():
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 20), completed=at(2026, 10, 25))
    line = order.lines.get()
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 28)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(line.pk, Decimal("40.00"))], reason="partial"
        )
    _settle("2026-10", now=at(2026, 11, 1))
    assert Statement.objects.filter(period="2026-10").count() == 0  # order not settleable yet (T+15)
    _settle("2026-11", now=at(2026, 12, 1))
    november = Statement.objects.get(period="2026-11")
    lines = _lines(november)
    # launch policy: 100.00 × 10 % × 0.5 = 5.00; 40 % of it returned.
    assert (lines["goods"], lines["commission"], lines["refunds"], lines["commission_returned"]) == (
        Decimal("100.00"),
        Decimal("-5.00"),
        Decimal("-40.00"),
        Decimal("2.00"),
    )
    assert Refund.objects.get().completed_at < at(2026, 11, 1)


def test_ladder_rebate_whole_volume_and_capped():
    steps = [{"min_net_sales": "1000000.00", "points": "1"}, {"min_net_sales": "5000000.00", "points": "2"}]
    assert services.ladder_rebate(net_sales=Decimal("999999.99"), steps=steps, cap=Decimal("99999")) == Decimal("0.00")
    assert services.ladder_rebate(net_sales=Decimal("1000000.00"), steps=steps, cap=Decimal("99999")) == Decimal(
        "10000.00"
    )
    assert services.ladder_rebate(net_sales=Decimal("5000000.00"), steps=steps, cap=Decimal("99999")) == Decimal(
        "99999.00"
    )
    assert services.ladder_rebate(net_sales=Decimal("5000000.00"), steps=steps, cap=Decimal("200000")) == Decimal(
        "100000.00"
    )


def test_dry_run_shows_everything_and_writes_nothing():
    shop = Shop()
    shop.completed_order([("10.00", 2)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 2)):
        preview = services.run_preview(period="2026-10")
    # 2 × 10.00 + shipping 8.00 − commission 1.00 (10 % × 0.5, launch policy)
    assert [s["payable"] for s in preview.statements] == [Decimal("27.00")]
    assert Statement.objects.count() == 0
    assert SettledOrder.objects.count() == 0


def test_approval_posts_a_balanced_entry_once_and_the_ledger_is_immutable():
    shop = Shop()
    shop.completed_order([("199.99", 2)], placed=at(2026, 10, 5), completed=at(2026, 10, 12))
    _settle("2026-10", now=at(2026, 11, 2))
    statement = Statement.objects.get()
    finance = UserFactory(is_staff=True)
    services.statement_approve(statement=statement, actor=finance)
    entry = JournalEntry.objects.get()
    assert sum(entry.postings.values_list("amount", flat=True)) == 0
    assert selectors.statement_matches_ledger(statement)
    with pytest.raises(Exception):  # noqa: B017 - the conflict error type is the point only loosely
        services.statement_approve(statement=statement, actor=finance)
    assert JournalEntry.objects.count() == 1
    posting = entry.postings.first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE settlements_posting SET amount = amount + 1 WHERE id = %s", [posting.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM settlements_journalentry WHERE id = %s", [entry.pk])
    assert Posting.objects.get(pk=posting.pk).amount == posting.amount


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_entry_is_refused_at_commit():
    account_a = services.account_for("bank")
    account_b = services.account_for("gateway_clearing")
    with pytest.raises(DatabaseError), transaction.atomic():
        entry = JournalEntry.objects.create(key="bad", description="unbalanced")
        Posting.objects.create(entry=entry, account=account_a, amount=Decimal("10.00"))
        Posting.objects.create(entry=entry, account=account_b, amount=Decimal("-9.99"))
    assert JournalEntry.objects.filter(key="bad").count() == 0


def test_a_strategic_ladder_contract_gets_its_rebate_in_the_run():
    shop = Shop(tier_code="strategic")
    contract = shop.merchant.contracts.get(status="accepted")
    assert contract.commission_plan == "ladder"
    shop.completed_order([("500000.00", 2)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    lines = _lines(Statement.objects.get(period="2026-10"))
    # Net sales 1,000,000.00 reach the first step (1 point); commission 5 % = 50,000.00.
    assert (lines["goods"], lines["commission"], lines["ladder_rebate"]) == (
        Decimal("1000000.00"),
        Decimal("-50000.00"),
        Decimal("10000.00"),
    )
    assert Statement.objects.get(period="2026-10").payable == Decimal("960008.00")


# --- Each run reads the orders completed since the previous statement's cutoff ----------


def _settled_in(order):
    return SettledOrder.objects.get(merchant_order=order).statement.period


def test_each_statement_records_its_cutoff_and_the_next_run_starts_there():
    shop = Shop()
    shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    october = Statement.objects.get(period="2026-10")
    assert october.orders_completed_before == at(2026, 10, 17)
    assert services.computation._previous_statements([shop.merchant.pk], "2026-11") == {
        shop.merchant.pk: (october.pk, at(2026, 10, 17), at(2026, 11, 1))
    }
    assert services.computation._previous_statements([shop.merchant.pk], "2026-10") == {}
    # What the November run reads: orders completed since 17 October, and those listed frozen
    # on October's statement. (An order completed earlier and neither settled nor listed
    # cannot happen: this one is written behind the run's back to show the history is not read.)
    behind = shop.completed_order([("20.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 16))
    since = shop.completed_order([("30.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 17))
    _settle("2026-11", now=at(2026, 12, 2))
    assert list(SettledOrder.objects.filter(statement__period="2026-11").values_list("merchant_order", flat=True)) == [
        since.pk
    ]
    assert not SettledOrder.objects.filter(merchant_order=behind).exists()


def test_an_order_frozen_for_two_runs_is_listed_on_both_then_caught_up_when_released():
    shop = Shop()
    disputed = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=disputed.pk).update(is_frozen=True)
    shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 3))
    _settle("2026-10", now=at(2026, 11, 2))
    shop.completed_order([("20.00", 1)], placed=at(2026, 11, 1), completed=at(2026, 11, 3))
    _settle("2026-11", now=at(2026, 12, 2))
    listed = FrozenOrder.objects.filter(merchant_order=disputed).values_list("statement__period", flat=True)
    assert sorted(listed) == ["2026-10", "2026-11"]
    MerchantOrder.objects.filter(pk=disputed.pk).update(is_frozen=False)
    _settle("2026-12", now=at(2027, 1, 2))
    assert _settled_in(disputed) == "2026-12"
    assert _lines(Statement.objects.get(period="2026-12"))["goods"] == Decimal("50.00")
    assert SettledOrder.objects.count() == 3


def test_orders_of_a_skipped_month_are_caught_up_by_the_next_run():
    shop = Shop()
    first = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    # No run for November: its orders and December's go on December's statement.
    november = shop.completed_order([("20.00", 1)], placed=at(2026, 10, 20), completed=at(2026, 10, 25))
    december = shop.completed_order([("30.00", 1)], placed=at(2026, 11, 20), completed=at(2026, 12, 1))
    _settle("2026-12", now=at(2027, 1, 2))
    assert [_settled_in(o) for o in (first, november, december)] == ["2026-10", "2026-12", "2026-12"]
    assert _lines(Statement.objects.get(period="2026-12"))["goods"] == Decimal("50.00")


def test_a_changed_settlement_cycle_neither_loses_nor_doubles_an_order():
    from merchants.models import Contract

    shop = Shop()
    contract = Contract.objects.filter(merchant=shop.merchant, status="accepted")
    assert contract.count() == 1
    orders = [
        shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, day)) for day in (2, 20, 28)
    ] + [shop.completed_order([("10.00", 1)], placed=at(2026, 11, 1), completed=at(2026, 11, 10))]
    _settle("2026-10", now=at(2026, 11, 2))  # T = 15: cutoff 17 October
    contract.update(settlement_days=30)  # November's cutoff: 1 November, after October's
    _settle("2026-11", now=at(2026, 12, 2))
    contract.update(settlement_days=45)  # December's cutoff: 17 November, after November's
    _settle("2026-12", now=at(2027, 1, 2))
    assert [_settled_in(o) for o in orders] == ["2026-10", "2026-11", "2026-11", "2026-12"]
    assert list(Statement.objects.order_by("period").values_list("orders_completed_before", flat=True)) == [
        at(2026, 10, 17),
        at(2026, 11, 1),
        at(2026, 11, 17),
    ]


def test_a_longer_cycle_whose_cutoff_is_before_the_previous_one_settles_nothing_twice():
    from merchants.models import Contract

    shop = Shop()
    contract = Contract.objects.filter(merchant=shop.merchant, status="accepted")
    early = shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 5))
    _settle("2026-10", now=at(2026, 11, 2))
    contract.update(settlement_days=60)  # November's cutoff (2 October) is before October's
    late = shop.completed_order([("20.00", 1)], placed=at(2026, 10, 20), completed=at(2026, 10, 25))
    _settle("2026-11", now=at(2026, 12, 2))
    assert not Statement.objects.filter(period="2026-11").exists()
    contract.update(settlement_days=15)
    _settle("2026-12", now=at(2027, 1, 2))
    assert (_settled_in(early), _settled_in(late)) == ("2026-10", "2026-12")
    assert SettledOrder.objects.count() == 2


def test_statements_without_a_recorded_cutoff_bound_nothing():
    """Statements written before the cutoff was recorded: the next run reads all history."""
    shop = Shop()
    shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    Statement.objects.update(orders_completed_before=None)
    missed = shop.completed_order([("20.00", 1)], placed=at(2026, 9, 1), completed=at(2026, 9, 5))
    _settle("2026-11", now=at(2026, 12, 2))
    assert _settled_in(missed) == "2026-11"


def _refund(order, amount, *, when, shipping=Decimal("0")):
    with mock.patch("django.utils.timezone.now", return_value=when):
        return order_services.refund_issue(
            merchant_order=order,
            items=[RefundItem(order.lines.get().pk, Decimal(amount))],
            shipping_amount=shipping,
            reason="partial",
        )


def test_refunds_after_a_previous_statement_are_each_taken_once_where_due():
    shop = Shop()
    settled = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    held = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 3))
    held_refund = _refund(held, "10.00", when=at(2026, 10, 10), shipping=Decimal("8.00"))
    MerchantOrder.objects.filter(pk=held.pk).update(is_frozen=True)
    late = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 20), completed=at(2026, 10, 25))
    late_refund = _refund(late, "40.00", when=at(2026, 10, 28))
    _settle("2026-10", now=at(2026, 11, 1))
    october = Statement.objects.get(period="2026-10")
    assert list(october.settled_orders.values_list("merchant_order", flat=True)) == [settled.pk]
    assert SettledRefund.objects.count() == 0
    # Released after October's run; the settled order is refunded in November.
    MerchantOrder.objects.filter(pk=held.pk).update(is_frozen=False)
    clawback = _refund(settled, "25.00", when=at(2026, 11, 5))
    _settle("2026-11", now=at(2026, 12, 1))
    november = Statement.objects.get(period="2026-11")
    assert sorted(november.settled_orders.values_list("merchant_order", flat=True)) == sorted([held.pk, late.pk])
    taken = SettledRefund.objects.filter(statement=november)
    assert sorted(taken.values_list("refund_id", "amount", "shipping_amount")) == sorted(
        [
            (held_refund.pk, Decimal("10.00"), Decimal("0.00")),  # of an order listed frozen on October's
            (held_refund.pk, Decimal("0.00"), Decimal("8.00")),  # its shipping part
            (late_refund.pk, Decimal("40.00"), Decimal("0.00")),  # of an order completed since the cutoff
            (clawback.pk, Decimal("25.00"), Decimal("0.00")),  # completed since October's end
        ]
    )
    lines = _lines(november)
    assert (lines["refunds"], lines["shipping_refunds"]) == (Decimal("-75.00"), Decimal("-8.00"))
    _settle("2026-12", now=at(2027, 1, 1))
    assert SettledRefund.objects.count() == 4
    assert not Statement.objects.filter(period="2026-12").exists()
