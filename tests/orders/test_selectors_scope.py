"""Selectors answer None for another tenant's row (never Http404): the views turn None into
404, so the access matrix stays as it was, and a service or task may read through a selector
without catching an HTTP exception."""

from __future__ import annotations

import pytest

from catalog import selectors as catalog_selectors
from merchants import selectors as merchant_selectors
from orders import selectors
from orders.models import Address
from settlements import selectors as settlement_selectors
from tests.orders.test_portal_orders import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def test_merchant_facing_selectors_answer_none_for_another_merchant(world):
    mine, theirs = world.mine, world.theirs
    assert selectors.merchant_order_get_for_merchant(world.shop, mine.pk) == mine
    assert selectors.merchant_order_get_for_merchant(world.shop, theirs.pk) is None
    assert catalog_selectors.sku_get_for_merchant(world.shop, world.lamp.pk) == world.lamp
    assert catalog_selectors.sku_get_for_merchant(world.shop, world.mug.pk) is None
    assert catalog_selectors.product_get_for_merchant(world.other_shop, world.lamp.product_id) is None
    assert merchant_selectors.member_get(world.other_shop, world.shop.members.get().pk) is None
    assert settlement_selectors.statement_get_for_merchant(world.shop, 0) is None


def test_buyer_facing_selectors_answer_none_for_another_buyer(world):
    number = world.multi.number
    assert selectors.buyer_order_get(world.buyer, number).pk == world.multi.pk
    assert selectors.buyer_order_get(world.other_buyer, number) is None
    assert selectors.merchant_order_get_for_buyer_by_id(world.other_buyer, world.mine.pk) is None
    address = Address.objects.get(buyer=world.buyer)
    assert selectors.address_get(world.buyer, address.pk) == address
    assert selectors.address_get(world.other_buyer, address.pk) is None


def test_a_missing_public_row_is_none(world):
    assert catalog_selectors.category_get_by_slug("no-such-category") is None
    assert catalog_selectors.product_get_public_page(0) is None
    assert merchant_selectors.merchant_public_get("no-such-shop") is None
