"""The demo settlements of `seed_demo` (demo/settlements.py), on PostgreSQL: two
settled months (the first approved, invoiced and paid, the second to review) with a refund
settled with its order, a clawback, a frozen order and a manual adjustment; the ledger
balances, and a second run creates nothing."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.orders import demo_periods, demo_tax_year
from demo.settlements import FAILED_PAYOUT_REASON, _on
from orders.models import Dispute
from settlements import selectors
from settlements.choices import AccountKind, LineKind, PayoutStatus, StatementStatus
from settlements.models import (
    FeeCharge,
    FrozenOrder,
    Invoice,
    JournalEntry,
    ManualAdjustment,
    Payout,
    Penalty,
    SettledOrder,
    SettledRefund,
    SettlementRun,
    Statement,
)

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def small_catalog(monkeypatch):
    # A smaller catalog keeps this quick; tests/catalog/test_demo.py checks the full one.
    monkeypatch.setattr("demo.products.PRODUCTS_PER_SHOP", 5)


def _lines(statement) -> dict:
    return {line.kind: line.amount for line in statement.lines.all()}


def _snapshot() -> dict:
    return {
        "runs": sorted(SettlementRun.objects.values_list("pk", "period", "status")),
        "statements": sorted(Statement.objects.values_list("pk", "period", "status", "payable")),
        "settled_orders": SettledOrder.objects.count(),
        "settled_refunds": SettledRefund.objects.count(),
        "frozen": FrozenOrder.objects.count(),
        "adjustments": sorted(ManualAdjustment.objects.values_list("pk", "statement_id")),
        "entries": JournalEntry.objects.count(),
        "payouts": sorted(Payout.objects.values_list("pk", "status")),
        "invoices": sorted(Invoice.objects.values_list("number", "total")),
    }


def _check_demo_settlements(today: datetime.date) -> None:
    first, second = demo_periods(today)
    # Before them, the tax rebate's December (demo/subsidies.py; tests/settlements/test_subsidy_demo.py).
    assert list(SettlementRun.objects.order_by("period").values_list("period", "status")) == [
        (f"{demo_tax_year(today)}-12", "completed"),
        (str(first), "completed"),
        (str(second), "completed"),
    ]
    # The first month: every demo merchant, approved by finance, invoiced, paid by the admin but
    # the batch's last payout, which the bank returned: that statement stays approved and owed.
    first_statements = list(
        Statement.objects.filter(period=str(first)).select_related("approved_by", "invoice").order_by("pk")
    )
    assert len(first_statements) == 4
    returned = Payout.objects.get(status=PayoutStatus.FAILED)
    assert returned == Payout.objects.order_by("pk").last()
    assert (returned.failure_reason, returned.marked_by.email) == (FAILED_PAYOUT_REASON, "admin@demo.local")
    assert returned.marked_at == _on(first.next, 7, 10)
    owed = returned.statement
    assert (owed.status, owed.period, returned.amount) == (StatementStatus.APPROVED, str(first), owed.payable)
    assert list(selectors.statements_to_pay()) == [owed]
    # Its ledger: sent to the bank, then reversed: the merchant is owed the payable again.
    for key, transit in [
        (f"payout-sent:{returned.reference}", -owed.payable),
        (f"payout-failed:{returned.reference}", owed.payable),
    ]:
        postings = dict(JournalEntry.objects.get(key=key).postings.values_list("account__kind", "amount"))
        assert postings == {AccountKind.PAYOUTS_IN_TRANSIT: transit, AccountKind.MERCHANT_PAYABLE: -transit}, key
    assert not JournalEntry.objects.filter(key=f"payout:{returned.reference}").exists()
    for statement in first_statements:
        if statement == owed:
            assert selectors.statement_matches_ledger(statement)
            continue
        assert statement.status == StatementStatus.PAID
        assert statement.approved_by.email == "finance@demo.local"
        assert statement.invoice.issued_by.email == "finance@demo.local"
        lines = _lines(statement)
        assert statement.invoice.commission == -(
            lines[LineKind.COMMISSION] + lines.get(LineKind.COMMISSION_RETURNED, 0)
        )
        payout = statement.payouts.get()
        assert (payout.status, payout.amount, payout.marked_by.email) == (
            PayoutStatus.PAID,
            statement.payable,
            "admin@demo.local",
        )
        assert selectors.statement_matches_ledger(statement)
    assert len({s.invoice.number for s in first_statements}) == 4
    assert len({p.batch_id for p in Payout.objects.filter(statement__period=str(first))}) == 1

    # A refund settled with its order in the first month (the return received).
    assert SettledRefund.objects.filter(
        statement__period=str(first), refund__merchant_order__settlement__statement__period=str(first)
    ).exists()

    # The second month: to review, nothing posted or paid yet.
    second_statements = Statement.objects.filter(period=str(second))
    assert second_statements.count() >= 3
    assert set(second_statements.values_list("status", flat=True)) == {StatementStatus.DRAFT}
    assert not JournalEntry.objects.filter(statement__period=str(second)).exists()
    assert not Invoice.objects.filter(statement__period=str(second)).exists()

    # The clawback: a refund deducted in the second month, its order settled in the first.
    clawback = SettledRefund.objects.select_related("statement", "refund__merchant_order__settlement__statement").get(
        statement__period=str(second)
    )
    assert clawback.refund.merchant_order.settlement.statement.period == str(first)
    assert clawback.refund.completed_at >= first.end
    assert _lines(clawback.statement)[LineKind.REFUNDS] == -clawback.refund.amount < 0

    # The order frozen by the open dispute: listed in the second month, not paid.
    frozen = FrozenOrder.objects.select_related("statement", "merchant_order").get()
    dispute = Dispute.objects.get(status="open")
    assert frozen.statement.period == str(second)
    assert frozen.merchant_order == dispute.request.merchant_order
    assert frozen.amount == frozen.merchant_order.paid_total
    assert not SettledOrder.objects.filter(merchant_order=frozen.merchant_order).exists()

    # The manual adjustment, settled in the second month.
    adjustment = ManualAdjustment.objects.select_related("statement").get()
    assert adjustment.statement.period == str(second)
    assert _lines(adjustment.statement)[LineKind.ADJUSTMENTS] == adjustment.amount

    # Penalties and service fees (demo/charges.py, issue #14), in the second month: a lapsed and
    # a rejected penalty deducted, an upheld one cancelled, one taken from the deposit; fees.
    second_lines = {(s.merchant_id, line.kind): line.amount for s in second_statements for line in s.lines.all()}
    assert sorted(amount for (_m, kind), amount in second_lines.items() if kind == LineKind.PENALTIES) == [
        Decimal("-2000.00"),
        Decimal("-500.00"),
    ]
    for statement in second_statements:
        charged = sum(c.amount for c in statement.fee_charges.all())
        assert second_lines.get((statement.merchant_id, LineKind.SERVICE_FEES), 0) == -charged
    assert set(FeeCharge.objects.filter(statement__period=str(second)).values_list("kind", flat=True)) >= {
        "subscription",
        "keyword_bidding",
        "homepage_slot",
    }
    assert sorted(Penalty.objects.values_list("status", "settled_via")) == [
        ("cancelled", ""),
        ("deducted", "deposit"),
        ("deducted", "statement"),
        ("deducted", "statement"),
    ]
    assert FeeCharge.objects.filter(kind="technical_service").count() == 4  # one per live demo merchant

    # Every statement adds up; the ledger balances and the reconciliations find nothing.
    for statement in Statement.objects.all():
        assert statement.payable == sum(_lines(statement).values())
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("ok (")
    assert selectors.reconcile(period=str(first)).ok
    assert selectors.reconcile(period=str(second)).ok


def test_demo_settlements_and_a_second_run_creates_nothing(small_catalog):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: settlements: 8 created" in out.getvalue()
    _check_demo_settlements(timezone.localdate())

    before = _snapshot()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: orders: 0 created" in out.getvalue()
    assert "seed_demo: settlements: 0 created" in out.getvalue()
    assert "seed_demo: charges: 0 created" in out.getvalue()
    assert _snapshot() == before


def test_demo_settlements_just_after_midnight_on_the_first_after_february(small_catalog):
    # Today is 1 March 00:10: the second month (February) has just ended and is short.
    now = datetime.datetime(2027, 3, 1, 0, 10, tzinfo=SH)
    with mock.patch("django.utils.timezone.now", return_value=now):
        call_command("seed_demo", stdout=io.StringIO())
    _check_demo_settlements(now.date())
    assert SettlementRun.objects.get(period="2027-02").started_at == now
