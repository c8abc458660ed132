"""The cart's statements compiled once per process (`_add_units_statement`, `_cart_statement`)
must not depend on when or for whom they were compiled: only the owner or SKU changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.selectors import buyer as buyer_selectors
from orders.services import cart as cart_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def recompiled():
    """Compile afresh, and leave fresh caches behind for the next test."""
    cart_services._add_units_statement.cache_clear()
    buyer_selectors._cart_statement.cache_clear()
    yield
    cart_services._add_units_statement.cache_clear()
    buyer_selectors._cart_statement.cache_clear()


@pytest.mark.parametrize("owner", ["id", "buyer_id", "session_key"])
def test_add_statement_is_the_same_whenever_compiled_and_has_one_sku_place(recompiled, monkeypatch, owner):
    sql, params, index = cart_services._add_units_statement(owner)
    assert params[index] == cart_services._SKU_MARKER
    assert list(params).count(cart_services._SKU_MARKER) == 1
    assert f"FROM orders_cart WHERE {owner} = %s FOR UPDATE" in sql
    cart_services._add_units_statement.cache_clear()
    later = timezone.now() + timedelta(days=400)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert cart_services._add_units_statement(owner) == (sql, params, index)


def test_add_statement_finds_carts_only_by_their_owner_columns(recompiled):
    with pytest.raises(ValueError):
        cart_services._add_units_statement("id = 0 OR 1")


@pytest.mark.parametrize("owner", ["cart", "buyer", "session"])
def test_cart_statement_is_the_same_whenever_compiled_and_has_one_owner_place(recompiled, monkeypatch, owner):
    sql, params, index = buyer_selectors._cart_statement(owner)
    marker = buyer_selectors._CART_OWNERS[owner][1]
    assert params[index] == marker and list(params).count(marker) == 1
    buyer_selectors._cart_statement.cache_clear()
    later = timezone.now() + timedelta(days=400)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert buyer_selectors._cart_statement(owner) == (sql, params, index)
