"""Merchant-side services take the acting merchant and check, under the lock, that the row is
theirs: another merchant gets `not_found` (404) and nothing changes (issue #10, finding 12).
The services are called directly, as a new caller would, without any selector in front."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import Http404

from catalog import services as catalog_services
from catalog.services.imports import ImportRow, stock_import_apply
from catalog.services.stock import stock_set_levels
from marketplace.errors import NotFoundError
from marketplace.forms import add_domain_error
from orders import services
from orders.services.fulfilment import ShipRow, ship_csv_apply
from tests.orders.test_portal_orders import World, build_world, order_state, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def _refused(call) -> None:
    with pytest.raises(NotFoundError) as info:
        call()
    assert (info.value.code, info.value.status_code) == ("not_found", 404)


def test_another_merchant_cannot_answer_after_sales(world):
    mine = ship(world.mine)
    line = mine.lines.get()
    refund = services.after_sales_request_create(
        order=mine, buyer=world.buyer, kind="refund", reason="Broken", items=[(line.pk, 1, Decimal("10.00"))]
    )
    before = order_state(mine)
    stranger = world.other_shop
    _refused(lambda: services.after_sales_accept(request=refund, merchant=stranger, actor=stranger.owner))
    _refused(lambda: services.after_sales_reject(request=refund, merchant=stranger, actor=stranger.owner, note="No"))
    _refused(lambda: services.after_sales_accept(request=refund, merchant=None, actor=None))
    assert order_state(mine) == before

    # A return accepted by its merchant: the goods cannot be received by another.
    services.after_sales_withdraw(request=refund, buyer=world.buyer)
    ret = services.after_sales_request_create(
        order=mine, buyer=world.buyer, kind="return_refund", reason="Big", items=[(line.pk, 1, Decimal("10.00"))]
    )
    services.after_sales_accept(request=ret, merchant=world.shop, actor=world.shop.owner)
    before = order_state(mine)
    _refused(
        lambda: services.after_sales_return_received(
            request=ret, merchant=stranger, actor=stranger.owner, warehouse=world.wh
        )
    )
    assert order_state(mine) == before
    line.refresh_from_db()
    assert line.returned_quantity == 0


def test_another_merchant_cannot_ship(world):
    before = order_state(world.mine, world.theirs)
    stranger = world.other_shop
    _refused(
        lambda: services.merchant_order_ship(
            order=world.mine, merchant=stranger, actor=stranger.owner, carrier="SF", tracking_number="X"
        )
    )
    _refused(
        lambda: services.merchant_order_ship_parcel(
            order=world.mine, merchant=stranger, actor=stranger.owner, carrier="SF", tracking_number="X"
        )
    )
    _refused(
        lambda: ship_csv_apply(
            plan=[ShipRow(2, world.mine, "SF", "X"), ShipRow(3, world.theirs, "SF", "Y")],
            merchant=stranger,
            actor=stranger.owner,
        )
    )
    assert order_state(world.mine, world.theirs) == before
    # Its own merchant ships it.
    shipped = services.merchant_order_ship_parcel(
        order=world.mine, merchant=world.shop, actor=world.shop.owner, carrier="SF", tracking_number="X"
    )
    assert [o.status for o in shipped] == ["shipped"]


def test_another_merchant_cannot_touch_stock(world):
    before = order_state()
    stranger = world.other_shop
    lamp = world.lamp
    _refused(
        lambda: catalog_services.stock_receive(
            merchant=stranger, sku=lamp, warehouse=world.wh, quantity=5, actor=stranger.owner
        )
    )
    _refused(
        lambda: catalog_services.stock_adjust(
            merchant=stranger, sku=lamp, warehouse=world.wh, on_hand=0, actor=stranger.owner, reason="Count"
        )
    )
    _refused(
        lambda: stock_set_levels(
            merchant=stranger, levels=[(world.mug, world.wh, 9), (lamp, world.wh, 0)], actor=stranger.owner, reason="x"
        )
    )
    _refused(
        lambda: stock_import_apply(
            plan=[ImportRow(line=2, sku=lamp, warehouse=world.wh, on_hand=0)], merchant=stranger, actor=stranger.owner
        )
    )
    assert order_state() == before


def test_pages_answer_a_not_found_refusal_with_404():
    with pytest.raises(Http404):
        add_domain_error(object(), NotFoundError(message="No such order."))
