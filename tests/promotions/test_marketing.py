"""The marketing figures of a promotion (orders.selectors.marketing): exact values from the
fixed orders of `marketing_world`, and one query whatever the number of orders."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.selectors import NO_FIGURES, MarketingFigures
from tests.promotions import marketing_world
from tests.promotions.marketing_world import at, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world():
    return marketing_world.build()


def test_figures_per_promotion_count_paid_orders_refunds_in_proportion_and_new_buyers(world):
    figures = selectors.promotion_marketing([world.shop_promo.pk, world.platform_promo.pk])
    assert figures == {
        world.shop_promo.pk: MarketingFigures(
            merchant_cost=D("21.67"), platform_cost=D("21.67"), orders=2, gmv=D("428.00"), new_buyers=1
        ),
        world.platform_promo.pk: MarketingFigures(
            merchant_cost=D("0.00"), platform_cost=D("14.00"), orders=1, gmv=D("356.00"), new_buyers=1
        ),
    }
    assert figures[world.shop_promo.pk].cost == D("43.34")
    assert figures[world.shop_promo.pk].roi == D("9.9")
    assert figures[world.platform_promo.pk].roi == D("25.4")
    assert selectors.promotion_marketing() == figures


def test_figures_per_day_in_the_platform_time_zone(world):
    days = selectors.promotion_marketing_daily(
        world.shop_promo.pk, first_day=datetime.date(2026, 12, 1), last_day=datetime.date(2026, 12, 4)
    )
    assert days == [
        (datetime.date(2026, 12, 1), NO_FIGURES),
        (
            datetime.date(2026, 12, 2),
            MarketingFigures(D("15.00"), D("15.00"), 1, D("308.00"), 1),
        ),
        (
            datetime.date(2026, 12, 3),
            MarketingFigures(D("6.67"), D("6.67"), 1, D("120.00"), 0),
        ),
        (datetime.date(2026, 12, 4), NO_FIGURES),
    ]


def test_a_payment_outside_the_range_widens_it(world):
    days = selectors.promotion_marketing_daily(
        world.platform_promo.pk, first_day=datetime.date(2026, 12, 3), last_day=datetime.date(2026, 12, 3)
    )
    assert [day for day, _f in days] == [datetime.date(2026, 12, 2), datetime.date(2026, 12, 3)]
    assert days[0][1].platform_cost == D("14.00")


def test_no_cost_no_roi_and_unknown_promotions_absent(world):
    assert NO_FIGURES.roi is None
    assert MarketingFigures(gmv=D("10.00")).roi is None
    assert selectors.promotion_marketing([]) == {}
    assert selectors.promotion_marketing([world.shop_promo.pk + world.platform_promo.pk + 1000]) == {}


def test_one_query_whatever_the_number_of_orders(world):
    ids = [world.shop_promo.pk, world.platform_promo.pk]
    with CaptureQueriesContext(connection) as few:
        selectors.promotion_marketing(ids)
        selectors.promotion_marketing_daily(
            world.shop_promo.pk, first_day=datetime.date(2026, 12, 1), last_day=datetime.date(2026, 12, 4)
        )
    for day in range(5, 15):
        buyer = marketing_world.UserFactory()
        place(
            buyer,
            [(world.shop, [("100.00", {world.shop_promo: ("5", "5"), world.platform_promo: ("0", "2")})])],
            paid_at=at(2026, 12, day, 12),
        )
    with CaptureQueriesContext(connection) as many:
        figures = selectors.promotion_marketing(ids)
        selectors.promotion_marketing_daily(
            world.shop_promo.pk, first_day=datetime.date(2026, 12, 1), last_day=datetime.date(2026, 12, 4)
        )
    assert len(few) == len(many) == 2
    assert figures[world.shop_promo.pk].orders == 12
    assert figures[world.shop_promo.pk].new_buyers == 11


def test_an_order_refunded_in_full_stays_touched_with_nothing_in_cost_or_gmv(world):
    buyer = marketing_world.UserFactory()
    order = place(buyer, [(world.shop, [("100.00", {world.shop_promo: ("5", "5")})])], paid_at=at(2026, 12, 4, 12))
    marketing_world.refund(order, world.shop, "100.00", "90.00")
    figures = selectors.promotion_marketing([world.shop_promo.pk])[world.shop_promo.pk]
    assert figures == MarketingFigures(
        merchant_cost=D("21.67"), platform_cost=D("21.67"), orders=3, gmv=D("428.00"), new_buyers=2
    )
