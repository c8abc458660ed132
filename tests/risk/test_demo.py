"""The demo's risk alerts (issue #15): alerts of several kinds and one payout hold; a second
seed creates nothing."""

import io

import pytest
from django.core.management import call_command

from risk.models import AlertRule, RiskAlert
from settlements.models import PayoutHold

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_catalog(monkeypatch):
    monkeypatch.setattr("demo.products.PRODUCTS_PER_SHOP", 5)


def test_the_demo_raises_alerts_of_several_kinds_and_holds_one_payout(small_catalog):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    kinds = set(RiskAlert.objects.values_list("kind", flat=True))
    assert "payout_hold" in kinds and len(kinds) >= 3, (kinds, out.getvalue())
    assert PayoutHold.objects.filter(status="open").count() == 1
    assert AlertRule.objects.filter(owner__isnull=False).count() == AlertRule.objects.count() == 13
    before = (RiskAlert.objects.count(), PayoutHold.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (RiskAlert.objects.count(), PayoutHold.objects.count()) == before
