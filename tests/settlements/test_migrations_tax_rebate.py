"""Migration 0012: a tax-rebate programme stored with 0011's parameters (a threshold and one
rate per year) gets revenue steps and a number of years; others keep theirs."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from settlements.models import SubsidyProgramme
from settlements.services import subsidies

BEFORE = [("settlements", "0011_subsidy_programmes_accruals_grants")]
AFTER = [("settlements", "0012_grant_tax_year")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_tax_rebate_stored_with_yearly_rates_gets_revenue_steps():
    try:
        apps = _migrate(BEFORE)
        programme = apps.get_model("settlements", "SubsidyProgramme")
        old = {"min_revenue": "5000000.00", "rates": ["0.50", "0.40", "0.30"]}
        programme.objects.create(
            code="tax-rebate", name="税收返还", kind="tax_rebate", rules=old, valid_from=datetime.date(2026, 1, 1)
        )
        programme.objects.create(
            code="training", name="培训", kind="training", rules={"rate": "0.80"}, valid_from=datetime.date(2026, 1, 1)
        )
        _migrate(AFTER)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    rules = dict(SubsidyProgramme.objects.values_list("code", "rules"))
    assert rules == {"tax-rebate": subsidies.DEFAULT_PROGRAMMES["tax-rebate"]["rules"], "training": {"rate": "0.80"}}
    # Valid for the new rule.
    assert subsidies.programme_rules_clean(kind="tax_rebate", rules=rules["tax-rebate"]) == rules["tax-rebate"]
