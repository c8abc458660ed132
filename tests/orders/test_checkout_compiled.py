"""The checkout's reads compiled once (marketplace/compiled.py): the SKU read and the stock's
locking read give what their querysets give, for every call's own values, on the calling
thread's connection."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Stock
from marketplace.compiled import CompiledRead, id_markers
from orders.services import CheckoutItem, checkout
from promotions.services import flash
from tests.orders.test_portal_orders import build_world
from tests.promotions.flash_factories import live_sale

pytestmark = pytest.mark.django_db


def _facts(sku) -> tuple:
    """What the checkout reads of a SKU read: its columns, annotations and joined rows."""
    rate = getattr(sku.merchant, "shipping_rate", None)  # none set: the default fee
    return (
        sku.pk,
        sku.code,
        sku.price,
        sku.is_active,
        sku.contract_revenue_share_rate,
        sku.available_units,
        sku.category_path,
        sku.flash_held,
        sku.product.title,
        sku.product.category.commission_rate,
        sku.product.category.is_fresh,
        sku.merchant.shop_name,
        sku.merchant.status,
        (rate.flat_fee, rate.free_over) if rate is not None else None,
    )


def _orm(ids, buyer, now) -> dict:
    return {sku.pk: _facts(sku) for sku in checkout._checkout_skus(ids=ids, buyer_id=buyer.pk, now=now)}


def _compiled(ids, buyer) -> dict:
    skus = checkout._load_skus([CheckoutItem(pk, 1) for pk in ids], buyer=buyer)
    return {pk: _facts(sku) for pk, sku in skus.items()}


def test_the_compiled_sku_read_gives_the_querysets_rows_for_each_calls_values():
    world = build_world()
    buyer, other = world.other_buyer, world.buyer
    ids = sorted([world.lamp.pk, world.mug.pk])
    first = _compiled(ids, buyer)
    assert first == _orm(ids, buyer, timezone.now())
    assert [facts[5] for facts in first.values()] == [
        Stock.objects.get(sku=world.lamp).available,
        Stock.objects.get(sku=world.mug).available,
    ]
    # The related rows came with the read: nothing more is asked for them.
    skus = checkout._load_skus([CheckoutItem(pk, 1) for pk in ids], buyer=buyer)
    with CaptureQueriesContext(connection) as reading:
        [_facts(sku) for sku in skus.values()]
    assert len(reading) == 0

    # New values are read, not the first call's: more stock, another set of ids, a flash hold.
    catalog_services.stock_receive(
        sku=world.mug, warehouse=world.wh, quantity=7, actor=world.other_shop.owner, merchant=world.other_shop
    )
    assert _compiled(ids, buyer)[world.mug.pk][5] == first[world.mug.pk][5] + 7
    assert _compiled([world.cable.pk], buyer) == _orm([world.cable.pk], buyer, timezone.now())
    sale = live_sale(sku=world.lamp, price="199.99", special="99.00")
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    held = _compiled(ids, buyer)
    assert (held[world.lamp.pk][7], held[world.mug.pk][7]) == (True, False)
    assert held == _orm(ids, buyer, timezone.now())
    # Another buyer holds nothing; the time is this call's (the hold has expired an hour on).
    assert _compiled(ids, other)[world.lamp.pk][7] is False
    later = timezone.now() + timedelta(hours=1)
    assert _orm(ids, buyer, later)[world.lamp.pk][7] is False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkout.timezone, "now", lambda: later)
        assert _compiled(ids, buyer)[world.lamp.pk][7] is False


def test_a_compiled_read_refuses_a_marker_it_cannot_find_once():
    world = build_world()
    from catalog.models import SKU

    twice = CompiledRead(lambda *, ids: SKU.objects.filter(pk__in=ids).exclude(pk__in=ids))
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.read(1, markers={"ids": id_markers(1)}, values={"ids": [world.lamp.pk]})
    absent = CompiledRead(lambda *, ids: SKU.objects.filter(code="LAMP"))
    with pytest.raises(ValueError, match="appears 0 times"):
        absent.read(1, markers={"ids": id_markers(1)}, values={"ids": [world.lamp.pk]})


@pytest.mark.django_db(transaction=True)
def test_compiled_reads_run_on_each_threads_own_connection():
    world = build_world()
    buyer = world.other_buyer
    ids = sorted([world.lamp.pk, world.mug.pk])
    checkout._load_skus([CheckoutItem(pk, 1) for pk in ids], buyer=buyer)  # compiled on this thread
    # This thread has changed the lamp's stock without committing: another thread's read must
    # run on its own connection (it sees the committed figures), never on this one.
    before = Stock.objects.get(sku=world.lamp)
    with transaction.atomic():
        Stock.objects.filter(pk=before.pk).update(on_hand=before.on_hand + 50)
        seen, errors = {}, []

        def read() -> None:
            try:
                with CaptureQueriesContext(connections["default"]) as reading:
                    skus = checkout._load_skus([CheckoutItem(pk, 1) for pk in ids], buyer=buyer)
                seen["units"] = skus[world.lamp.pk].available_units
                seen["queries"] = len(reading)
                seen["own"] = connections["default"] is not connection
            except BaseException as error:  # any error fails the test
                errors.append(error)
            finally:
                connections["default"].close()

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=60)
        assert not errors
        assert seen == {"units": before.available, "queries": 1, "own": True}
        # This thread's own read sees its own change.
        assert checkout._load_skus([CheckoutItem(world.lamp.pk, 1)], buyer=buyer)[world.lamp.pk].available_units == (
            before.available + 50
        )
