"""The demo shows the subsidies (issue #14): the programmes of domain.md, logistics accruals
paid in the demo statements, an approved grant paid in the second month, a refused and a
waiting application, the tax rebate of the demo's tax year paid in the first month; the
ledger still balances and reconciles; a second seed adds nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.merchants import TAX_REBATE_SHOP
from demo.orders import demo_periods, demo_tax_year
from demo.settlements import _on
from orders.models import MerchantOrder
from settlements import selectors
from settlements.choices import GrantStatus, LineKind, ProgrammeKind, StatementStatus
from settlements.models import (
    GrantApplication,
    SettledOrder,
    SettlementRun,
    Statement,
    StatementLine,
    SubsidyAccrual,
    SubsidyProgramme,
)
from settlements.periods import Period
from tests.settlements.test_demo import small_catalog  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("small_catalog")
def test_the_demo_shows_every_subsidy_kind():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: subsidies: 6 programmes, 4 grant applications" in out.getvalue(), out.getvalue()
    first, second = demo_periods(timezone.localdate())
    assert set(SubsidyProgramme.objects.values_list("kind", flat=True)) == set(ProgrammeKind.values)

    accruals = SubsidyAccrual.objects.select_related("statement")
    assert accruals.exists()
    assert {a.statement.period for a in accruals} <= {str(first), str(second)}
    for statement_id, total in StatementLine.objects.filter(kind=LineKind.LOGISTICS_SUBSIDY).values_list(
        "statement_id", "amount"
    ):
        assert total == sum(a.amount for a in accruals if a.statement_id == statement_id)

    grants = {
        (g.programme.kind, g.status): g for g in GrantApplication.objects.select_related("statement", "programme")
    }
    assert set(grants) == {
        (ProgrammeKind.FIT_OUT, GrantStatus.PAID),
        (ProgrammeKind.TRAINING, GrantStatus.REFUSED),
        (ProgrammeKind.FIT_OUT, GrantStatus.SUBMITTED),
        (ProgrammeKind.TAX_REBATE, GrantStatus.PAID),
    }
    paid = grants[ProgrammeKind.FIT_OUT, GrantStatus.PAID]
    # Fit-out: 20 % of 186,500.00 = 37,300.00, paid in the second month.
    assert (str(paid.approved_amount), paid.statement.period) == ("37300.00", str(second))
    assert (
        StatementLine.objects.get(statement=paid.statement, kind=LineKind.GRANT_SUBSIDY).amount == paid.approved_amount
    )

    # The tax rebate: 优选电器 went live in the tax year, its December (settled, approved and
    # paid on the run of 1 January) sold more than ¥5,000,000: 30 % of ¥420,000.00.
    year = demo_tax_year(timezone.localdate())
    december = f"{year}-12"
    rebate = grants[ProgrammeKind.TAX_REBATE, GrantStatus.PAID]
    assert (rebate.merchant.owner.email, rebate.tax_year) == (TAX_REBATE_SHOP, year)
    assert timezone.localtime(rebate.merchant.live_since).year == year
    assert (str(rebate.invoiced_amount), str(rebate.rate), str(rebate.approved_amount)) == (
        "420000.00",
        "0.3000",
        "126000.00",
    )
    assert rebate.decided_by.email == "ops@demo.local"
    assert rebate.statement.period == str(first)
    assert StatementLine.objects.get(statement=rebate.statement, kind=LineKind.GRANT_SUBSIDY).amount == Decimal(
        "126000.00"
    )
    run = SettlementRun.objects.get(period=december)
    assert (run.status, run.started_at) == ("completed", _on(Period(year + 1, 1), 1, 2))
    december_statement = Statement.objects.get(period=december)
    assert (december_statement.merchant_id, december_statement.status) == (rebate.merchant_id, StatementStatus.PAID)
    settled = SettledOrder.objects.filter(statement=december_statement)
    revenue = sum(s.merchant_order.base_total for s in settled.select_related("merchant_order"))
    assert rebate.yearly_revenue == revenue == selectors.merchant_yearly_revenue(rebate.merchant_id, year)
    assert Decimal("5000000.00") <= revenue < Decimal("10000000.00")
    assert not SubsidyAccrual.objects.filter(statement=december_statement).exists()
    assert selectors.reconcile(period=december).ok

    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("ok (")
    assert selectors.reconcile(period=str(first)).ok
    assert selectors.reconcile(period=str(second)).ok

    def counts():
        return (
            SubsidyProgramme.objects.count(),
            GrantApplication.objects.count(),
            SubsidyAccrual.objects.count(),
            sorted(SettlementRun.objects.values_list("period", flat=True)),
            Statement.objects.count(),
            MerchantOrder.objects.count(),
        )

    before = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == before
