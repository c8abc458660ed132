"""The listing keys on the product row (catalog.services.listing): `in_stock` and
`min_price` stay exact through product, SKU, price and stock changes; a stock write that
crosses nothing reads and writes no product row; two transactions emptying the last units of
two SKUs of one product leave the flag false."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.errors import CatalogConflict
from catalog.models import Product, Stock
from catalog.services import StockLine
from catalog.services.listing import listing_refresh_products, listing_stocks_changed
from catalog.services.stock import stock_set_levels
from tests.catalog.factories import live_merchant, product, warehouse

pytestmark = pytest.mark.django_db


def keys(item: Product) -> tuple[bool, Decimal | None]:
    item.refresh_from_db(fields=["in_stock", "min_price"])
    return item.in_stock, item.min_price


def row_version(item: Product) -> int:
    """The product row's xmin: it changes exactly when the row is written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text::bigint FROM catalog_product WHERE id = %s", [item.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def shop():
    merchant, (category,) = live_merchant()
    return merchant, category


def two_sku_product(shop):
    merchant, category = shop
    item = product(merchant, category, skus=[{"code": "L-A", "price": "30.00"}, {"code": "L-B", "price": "20.00"}])
    a, b = item.skus.order_by("code")
    return item, a, b


def test_in_stock_follows_receipts_reservations_releases_shipments_and_adjustments(shop):
    merchant, _ = shop
    item, a, _b = two_sku_product(shop)
    store = warehouse()
    assert keys(item) == (False, Decimal("20.00"))  # no stock row yet

    services.stock_receive(merchant=merchant, sku=a, warehouse=store, quantity=2, actor=None)
    assert keys(item) == (True, Decimal("20.00"))
    services.stock_reserve(lines=[StockLine(a.pk, store.pk, 2)], reference="order-1")
    assert keys(item) == (False, Decimal("20.00"))
    services.stock_release(lines=[StockLine(a.pk, store.pk, 1)], reference="order-1")
    assert keys(item) == (True, Decimal("20.00"))
    services.stock_reserve(lines=[StockLine(a.pk, store.pk, 1)], reference="order-2")
    assert keys(item) == (False, Decimal("20.00"))
    services.stock_ship(lines=[StockLine(a.pk, store.pk, 2)], reference="order-1")
    assert keys(item) == (False, Decimal("20.00"))
    services.stock_adjust(merchant=merchant, sku=a, warehouse=store, on_hand=5, actor=None, reason="found")
    assert keys(item) == (True, Decimal("20.00"))
    services.stock_adjust(merchant=merchant, sku=a, warehouse=store, on_hand=0, actor=None, reason="lost")
    assert keys(item) == (False, Decimal("20.00"))
    assert Stock.objects.get(sku=a).on_hand == 0


def test_in_stock_follows_bulk_levels(shop):
    merchant, _ = shop
    item, a, b = two_sku_product(shop)
    store = warehouse()
    stock_set_levels(merchant=merchant, levels=[(a, store, 3), (b, store, 0)], actor=None, reason="import")
    assert keys(item) == (True, Decimal("20.00"))
    stock_set_levels(merchant=merchant, levels=[(a, store, 0)], actor=None, reason="import")
    assert keys(item) == (False, Decimal("20.00"))


def test_in_stock_and_min_price_follow_sku_changes(shop):
    merchant, _ = shop
    item, a, b = two_sku_product(shop)
    store = warehouse()
    services.stock_receive(merchant=merchant, sku=b, warehouse=store, quantity=1, actor=None)
    assert keys(item) == (True, Decimal("20.00"))

    services.sku_update(sku=b, actor=merchant.owner, data={"price": "35.00"})
    assert keys(item) == (True, Decimal("30.00"))
    # The only stocked SKU is taken off sale: nothing of the product can be bought.
    services.sku_update(sku=b, actor=merchant.owner, data={"is_active": False})
    assert keys(item) == (False, Decimal("30.00"))
    services.sku_update(sku=b, actor=merchant.owner, data={"is_active": True})
    assert keys(item) == (True, Decimal("30.00"))
    services.sku_create(product=item, actor=merchant.owner, data={"code": "L-C", "price": "9.90"})
    assert keys(item) == (True, Decimal("9.90"))
    services.sku_update(sku=a, actor=merchant.owner, data={"is_active": False})
    assert keys(item) == (True, Decimal("9.90"))


def test_a_stock_write_that_crosses_nothing_reads_and_writes_no_product_row(shop):
    merchant, _ = shop
    item, a, _b = two_sku_product(shop)
    store = warehouse()
    services.stock_receive(merchant=merchant, sku=a, warehouse=store, quantity=10, actor=None)
    before = row_version(item)
    with CaptureQueriesContext(connection) as captured:
        services.stock_reserve(lines=[StockLine(a.pk, store.pk, 3)], reference="order-1")
    assert not [q for q in captured if "catalog_product" in q["sql"]]
    assert row_version(item) == before
    assert keys(item) == (True, Decimal("20.00"))

    with CaptureQueriesContext(connection) as captured:
        listing_stocks_changed([(a.pk, 7, 4), (a.pk, 0, 0)])
    assert len(captured) == 0


