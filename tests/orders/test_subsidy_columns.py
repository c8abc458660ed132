"""What the logistics subsidy reads of a merchant order (issue #14), written when it becomes
known so the settlement run reads one row per order: `shipped_carrier`, the carrier code
(trimmed, upper-case) the ship transition wrote, and `has_special_category`, whether a line
(a gift's too) is of a fresh or cross-border category, written by checkout's insert. The
migration's backfill computes both for orders written before them."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Category
from merchants.models import Merchant
from orders import services
from orders.errors import OrderInvalidTransition
from orders.models import MerchantOrder, OrderLine, Shipment, ShipmentLine, ShippingRate
from promotions.choices import BenefitType
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_checkout_gifts import _sold_out_after_pricing
from tests.orders.test_checkout_promotions import _place
from tests.orders.test_portal_orders import pay
from tests.promotions.factories import promotion

pytestmark = pytest.mark.django_db
D = Decimal


def _special(name, *, fresh=False, cross_border=False) -> Category:
    made = make_category(name)
    Category.objects.filter(pk=made.pk).update(is_fresh=fresh, is_cross_border=cross_border)
    made.refresh_from_db()
    return made


def _shop():
    """A shop as `test_checkout_promotions._shop`, whose contract covers a plain, a fresh and
    a cross-border category."""
    plain = make_category("Plain")
    fresh, cross = _special("Fruit", fresh=True), _special("Imported", cross_border=True)
    merchant, _categories = live_merchant(categories=[plain, fresh, cross])
    Merchant.objects.filter(pk=merchant.pk).update(
        live_since=timezone.now() - datetime.timedelta(days=365), credit_grade="B"
    )
    merchant.refresh_from_db()
    ShippingRate.objects.create(merchant=merchant, flat_fee=D("8.00"), free_over=None)
    return merchant, plain, fresh, cross


def _columns(buyer_order):
    return list(
        MerchantOrder.objects.filter(buyer_order=buyer_order)
        .order_by("number")
        .values_list("shipped_carrier", "has_special_category")
    )


def _ship(order, carrier, tracking="T1"):
    return services.merchant_order_ship(
        order=order, merchant=order.merchant, actor=order.merchant.owner, carrier=carrier, tracking_number=tracking
    )


# --- At placement -------------------------------------------------------------------------


def test_placement_flags_each_merchant_order_by_its_own_lines_categories():
    merchant, plain, fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain)
    fruit, _ = _stocked_sku(price="20.00", merchant=merchant, category=fresh)
    other, other_plain, _fresh, cross_border = _shop()
    import_sku, _ = _stocked_sku(price="50.00", merchant=other, category=cross_border)
    mug, _ = _stocked_sku(price="10.00", merchant=other, category=other_plain)
    buyer = UserFactory()

    only_plain = _place(buyer, (lamp, 1))
    mixed = _place(buyer, (lamp, 1), (fruit, 2), (mug, 1))
    cross = _place(buyer, (import_sku, 1), (mug, 1))

    assert _columns(only_plain) == [("", False)]
    # Ordered by number: -1 is the lower merchant id (`merchant`), -2 the other shop.
    assert _columns(mixed) == [("", True), ("", False)]
    assert _columns(cross) == [("", True)]
    # The answer's objects say the same as the rows.
    assert [part.has_special_category for part in mixed.merchant_orders.all()] == [True, False]


def test_a_gift_line_of_a_fresh_category_flags_the_order():
    merchant, plain, fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=plain)
    fresh_gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=fresh, quantity=3)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=fresh_gift.pk, min_spend="100")

    order = _place(UserFactory(), (lamp, 1))

    assert list(OrderLine.objects.filter(merchant_order__buyer_order=order).values_list("sku_id", "is_gift")) == [
        (lamp.pk, False),
        (fresh_gift.pk, True),
    ]
    assert _columns(order) == [("", True)]


def test_a_fresh_gift_dropped_for_lack_of_stock_leaves_the_order_unflagged():
    merchant, plain, fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=plain)
    fresh_gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=fresh, quantity=3)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=fresh_gift.pk, min_spend="100")

    with _sold_out_after_pricing((fresh_gift, 0)):
        order = _place(UserFactory(), (lamp, 1))

    assert list(OrderLine.objects.filter(merchant_order__buyer_order=order).values_list("sku_id", flat=True)) == [
        lamp.pk
    ]
    assert _columns(order) == [("", False)]
    assert [part.has_special_category for part in order.merchant_orders.all()] == [False]


# --- At shipping --------------------------------------------------------------------------


def test_shipping_keeps_the_carrier_code_trimmed_and_upper_case():
    merchant, plain, _fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain)
    order = pay(_place(UserFactory(), (lamp, 1)))
    part = order.merchant_orders.get()
    assert _columns(order) == [("", False)]  # paid, not shipped: no carrier yet

    shipped = _ship(part, "  jdva ")

    assert shipped.shipped_carrier == "JDVA"
    assert _columns(order) == [("JDVA", False)]
    # The parcel keeps what the merchant typed (trimmed), as before.
    assert list(Shipment.objects.filter(lines__order_line__merchant_order=part).values_list("carrier", flat=True)) == [
        "jdva"
    ]


def test_a_second_shipment_never_replaces_the_first_carrier():
    """An order ships once: its carrier, not designated here, stays what the order is
    subsidised by; shipping it again is refused and changes nothing."""
    merchant, plain, _fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain)
    order = pay(_place(UserFactory(), (lamp, 1)))
    part = order.merchant_orders.get()
    _ship(part, "ZTO")

    with pytest.raises(OrderInvalidTransition):
        _ship(part, "SF", tracking="T2")

    assert _columns(order) == [("ZTO", False)]
    assert list(Shipment.objects.filter(lines__order_line__merchant_order=part).values_list("carrier", flat=True)) == [
        "ZTO"
    ]


def test_an_order_split_over_two_warehouses_ships_both_parcels_with_one_carrier_code():
    merchant, plain, fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain, region="east")
    fruit, _ = _stocked_sku(price="20.00", merchant=merchant, category=fresh, region="north")
    order = pay(_place(UserFactory(), (lamp, 1), (fruit, 1)))
    part = order.merchant_orders.get()
    assert Shipment.objects.filter(lines__order_line__merchant_order=part).distinct().count() == 2

    _ship(part, "sf")

    assert _columns(order) == [("SF", True)]


def test_shipping_a_merged_parcel_writes_the_carrier_code_on_every_order_in_it():
    merchant, plain, _fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain)
    buyer = UserFactory()
    first = pay(_place(buyer, (lamp, 1))).merchant_orders.get()
    second = pay(_place(buyer, (lamp, 1))).merchant_orders.get()
    services.shipment_merge(merchant=merchant, orders=[first, second], actor=merchant.owner)

    shipped = services.merchant_order_ship_parcel(
        order=first, merchant=merchant, actor=merchant.owner, carrier=" Sf ", tracking_number="P1"
    )

    assert [o.shipped_carrier for o in shipped] == ["SF", "SF"]
    assert list(
        MerchantOrder.objects.filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
        .values_list("shipped_carrier", flat=True)
    ) == ["SF", "SF"]


def test_a_cancelled_order_never_gets_a_carrier():
    merchant, _plain, fresh, _cross = _shop()
    fruit, _ = _stocked_sku(price="20.00", merchant=merchant, category=fresh)
    order = pay(_place(UserFactory(), (fruit, 1)))
    part = order.merchant_orders.get()
    services.merchant_order_cancel(order=part, actor=merchant.owner)

    with pytest.raises(OrderInvalidTransition):
        _ship(part, "SF")

    # The placement fact stays; no carrier, so no logistics subsidy can accrue.
    assert _columns(order) == [("", True)]
    part.refresh_from_db()
    assert (part.status, part.shipped_at) == ("cancelled", None)


# --- The migration's backfill -------------------------------------------------------------


def test_the_backfill_takes_the_first_shipped_shipments_carrier_and_the_lines_categories():
    backfill = importlib.import_module("orders.migrations.0016_merchant_order_subsidy_columns").backfill
    merchant, plain, fresh, _cross = _shop()
    warehouse_lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain, region="east")
    fruit, _ = _stocked_sku(price="20.00", merchant=merchant, category=fresh, region="north")
    buyer = UserFactory()
    two_parcels = pay(_place(buyer, (warehouse_lamp, 1), (fruit, 1))).merchant_orders.get()
    _ship(two_parcels, "SF")
    plain_shipped = pay(_place(buyer, (warehouse_lamp, 1))).merchant_orders.get()
    _ship(plain_shipped, "YT")
    unshipped = pay(_place(buyer, (fruit, 1))).merchant_orders.get()
    # As written before the columns: the first parcel left with ZTO (not designated), the
    # second a day later with " sf " (designated): the first one is the order's carrier.
    first, second = Shipment.objects.filter(lines__order_line__merchant_order=two_parcels).order_by("pk")
    now = two_parcels.shipped_at or datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    Shipment.objects.filter(pk=first.pk).update(carrier="zto ", shipped_at=now)
    Shipment.objects.filter(pk=second.pk).update(carrier=" sf ", shipped_at=now + datetime.timedelta(days=1))
    MerchantOrder.objects.update(shipped_carrier="", has_special_category=False)
    lines_before = ShipmentLine.objects.aggregate(n=Count("pk"))

    backfill(apps, None)

    assert list(
        MerchantOrder.objects.filter(pk__in=[two_parcels.pk, plain_shipped.pk, unshipped.pk])
        .order_by("pk")
        .values_list("shipped_carrier", "has_special_category")
    ) == [("ZTO", True), ("YT", False), ("", True)]
    assert ShipmentLine.objects.aggregate(n=Count("pk")) == lines_before

    backfill(apps, None)  # again: the same
    assert list(
        MerchantOrder.objects.filter(pk__in=[two_parcels.pk, plain_shipped.pk, unshipped.pk])
        .order_by("pk")
        .values_list("shipped_carrier", "has_special_category")
    ) == [("ZTO", True), ("YT", False), ("", True)]


def test_placement_writes_the_flag_in_the_merchant_orders_insert():
    """The flag costs no statement: placing a fresh order takes as many queries as a plain one."""
    merchant, plain, fresh, _cross = _shop()
    lamp, _ = _stocked_sku(price="100.00", merchant=merchant, category=plain)
    fruit, _ = _stocked_sku(price="100.00", merchant=merchant, category=fresh)
    buyer = UserFactory()
    _place(buyer, (lamp, 1))  # warm: the buyer's first order

    with CaptureQueriesContext(connection) as plain_run:
        _place(buyer, (lamp, 1))
    with CaptureQueriesContext(connection) as fresh_run:
        flagged = _place(buyer, (fruit, 1))

    assert len(fresh_run.captured_queries) == len(plain_run.captured_queries)
    assert _columns(flagged) == [("", True)]
