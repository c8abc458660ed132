"""The dashboards' selectors (orders.selectors.dashboards): sales, paid orders and after-sales
per day, a merchant's own only, the platform's all; days in the platform's time zone; one
query per series."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.selectors import dashboards
from tests.orders.dashboard_world import Shop, after_sales, days_ago, paid_order, shipped_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    mine, other = Shop(), Shop()
    # Yesterday: two paid orders of mine (¥10 + ¥8 shipping, ¥25 + ¥8), one of them shipped and
    # asked for a refund today; three days ago one more; a placed but unpaid order counts nowhere.
    first = shipped_order(mine, [("10.00", 1)], when=days_ago(1))
    paid_order(mine, [("25.00", 1)], when=days_ago(1, hour=23))
    paid_order(mine, [("10.00", 2)], when=days_ago(3, hour=0))
    paid_order(mine, [("10.00", 1)], when=days_ago(1), pay=False)
    after_sales(first, when=days_ago(0, hour=0))
    # The other shop's order, the same day: never in my figures.
    paid_order(other, [("99.00", 1)], when=days_ago(1))
    return mine, other


def _day(series, days_back):
    return next(d for d in series.days if d.day == timezone.localdate() - datetime.timedelta(days=days_back))


def test_a_merchants_series_counts_its_paid_orders_per_local_day(world):
    mine, _other = world
    series = dashboards.merchant_sales_daily(mine.merchant, days=30)
    assert len(series.days) == 30
    assert series.first_day == timezone.localdate() - datetime.timedelta(days=29)
    assert series.last_day == timezone.localdate()
    assert (_day(series, 1).sales, _day(series, 1).orders, _day(series, 1).after_sales) == (Decimal("51.00"), 2, 0)
    assert (_day(series, 3).sales, _day(series, 3).orders) == (Decimal("28.00"), 1)
    assert (_day(series, 0).orders, _day(series, 0).after_sales) == (0, 1)
    assert _day(series, 0).after_sales_rate is None
    assert (series.sales, series.orders, series.after_sales) == (Decimal("79.00"), 3, 1)
    assert series.after_sales_rate == Decimal("33.3")
    assert sum(1 for d in series.days if d.orders) == 2


def test_the_platform_series_counts_every_shop(world):
    series = dashboards.platform_sales_daily(days=30)
    assert (_day(series, 1).sales, _day(series, 1).orders) == (Decimal("158.00"), 3)
    assert (series.sales, series.orders, series.after_sales) == (Decimal("186.00"), 4, 1)
    assert series.after_sales_rate == Decimal("25.0")


def test_a_day_outside_the_span_is_not_counted(world):
    mine, _other = world
    series = dashboards.merchant_sales_daily(mine.merchant, days=3)
    assert [d.day for d in series.days] == [timezone.localdate() - datetime.timedelta(days=n) for n in (2, 1, 0)]
    assert (series.sales, series.orders, series.after_sales) == (Decimal("51.00"), 2, 1)


def test_a_new_shop_has_an_empty_series_of_zeros():
    shop = Shop()
    series = dashboards.merchant_sales_daily(shop.merchant, days=90)
    assert len(series.days) == 90
    assert series.is_empty
    assert (series.sales, series.orders, series.after_sales, series.after_sales_rate) == (Decimal("0.00"), 0, 0, None)
    charts = dashboards.series_charts(series, sales_name="Sales")
    assert charts["sales_chart"]["series"][0]["data"] == [0.0] * 90


def test_each_series_is_two_queries_whatever_the_orders(world):
    mine, _other = world
    for read in (
        lambda: dashboards.merchant_sales_daily(mine.merchant, days=90),
        lambda: dashboards.platform_sales_daily(days=90),
    ):
        with CaptureQueriesContext(connection) as queries:
            read()
        assert len(queries) == 2


def test_the_charts_carry_each_days_figures(world):
    mine, _other = world
    series = dashboards.merchant_sales_daily(mine.merchant, days=30)
    charts = dashboards.series_charts(series, sales_name="Sales")
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).strftime("%m-%d")
    index = charts["sales_chart"]["categories"].index(yesterday)
    assert charts["sales_chart"]["series"][0] == {"name": "Sales", "data": charts["sales_chart"]["series"][0]["data"]}
    assert charts["sales_chart"]["series"][0]["data"][index] == 51.0
    assert charts["orders_chart"]["series"][0]["data"][index] == 2
    assert charts["after_sales_chart"]["series"][0]["data"][-1] == 0.0
    assert sum(charts["orders_chart"]["series"][0]["data"]) == 3


def test_the_completed_estimate_is_paid_plus_platform_discounts_less_commission(world):
    mine, _other = world
    order = mine.completed_order([("100.00", 1)], placed=days_ago(0, hour=0), completed=timezone.now())
    orders, amount = dashboards.merchant_completed_estimate(
        mine.merchant, since=timezone.now() - datetime.timedelta(days=1)
    )
    assert orders == 1
    assert amount == order.paid_total + order.platform_discount_total - order.commission_total == Decimal("103.00")


@pytest.mark.parametrize(
    ("value", "days"), [("30", 30), ("90", 90), (None, 30), ("7", 30), ("ninety", 30), ("90.0", 30)]
)
def test_the_span_toggle_takes_30_or_90_and_nothing_else(value, days):
    assert dashboards.dashboard_span(value) == days
