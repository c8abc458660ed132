"""The cart's statements compiled once per process (`_add_units_statement`, `_cart_statement`)
must not depend on when or for whom they were compiled: only the owner or SKU changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.selectors import buyer as buyer_selectors
from orders.services import cart as cart_services

pytestmark = pytest.mark.django_db


def _clear():
    cart_services._add_units_statement.cache_clear()
    buyer_selectors._cart_statement.cache_clear()
    buyer_selectors.cart_lines_statement.cache_clear()


@pytest.fixture
def recompiled():
    """Compile afresh, and leave fresh caches behind for the next test."""
    _clear()
    yield
    _clear()


@pytest.mark.parametrize("read_lines", [False, True])
@pytest.mark.parametrize("owner", ["id", "buyer_id", "session_key"])
def test_add_statement_is_the_same_whenever_compiled_and_has_one_sku_place(recompiled, monkeypatch, owner, read_lines):
    sql, (params, read_params), index = cart_services._add_units_statement(owner, read_lines)
    assert params[index] == cart_services._SKU_MARKER
    assert [*params, *read_params].count(cart_services._SKU_MARKER) == 1
    assert f"FROM orders_cart WHERE {owner} = %s FOR UPDATE" in sql
    assert sql.count("%s") == 7 + len(params) + len(read_params)  # the add's own 7
    assert ('FROM lines "orders_cartitem"' in sql) is read_lines
    _clear()
    later = timezone.now() + timedelta(days=400)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert cart_services._add_units_statement(owner, read_lines) == (sql, (params, read_params), index)


def test_the_cart_read_after_an_add_is_the_cart_views_query_over_its_lines(recompiled):
    sql, params = buyer_selectors.cart_lines_statement("lines")
    view_sql, view_params, index = buyer_selectors._cart_statement("cart")
    # The same columns, joins, sub-selects and order; the lines from `lines`, no owner filter,
    # and the columns of the add's statement at the end of the select list.
    extra = ', "orders_cartitem"."changed", "orders_cartitem"."cart_buyer_id", '
    extra += '"orders_cartitem"."cart_session_key", "orders_cartitem"."cart_updated_at"'
    expected = view_sql.replace(' FROM "orders_cartitem" ', f'{extra} FROM lines "orders_cartitem" ')
    assert sql == expected.replace(' WHERE "orders_cartitem"."cart_id" = %s', "")
    assert params == view_params[:index] + view_params[index + 1 :]
    with pytest.raises(ValueError):
        buyer_selectors.cart_lines_statement("lines; DELETE")


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
