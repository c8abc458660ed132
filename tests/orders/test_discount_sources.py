"""Per-source discount rows (issue #13): a flash-sale line and a group-buy line get their
`OrderLineDiscount` row like a promotion's, with the parts frozen on the line; a group buy's
difference refunded at the close is added to its row as the part given later; the database
refuses a row without exactly one source."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from orders import services as order_services
from orders.models import OrderLine, OrderLineDiscount
from orders.services import CheckoutItem
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_checkout_queries import _kind
from tests.promotions.factories import promotion
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401
from tests.promotions.group_buy_world import after_close, build_group_world, group_of

pytestmark = pytest.mark.django_db

D = Decimal

ROW = ("promotion_id", "flash_sale_id", "group_buy_id", "merchant_part", "platform_part")
LATER = ("later_merchant_part", "later_platform_part")


def _discount_inserts(queries) -> int:
    return Counter(_kind(q["sql"]) for q in queries)[("INSERT", "orders_orderlinediscount")]


def test_a_flash_line_gets_its_sales_row_with_the_parts_frozen_on_the_line():
    sku = stocked_sku(price="10.01")
    sale = live_sale(
        sku=sku, special="3.00", quantity=5, limit=3, funding="split", platform_share=D("0.3333"), by_staff=True
    )
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=3)
    with CaptureQueriesContext(connection) as placing:
        order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 3)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # 3 × (10.01 − 3.00) = 21.03: the platform's 0.3333 → 7.01, the merchant 14.02 (as on the line).
    assert list(OrderLineDiscount.objects.filter(line=line).values_list(*ROW, *LATER)) == [
        (None, sale.pk, None, D("14.02"), D("7.01"), D("0.00"), D("0.00"))
    ]
    assert (line.merchant_discount, line.platform_discount) == (D("14.02"), D("7.01"))
    # A flash-only order writes its row in one statement of its own (before: none).
    assert _discount_inserts(placing.captured_queries) == 1


def test_flash_and_promotion_rows_of_one_order_are_written_in_one_statement():
    sku = stocked_sku(price="100.00")
    other = stocked_sku(price="50.00", merchant=sku.merchant, category=sku.product.category)
    sale = live_sale(sku=sku, special="80.00", quantity=5, limit=2)
    made = promotion(merchant=sku.merchant, amount="10.00")
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    with CaptureQueriesContext(connection) as placing:
        order = order_services.checkout_place(
            buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 2), CheckoutItem(other.pk, 1)]
        )
    rows = OrderLineDiscount.objects.filter(line__merchant_order__buyer_order=order).order_by("line__sku_id")
    # The flash line takes no promotion: the shop's ¥10 off goes all to the other line.
    assert list(rows.values_list("line__sku_id", *ROW)) == [
        (sku.pk, None, sale.pk, None, D("40.00"), D("0.00")),
        (other.pk, made.pk, None, None, D("10.00"), D("0.00")),
    ]
    # Unchanged from a promotion-only order: one bulk insert for every source's rows.
    assert _discount_inserts(placing.captured_queries) == 1


def test_a_line_without_a_flash_hold_or_promotion_has_no_row():
    sale = live_sale(price="20.00", special="10.00")
    buyer = UserFactory()  # not admitted: priced normally
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    assert OrderLine.objects.get(merchant_order__buyer_order=order).paid == D("20.00")
    assert OrderLineDiscount.objects.count() == 0


def test_a_group_buy_line_gets_its_campaigns_row_and_the_difference_as_the_later_part():
    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    rows = OrderLineDiscount.objects.filter(group_buy=world.campaign).order_by("line_id")
    # First step: 10 % of ¥100.00, half each; nothing later yet.
    assert (
        list(rows.values_list(*ROW, *LATER))
        == [(None, None, world.campaign.pk, D("5.00"), D("5.00"), D("0.00"), D("0.00"))] * 5
    )
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 5
    # Reached 20 %: ¥10.00 more each, split by the campaign's funding as the first step was.
    assert (
        list(rows.values_list(*ROW, *LATER))
        == [(None, None, world.campaign.pk, D("5.00"), D("5.00"), D("5.00"), D("5.00"))] * 5
    )
    # The line keeps its frozen discount; the difference is in its refunds.
    line = OrderLine.objects.get(merchant_order__buyer_order_id=participants[0].order_id)
    assert (line.merchant_discount, line.platform_discount, line.refunded) == (D("5.00"), D("5.00"), D("10.00"))
    # A second run settles no one and adds nothing.
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 0
    assert sorted(rows.values_list(*LATER)) == [(D("5.00"), D("5.00"))] * 5


def test_a_merchant_funded_group_buy_rounds_the_later_part_like_its_refund():
    world = build_group_world(price="33.33")
    participants = group_of(world, 10)
    order_services.group_buys_close_due(now=after_close(participants[0].group))
    # first 3.333 → 3.33, final 9.999 → 10.00: ¥6.67 later, all the merchant's.
    assert (
        sorted(OrderLineDiscount.objects.values_list("merchant_part", "platform_part", *LATER))
        == [(D("3.33"), D("0.00"), D("6.67"), D("0.00"))] * 10
    )


def test_a_group_at_its_first_step_or_failed_gives_nothing_later():
    world = build_group_world()
    reached_first = group_of(world, 2)
    failed = group_of(world, 1)
    order_services.group_buys_close_due(now=after_close(reached_first[0].group))
    order_services.group_buys_close_due(now=after_close(failed[0].group))
    # The failed group's order is refunded in full: goods given back, not a later discount.
    assert (
        sorted(OrderLineDiscount.objects.values_list("merchant_part", *LATER))
        == [(D("10.00"), D("0.00"), D("0.00"))] * 3
    )


@pytest.mark.parametrize(
    "sources",
    [
        {},
        {"promotion": True, "flash_sale": True},
        {"flash_sale": True, "group_buy": True},
        {"promotion": True, "group_buy": True},
    ],
)
def test_the_database_refuses_a_row_without_exactly_one_source(sources):
    world = build_group_world()
    (participant,) = group_of(world, 1)
    line = OrderLine.objects.get(merchant_order__buyer_order_id=participant.order_id)
    sale = live_sale(price="20.00", special="10.00")
    made = promotion(merchant=world.shop, amount="1.00")
    chosen = {"promotion": made, "flash_sale": sale, "group_buy": world.campaign}
    before = OrderLineDiscount.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLineDiscount.objects.create(
            line=line,
            merchant_part=D("1.00"),
            platform_part=D("0.00"),
            **{name: chosen[name] for name in sources},
        )
    assert OrderLineDiscount.objects.count() == before == 1


def test_only_a_group_buys_row_takes_a_later_part():
    sale = live_sale(price="20.00", special="10.00")
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=1)
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    row = OrderLineDiscount.objects.get(line__merchant_order__buyer_order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLineDiscount.objects.filter(pk=row.pk).update(later_merchant_part=D("1.00"))
    row.refresh_from_db()
    assert (row.later_merchant_part, row.later_platform_part) == (D("0.00"), D("0.00"))


# --- The backfill of lines placed before the rows existed (orders migration 0014) -----------------


def test_the_backfill_rebuilds_the_rows_of_earlier_flash_and_group_buy_lines_once():
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("orders.migrations.0014_backfill_flash_sale_group_buy_discounts").backfill
    sale = live_sale(price="20.00", special="15.00", funding="platform", platform_share=D("1"), by_staff=True)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=1)
    order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    order_services.group_buys_close_due(now=after_close(participants[0].group))
    columns = ("line_id", *ROW, *LATER)
    written = sorted(OrderLineDiscount.objects.values_list(*columns))
    assert len(written) == 6
    OrderLineDiscount.objects.all().delete()  # as before checkout wrote them

    backfill(apps, None)
    assert sorted(OrderLineDiscount.objects.values_list(*columns)) == written
    backfill(apps, None)  # lines with a row are left alone
    assert OrderLineDiscount.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_close_runs_at_once_give_each_row_its_later_part_once():
    from tests.promotions.test_group_buy_concurrency import run_together

    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    now = after_close(participants[0].group)
    results, errors = run_together(2, lambda: order_services.group_buys_close_due(now=now))
    assert (errors, sum(results)) == ([], 5)
    assert (
        sorted(OrderLineDiscount.objects.values_list("group_buy_id", "merchant_part", "platform_part", *LATER))
        == [(world.campaign.pk, D("5.00"), D("5.00"), D("5.00"), D("5.00"))] * 5
    )