def test_a_recomputation_that_finds_the_keys_right_does_not_write_the_row(shop):
    item, _a, _b = two_sku_product(shop)
    before = row_version(item)
    listing_refresh_products([item.pk])
    assert row_version(item) == before
    assert keys(item) == (False, Decimal("20.00"))


def test_a_stale_flag_is_corrected_by_a_recomputation(shop):
    merchant, _ = shop
    item, a, _b = two_sku_product(shop)
    services.stock_receive(merchant=merchant, sku=a, warehouse=warehouse(), quantity=1, actor=None)
    Product.objects.filter(pk=item.pk).update(in_stock=False, min_price=Decimal("1.00"))
    listing_refresh_products([item.pk])
    assert keys(item) == (True, Decimal("20.00"))


@pytest.mark.django_db(transaction=True)
def test_a_crossing_that_waits_too_long_for_the_product_row_is_a_409_and_changes_nothing(settings):
    """Under the stock write path's lock_timeout the product lock answers stock_busy, never a 500."""
    settings.STOCK_LOCK_TIMEOUT_MS = 50
    merchant, (category,) = live_merchant()
    item = product(merchant, category, skus=[{"code": "T-A", "price": "5.00"}])
    (a,) = item.skus.all()
    store = warehouse()
    services.stock_receive(merchant=merchant, sku=a, warehouse=store, quantity=1, actor=None)
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:  # someone else holds the product row (an edit, say)
            cursor.execute("SELECT 1 FROM catalog_product WHERE id = %s FOR UPDATE", [item.pk])
        with pytest.raises(CatalogConflict) as info:
            services.stock_reserve(lines=[StockLine(a.pk, store.pk, 1)], reference="order-1")
    finally:
        other.rollback()
        other.close()
    assert (info.value.code, info.value.extra) == ("stock_busy", {"retry": True})
    stock = Stock.objects.get(sku=a)
    assert (stock.on_hand, stock.reserved) == (1, 0)
    assert keys(item) == (True, Decimal("5.00"))


@pytest.mark.django_db(transaction=True)
def test_two_buyers_emptying_two_skus_of_one_product_leave_it_out_of_stock():
    """Each reads the other's SKU as still stocked in its own snapshot; the product row lock
    taken on a crossing makes the second recompute after the first commits."""
    merchant, (category,) = live_merchant()
    item = product(merchant, category, skus=[{"code": "R-A", "price": "5.00"}, {"code": "R-B", "price": "5.00"}])
    a, b = item.skus.order_by("code")
    store = warehouse()
    for sku in (a, b):
        services.stock_receive(merchant=merchant, sku=sku, warehouse=store, quantity=1, actor=None)
    assert keys(item) == (True, Decimal("5.00"))

    first_reserved = threading.Event()
    let_first_commit = threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                services.stock_reserve(lines=[StockLine(a.pk, store.pk, 1)], reference="buyer-1")
                first_reserved.set()
                let_first_commit.wait(timeout=10)
        except BaseException as exc:  # reported below
            errors.append(exc)
            first_reserved.set()
        finally:
            connection.close()

    def second():
        try:
            services.stock_reserve(lines=[StockLine(b.pk, store.pk, 1)], reference="buyer-2")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_reserved.wait(timeout=10)
    two = threading.Thread(target=second)
    two.start()
    # The second waits on the product row (well inside STOCK_LOCK_TIMEOUT_MS); without the
    # lock it would have finished by now, having read the first's unit as available.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and two.is_alive():
        time.sleep(0.05)
    let_first_commit.set()
    one.join(timeout=10)
    two.join(timeout=10)
    assert errors == []
    assert keys(item) == (False, Decimal("5.00"))


def test_featured_products_from_index_ordered_parts_match_the_one_query_order():
    """New shops' products first (featured before the others, newest first), then the other
    shops' featured products, newest first; at most `limit`."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.selectors import featured_products, product_list_featured
    from merchants.models import Merchant

    old_shop, (category,) = live_merchant()
    new_shop, (new_category,) = live_merchant()
    Merchant.objects.filter(pk=old_shop.pk).update(live_since=timezone.now() - timedelta(days=90))
    old_featured = [product(old_shop, category, title=f"Old featured {i}") for i in range(3)]
    product(old_shop, category, title="Old plain")
    new_plain = [product(new_shop, new_category, title=f"New plain {i}") for i in range(2)]
    new_featured = product(new_shop, new_category, title="New featured")
    Product.objects.filter(pk__in=[p.pk for p in [*old_featured, new_featured]]).update(is_featured=True)

    expected = [new_featured.pk, new_plain[1].pk, new_plain[0].pk, *[p.pk for p in reversed(old_featured)]]
    assert [p.pk for p in featured_products()] == expected
    assert [p.pk for p in product_list_featured()] == expected
    assert [p.pk for p in product_list_featured(limit=4)] == expected[:4]
    assert [p.pk for p in product_list_featured(limit=2)] == expected[:2]
