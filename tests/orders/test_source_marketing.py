"""The marketing figures of a flash sale and of a group-buy campaign (issue #13), from orders
placed, paid and refunded through the services: the promotion's selector parametrised by the
source, one query whatever the number of orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from orders import selectors
from orders import services as order_services
from orders.models import OrderLine
from orders.selectors import NO_FIGURES, MarketingFigures
from orders.services import CheckoutItem
from orders.services.refunds import RefundItem, refund_issue
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import pay
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401
from tests.promotions.group_buy_world import after_close, build_group_world, group_of

pytestmark = pytest.mark.django_db

D = Decimal


def _flash_order(sale, buyer, units, *, paid=True):
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=units)
    order = order_services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, units)]
    )
    return pay(order) if paid else order


def _refund(order, amount):
    merchant_order = order.merchant_orders.get()
    line = merchant_order.lines.get()
    refund_issue(merchant_order=merchant_order, items=[RefundItem(line.pk, D(amount), 0)], reason="test")


@pytest.fixture
def flash_world():
    """A sale at ¥80 instead of ¥100, the platform funding a quarter: a new buyer's 2 units
    (¥40 off: merchant 30, platform 10; paid 160), a returning buyer's unit (¥20 off: 15 / 5;
    paid 80, half refunded: 7.50 / 2.50 kept, GMV 40) and an unpaid order (counts nowhere)."""
    sku = stocked_sku(price="100.00")
    sale = live_sale(
        sku=sku, special="80.00", quantity=10, limit=2, funding="split", platform_share=D("0.25"), by_staff=True
    )
    newcomer, regular = UserFactory(), UserFactory()
    other = stocked_sku(price="5.00", merchant=sku.merchant, category=sku.product.category)
    pay(order_services.checkout_place(buyer=regular, address=address_for(regular), items=[CheckoutItem(other.pk, 1)]))
    _flash_order(sale, newcomer, 2)
    _refund(_flash_order(sale, regular, 1), "40.00")
    _flash_order(sale, UserFactory(), 1, paid=False)
    return sale


FLASH_FIGURES = MarketingFigures(
    merchant_cost=D("37.50"), platform_cost=D("12.50"), orders=2, gmv=D("200.00"), new_buyers=1
)


def test_a_flash_sales_figures_count_paid_orders_refunds_in_proportion_and_new_buyers(flash_world):
    figures = selectors.source_marketing("flash_sale", [flash_world.pk])
    assert figures == {flash_world.pk: FLASH_FIGURES}
    assert (figures[flash_world.pk].cost, figures[flash_world.pk].roi) == (D("50.00"), D("4.0"))
    assert selectors.source_marketing("flash_sale") == figures
    # Each source reads its own rows only: no promotion, no group buy has figures here.
    assert selectors.promotion_marketing() == {}
    assert selectors.source_marketing("group_buy") == {}
    assert selectors.source_marketing("group_buy", [flash_world.pk]) == {}


def test_a_flash_sales_figures_per_day(flash_world):
    today = timezone.localdate()
    assert selectors.source_marketing_daily("flash_sale", flash_world.pk, first_day=today, last_day=today) == [
        (today, FLASH_FIGURES)
    ]


@pytest.fixture
def group_world():
    """Five new buyers reach the 20 % step of a ¥100.00 group buy funded half by the platform:
    each paid 90 (10 off: 5 / 5) and got 10 back at the close (5 / 5 more), GMV 80 each."""
    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 5
    return world, participants


def test_a_group_buys_cost_is_the_first_step_plus_the_difference_refunded(group_world):
    world, _participants = group_world
    figures = selectors.source_marketing("group_buy", [world.campaign.pk])[world.campaign.pk]
    # The difference refund is a discount, not goods given back: the full 20 % counts.
    assert figures == MarketingFigures(
        merchant_cost=D("50.00"), platform_cost=D("50.00"), orders=5, gmv=D("400.00"), new_buyers=5
    )
    assert figures.roi == D("4.0")


def test_a_return_after_the_close_takes_its_share_of_what_was_paid_after_the_difference(group_world):
    world, participants = group_world
    order = participants[0].order_id
    line = OrderLine.objects.get(merchant_order__buyer_order_id=order)
    _refund(line.merchant_order.buyer_order, "40.00")  # half of the 80 left
    figures = selectors.source_marketing("group_buy", [world.campaign.pk])[world.campaign.pk]
    # That participant: (10 + 10) × 40 / 80 → 5 / 5, GMV 40; the four others unchanged.
    assert figures == MarketingFigures(
        merchant_cost=D("45.00"), platform_cost=D("45.00"), orders=5, gmv=D("360.00"), new_buyers=5
    )
    today = timezone.localdate()
    assert selectors.source_marketing_daily("group_buy", world.campaign.pk, first_day=today, last_day=today) == [
        (today, figures)
    ]


def test_before_the_close_a_group_buy_costs_its_first_step():
    world = build_group_world()
    group_of(world, 3)
    assert selectors.source_marketing("group_buy", [world.campaign.pk]) == {
        world.campaign.pk: MarketingFigures(
            merchant_cost=D("30.00"), platform_cost=D("0.00"), orders=3, gmv=D("270.00"), new_buyers=3
        )
    }


def test_one_query_whatever_the_number_of_orders(flash_world, django_assert_num_queries):
    today = timezone.localdate()
    for _more in range(2):
        with django_assert_num_queries(1):
            figures = selectors.source_marketing("flash_sale", [flash_world.pk, flash_world.pk + 1000])
        with django_assert_num_queries(1):
            selectors.source_marketing_daily("flash_sale", flash_world.pk, first_day=today, last_day=today)
        _flash_order(flash_world, UserFactory(), 1)
    assert figures[flash_world.pk].orders == 3
    assert figures.get(flash_world.pk + 1000, NO_FIGURES) == NO_FIGURES


def test_an_unknown_source_is_refused():
    with pytest.raises(KeyError):
        selectors.source_marketing("coupon", [1])
