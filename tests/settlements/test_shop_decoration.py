"""Shop decoration is a value-added service (domain.md lists it with keyword bidding and
home-page slots, issue #14): offered by default, bought in the portal or the API, billed
once per purchase and deducted in the next statement's service fees like the others."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from settlements import services
from settlements.choices import VALUE_ADDED_KINDS, FeeKind
from settlements.defaults import ensure_default_charges
from settlements.models import FeeCharge, JournalEntry, Statement, ValueAddedService
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _lines, _settle, at

pytestmark = pytest.mark.django_db


def test_shop_decoration_is_offered_bought_once_and_deducted_in_the_statement(client):
    ensure_default_charges()
    assert FeeKind.SHOP_DECORATION in VALUE_ADDED_KINDS
    decoration = ValueAddedService.objects.get(kind=FeeKind.SHOP_DECORATION)
    assert (decoration.name, decoration.price, decoration.active) == (
        "店铺装修（模板与设计服务）",
        Decimal("3000.00"),
        True,
    )
    shop = Shop()
    client.force_login(shop.merchant.owner)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 12, 10)):
        for _ in range(2):  # the form resubmitted: billed once
            response = client.post("/portal/statements/fees/buy", {"service": decoration.pk, "reference": "deco-1"})
            assert response.status_code == 302
    charge = FeeCharge.objects.get(merchant=shop.merchant)
    assert (charge.kind, charge.gross, charge.relief, charge.amount, charge.billed_on.isoformat()) == (
        FeeKind.SHOP_DECORATION,
        Decimal("3000.00"),
        Decimal("0.00"),
        Decimal("3000.00"),
        "2026-10-12",
    )
    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(merchant=shop.merchant, period="2026-10")
    assert _lines(october) == {"service_fees": Decimal("-3000.00")}
    assert october.payable == Decimal("-3000.00")
    charge.refresh_from_db()
    assert charge.statement == october
    services.statement_approve(statement=october, actor=UserFactory(is_staff=True))
    postings = {
        p.account.kind: p.amount for p in JournalEntry.objects.get(key=f"statement:{october.pk}").postings.all()
    }
    assert postings["service_fee_revenue"] == Decimal("-3000.00")
