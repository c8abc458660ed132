"""The demo shows the subsidies (issue #14): the programmes of domain.md, logistics accruals
paid in the demo statements, an approved grant paid in the second month, a refused and a
waiting application; the ledger still balances and reconciles; a second seed adds nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.orders import demo_periods
from settlements import selectors
from settlements.choices import GrantStatus, LineKind, ProgrammeKind
from settlements.models import GrantApplication, StatementLine, SubsidyAccrual, SubsidyProgramme
from tests.settlements.test_demo import small_catalog  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("small_catalog")
def test_the_demo_shows_every_subsidy_kind():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: subsidies: 6 programmes, 3 grant applications" in out.getvalue()
    first, second = demo_periods(timezone.localdate())
    assert set(SubsidyProgramme.objects.values_list("kind", flat=True)) == set(ProgrammeKind.values)

    accruals = SubsidyAccrual.objects.select_related("statement")
    assert accruals.exists()
    assert {a.statement.period for a in accruals} <= {str(first), str(second)}
    for statement_id, total in StatementLine.objects.filter(kind=LineKind.LOGISTICS_SUBSIDY).values_list(
        "statement_id", "amount"
    ):
        assert total == sum(a.amount for a in accruals if a.statement_id == statement_id)

    grants = {g.status: g for g in GrantApplication.objects.select_related("statement")}
    assert set(grants) == {GrantStatus.PAID, GrantStatus.REFUSED, GrantStatus.SUBMITTED}
    paid = grants[GrantStatus.PAID]
    # Fit-out: 20 % of 186,500.00 = 37,300.00, paid in the second month.
    assert (str(paid.approved_amount), paid.statement.period) == ("37300.00", str(second))
    assert (
        StatementLine.objects.get(statement=paid.statement, kind=LineKind.GRANT_SUBSIDY).amount == paid.approved_amount
    )

    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("ok (")
    assert selectors.reconcile(period=str(first)).ok
    assert selectors.reconcile(period=str(second)).ok

    before = (SubsidyProgramme.objects.count(), GrantApplication.objects.count(), SubsidyAccrual.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        SubsidyProgramme.objects.count(),
        GrantApplication.objects.count(),
        SubsidyAccrual.objects.count(),
    ) == before
