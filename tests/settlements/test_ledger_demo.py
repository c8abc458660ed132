"""The demo shows each kind of money movement in the ledger, the books verify, and a second
seed posts nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from merchants.models import DepositEntry
from settlements.models import JournalEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_catalog(monkeypatch):
    monkeypatch.setattr("demo.products.PRODUCTS_PER_SHOP", 5)


def test_the_demo_ledger_has_every_movement_and_verifies(small_catalog):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: ledger: 0 created" not in out.getvalue()
    kinds = {key.split(":", 1)[0] for key in JournalEntry.objects.values_list("key", flat=True)}
    # Refunds are returned by the refund task after the commit (a worker in `make run`).
    assert {"statement", "payment", "deposit", "payout-sent", "payout", "payout-failed"} <= kinds
    deducted = DepositEntry.objects.get(reference="DEMO-PEN-14")
    refunded = DepositEntry.objects.get(reference="DEMO-REFUND-15")
    assert (deducted.kind, deducted.amount, refunded.kind) == ("deducted", Decimal("-2000.00"), "refunded")
    assert JournalEntry.objects.filter(key__in=[f"deposit:{deducted.pk}", f"deposit:{refunded.pk}"]).count() == 2
    check = io.StringIO()
    call_command("verify_ledger", "--no-post", stdout=check)
    assert check.getvalue().startswith("ok (")

    entries = JournalEntry.objects.count()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: ledger: 0 created" in out.getvalue()
    assert JournalEntry.objects.count() == entries
    assert DepositEntry.objects.filter(reference__in=["DEMO-PEN-14", "DEMO-REFUND-15"]).count() == 2
