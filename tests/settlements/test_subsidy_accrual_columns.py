"""The logistics accrual from orders placed and shipped through the services only: the
order's columns (`has_special_category` from checkout, `shipped_carrier` from the ship
transition) are all the run reads, and a category flagged fresh after the order was placed
does not change what the order earns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Category
from orders.models import MerchantOrder
from settlements.models import SubsidyAccrual
from tests.settlements.test_runs import Shop, _settle, at
from tests.settlements.test_subsidy_accruals import logistics

pytestmark = pytest.mark.django_db


def test_an_order_placed_fresh_and_shipped_with_a_designated_carrier_accrues_the_special_rate():
    logistics(carriers=("sf",))
    fresh_shop, plain_shop = Shop(), Shop()
    Category.objects.filter(pk=fresh_shop.category.pk).update(is_fresh=True)
    fresh = fresh_shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1, 9), completed=at(2026, 10, 2, 10))
    plain = plain_shop.completed_order([("10.00", 1)], placed=at(2026, 10, 1, 9), completed=at(2026, 10, 2, 11))
    # Flagged after placement: the order keeps what it was placed with.
    Category.objects.filter(pk=plain_shop.category.pk).update(is_cross_border=True)

    assert list(
        MerchantOrder.objects.filter(pk__in=[fresh.pk, plain.pk])
        .order_by("pk")
        .values_list("shipped_carrier", "has_special_category")
    ) == [("SF", True), ("SF", False)]

    _settle("2026-10", now=at(2026, 11, 1, 1))

    assert list(SubsidyAccrual.objects.order_by("merchant_order_id").values_list("merchant_order_id", "amount")) == [
        (fresh.pk, Decimal("1.00")),
        (plain.pk, Decimal("0.50")),
    ]
