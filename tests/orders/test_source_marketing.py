"""The marketing figures of a flash sale and of a group-buy campaign (issue #13), from orders
placed, paid and refunded through the services: the promotion's selector parametrised by the
source, one query whatever the number of orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from orders import selectors
from orders.models import OrderLine
from orders.selectors import NO_FIGURES, MarketingFigures
from tests.factories import UserFactory
from tests.promotions.flash_factories import _flash_redis_clean  # noqa: F401
from tests.promotions.group_buy_world import build_group_world, group_of
from tests.promotions.source_marketing_world import (
    build_closed_group_world,
    build_flash_world,
    flash_order,
    refund,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def flash_world():
    return build_flash_world()


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
    return build_closed_group_world()


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
    refund(line.merchant_order.buyer_order, "40.00")  # half of the 80 left
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
        flash_order(flash_world, UserFactory(), 1)
    assert figures[flash_world.pk].orders == 3
    assert figures.get(flash_world.pk + 1000, NO_FIGURES) == NO_FIGURES


def test_an_unknown_source_is_refused():
    with pytest.raises(KeyError):
        selectors.source_marketing("coupon", [1])
