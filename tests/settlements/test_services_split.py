"""Settlement reads orders through what orders compiles, and approves statements in bulk
through one service."""

import datetime
import re
from decimal import Decimal
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection, transaction

from marketplace.errors import DomainError
from merchants import selectors as merchant_selectors
from merchants.choices import MerchantStatus
from orders import settlement_source
from orders.choices import OrderStatus
from orders.models import MerchantOrder
from settlements import services
from settlements.models import JournalEntry, Statement
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
AFTER_OCTOBER = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


# --- Orders compile what settlement reads ---------------------------------------------------


def test_the_settlement_sql_names_no_table_or_status_of_orders():
    """Settlement reads orders only through `orders.settlement_source`: its services and
    selectors spell no orders table, and the run's SQL no order status, so a change in orders
    cannot silently leave them reading the old names."""
    tables = {model._meta.db_table for model in apps.get_app_config("orders").get_models()}
    modules = [*sorted((ROOT / "settlements" / "services").glob("*.py")), ROOT / "settlements" / "selectors.py"]
    for path in modules:
        source = path.read_text()
        for table in tables:
            assert not re.search(rf"\b{table}\b", source), (path, table)
    sql = (ROOT / "settlements" / "services" / "computation.py").read_text()
    for status in OrderStatus:
        assert f"'{status.value}'" not in sql and f'"{status.value}"' not in sql, status


def test_the_status_settlement_reads_is_orders_choice_and_its_table_orders_model():
    assert settlement_source.SETTLEABLE_STATUS is OrderStatus.COMPLETED
    cutoff = at(2026, 11, 1)
    sql, params = settlement_source.settleable_orders_sql(completed_before=cutoff, frozen=False)
    assert f'FROM "{MerchantOrder._meta.db_table}"' in sql
    assert list(params) == [cutoff, OrderStatus.COMPLETED]
    for compile_source in (settlement_source.refund_lines_sql, settlement_source.refund_shipping_sql):
        sql, params = compile_source()
        assert OrderStatus.COMPLETED in params


def test_a_status_changed_in_orders_changes_what_settlement_reads(monkeypatch):
    """The status comes from orders at compile time: were orders to settle another status,
    the run would follow without a change in settlements."""
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    MerchantOrder.objects.filter(pk=order.pk).update(status=OrderStatus.DELIVERED)
    monkeypatch.setattr(settlement_source, "SETTLEABLE_STATUS", OrderStatus.DELIVERED)
    _settle("2026-10", now=AFTER_OCTOBER)
    statement = Statement.objects.get(merchant=shop.merchant)
    assert list(statement.settled_orders.values_list("merchant_order_id", flat=True)) == [order.pk]


def test_the_settleable_orders_are_completed_before_the_cutoff_frozen_or_not():
    shop = Shop()
    before = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    frozen = shop.completed_order([("50.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 3))
    # Neither of these two is read: one completed after the cutoff, one no longer completed.
    shop.completed_order([("70.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 20))
    delivered = shop.completed_order([("80.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 4))
    MerchantOrder.objects.filter(pk=frozen.pk).update(is_frozen=True)
    MerchantOrder.objects.filter(pk=delivered.pk).update(status=OrderStatus.DELIVERED)

    def rows(frozen_flag):
        sql, params = settlement_source.settleable_orders_sql(completed_before=at(2026, 10, 16), frozen=frozen_flag)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT order_id, order_merchant, goods, shipping, paid FROM ({sql}) mo ORDER BY order_id", params
            )
            return cursor.fetchall()

    assert rows(False) == [(before.pk, shop.merchant.pk, Decimal("100.00"), Decimal("8.00"), Decimal("108.00"))]
    assert rows(True) == [(frozen.pk, shop.merchant.pk, Decimal("50.00"), Decimal("8.00"), Decimal("58.00"))]


# --- Approve all statements to review -------------------------------------------------------


def _world():
    a, b, c = Shop(), Shop(), Shop()
    for shop, price in ((a, "100.00"), (b, "60.00"), (c, "30.00")):
        shop.completed_order([(price, 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    run = _settle("2026-10", now=AFTER_OCTOBER)
    return run, [Statement.objects.get(merchant=shop.merchant) for shop in (a, b, c)]


def _statuses():
    return list(Statement.objects.order_by("pk").values_list("status", flat=True))


def test_approve_all_approves_each_draft_of_the_period_and_posts_it_once(staff_user):
    run, statements = _world()
    result = services.statement_approve_all(actor=staff_user, period="2026-10")
    assert result == services.ApproveAllResult(approved=3, skipped=0)
    assert _statuses() == ["approved", "approved", "approved"]
    assert sorted(JournalEntry.objects.values_list("key", flat=True)) == sorted(f"statement:{s.pk}" for s in statements)
    assert services.statement_approve_all(actor=staff_user, run_id=run.pk) == services.ApproveAllResult(0, 0)
    assert JournalEntry.objects.count() == 3


def test_approve_all_skips_one_approved_meanwhile_and_keeps_the_others(staff_user):
    """Per item: the second statement, approved by someone else between the listing and its
    lock, is refused and counted as skipped; the first and third stay approved."""
    _run, (first, second, third) = _world()
    services.statement_approve(statement=second, actor=staff_user)
    listed = [first, second, third]  # as listed before `second` was approved
    with mock.patch("settlements.services.statements.statement_drafts", return_value=listed):
        result = services.statement_approve_all(actor=staff_user, period="2026-10")
    assert result == services.ApproveAllResult(approved=2, skipped=1)
    assert _statuses() == ["approved", "approved", "approved"]
    assert JournalEntry.objects.count() == 3
    second.refresh_from_db()
    assert second.approved_by == staff_user


def test_approve_all_needs_a_period_or_a_run_and_changes_nothing_without(staff_user):
    _world()
    with pytest.raises(DomainError) as refused:
        services.statement_approve_all(actor=staff_user)
    assert refused.value.code == "period_or_run_required"
    assert _statuses() == ["draft", "draft", "draft"]
    assert JournalEntry.objects.count() == 0


def test_approve_all_cannot_be_nested_in_an_outer_transaction(staff_user):
    """Its per-statement guarantee needs its own transactions: inside another one it
    refuses at once (durable), and nothing is approved."""
    _world()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.statement_approve_all(actor=staff_user, period="2026-10")
    assert _statuses() == ["draft", "draft", "draft"]
    assert JournalEntry.objects.count() == 0


@pytest.fixture
def staff_user():
    return UserFactory(is_staff=True)


# --- What settlement reads of merchants -----------------------------------------------------


def test_merchants_ever_approved_and_the_contracts_in_force():
    under_review = merchant_in_state(MerchantStatus.UNDER_REVIEW)
    offered = merchant_in_state(MerchantStatus.APPROVED)  # contract offered, not accepted yet
    signed = merchant_in_state(MerchantStatus.CONTRACT_SIGNED)
    terminated = merchant_in_state(MerchantStatus.TERMINATED)
    assert under_review.tier_id is None
    assert sorted(merchant_selectors.merchants_ever_approved().values_list("pk", flat=True)) == [
        offered.pk,
        signed.pk,
        terminated.pk,
    ]
    assert sorted(merchant_selectors.accepted_contracts().values_list("merchant_id", flat=True)) == [
        signed.pk,
        terminated.pk,
    ]
