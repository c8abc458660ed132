"""The figures of the dashboards: a merchant's sales, orders and after-sales per day (the
portal's home), the platform's GMV and orders per day (the operations dashboard), and the
orders a merchant completed in the open settlement period (its payable estimate).

What is counted (the pages say the same):
- *sales* (GMV): what buyers paid for the merchant orders paid that day, shipping included,
  refunds not deducted; *orders*: those merchant orders (an order cancelled before payment
  counts nowhere);
- *after-sales requests*: requests opened that day, whatever became of them; the *after-sales
  rate* is requests ÷ paid orders of the same days (None without orders).
Days are the platform's (TIME_ZONE) calendar days, the last one today. Each function is one
query per series whatever the number of orders; sums are exact in SQL and rounded once here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.money import quantize

from ..choices import OrderStatus
from ..models import AfterSalesRequest, MerchantOrder

ZERO = Decimal("0.00")
#: The spans the dashboards offer (days).
DASHBOARD_SPANS = (30, 90)


@dataclass(frozen=True)
class Day:
    day: datetime.date
    sales: Decimal
    orders: int
    after_sales: int = 0

    @property
    def after_sales_rate(self) -> Decimal | None:
        return _rate(self.after_sales, self.orders)


@dataclass(frozen=True)
class Series:
    """Consecutive days from `first_day` to `last_day`, days without an order at zero."""

    first_day: datetime.date
    last_day: datetime.date
    days: list[Day]

    @property
    def sales(self) -> Decimal:
        return quantize(sum((d.sales for d in self.days), ZERO))

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def after_sales(self) -> int:
        return sum(d.after_sales for d in self.days)

    @property
    def after_sales_rate(self) -> Decimal | None:
        return _rate(self.after_sales, self.orders)

    @property
    def is_empty(self) -> bool:
        return not self.orders and not self.after_sales


def _rate(part: int, whole: int) -> Decimal | None:
    """`part` as a percentage of `whole`, one decimal (half-up), None when `whole` is 0."""
    if not whole:
        return None
    # A ratio, not money: rounded here (money goes through marketplace.money).
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _bounds(days: int, today: datetime.date | None) -> tuple[datetime.date, datetime.date, dict]:
    zone = ZoneInfo(settings.TIME_ZONE)
    last = today or timezone.localdate()
    first = last - datetime.timedelta(days=days - 1)
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return first, last, {"gte": start, "lt": end, "zone": zone}


def _per_day(queryset, field: str, bounds: dict, **aggregates) -> dict[datetime.date, dict]:
    rows = (
        queryset.filter(**{f"{field}__gte": bounds["gte"], f"{field}__lt": bounds["lt"]})
        .annotate(day=TruncDate(field, tzinfo=bounds["zone"]))
        .values("day")
        .annotate(**aggregates)
        .order_by()
    )
    return {row.pop("day"): row for row in rows}


def _series(first, last, sales_by_day, after_sales_by_day) -> Series:
    days = []
    day = first
    while day <= last:
        sold = sales_by_day.get(day, {})
        days.append(
            Day(
                day=day,
                sales=quantize(sold.get("sales") or ZERO),
                orders=sold.get("orders", 0),
                after_sales=after_sales_by_day.get(day, {}).get("requests", 0),
            )
        )
        day += datetime.timedelta(days=1)
    return Series(first_day=first, last_day=last, days=days)


def _sales_per_day(orders, bounds) -> dict:
    return _per_day(
        orders.filter(paid_at__isnull=False), "paid_at", bounds, sales=Sum("paid_total"), orders=Count("id")
    )


def merchant_sales_daily(merchant, *, days: int, today: datetime.date | None = None) -> Series:
    """The merchant's sales, paid orders and after-sales requests per day over the last `days`
    days (today included): two queries, both on the merchant's own rows only."""
    first, last, bounds = _bounds(days, today)
    sales = _sales_per_day(MerchantOrder.objects.filter(merchant=merchant), bounds)
    requests = _per_day(
        AfterSalesRequest.objects.filter(merchant_order__merchant=merchant), "created_at", bounds, requests=Count("id")
    )
    return _series(first, last, sales, requests)


def platform_sales_daily(*, days: int, today: datetime.date | None = None) -> Series:
    """GMV, paid merchant orders and after-sales requests of the whole platform per day over
    the last `days` days (today included): two queries."""
    first, last, bounds = _bounds(days, today)
    sales = _sales_per_day(MerchantOrder.objects.all(), bounds)
    requests = _per_day(AfterSalesRequest.objects.all(), "created_at", bounds, requests=Count("id"))
    return _series(first, last, sales, requests)


def merchant_completed_estimate(merchant, *, since: datetime.datetime) -> tuple[int, Decimal]:
    """The merchant's orders completed since `since` and what they would make payable before
    refunds, fees, penalties and subsidies: paid by buyers plus platform-funded discounts less
    commission (the settlement's order part); one query."""
    totals = MerchantOrder.objects.filter(
        merchant=merchant, status=OrderStatus.COMPLETED, completed_at__gte=since
    ).aggregate(
        orders=Count("id"),
        amount=Sum(F("paid_total") + F("platform_discount_total") - F("commission_total")),
    )
    return totals["orders"], quantize(totals["amount"] or ZERO)


def series_charts(series: Series, *, sales_name) -> dict:
    """The dashboards' charts of a series, as specs for `{% chart %}`
    (marketplace/templatetags/charts.py): sales per day, paid orders per day, and the
    after-sales rate per day (%, 0 on a day without orders). `sales_name` names the sales line
    ("Sales" for a merchant, "GMV" for the platform)."""
    categories = [d.day.strftime("%m-%d") for d in series.days]
    return {
        "sales_chart": {
            "type": "line",
            "categories": categories,
            "series": [{"name": str(sales_name), "data": [float(d.sales) for d in series.days]}],
            "unit": "¥",
        },
        "orders_chart": {
            "type": "line",
            "categories": categories,
            "series": [{"name": gettext("Paid orders"), "data": [d.orders for d in series.days]}],
        },
        "after_sales_chart": {
            "type": "bar",
            "categories": categories,
            "series": [
                {
                    "name": gettext("After-sales rate (%)"),
                    "data": [float(d.after_sales_rate or 0) for d in series.days],
                }
            ],
            "unit": "%",
        },
    }


def dashboard_span(value, default: int = DASHBOARD_SPANS[0]) -> int:
    """The span a dashboard's `?days=` asks for, one of `DASHBOARD_SPANS`; anything else
    gives the default (a bad toggle value is not an error worth a 400)."""
    try:
        days = int(value)
    except (TypeError, ValueError):
        return default
    return days if days in DASHBOARD_SPANS else default
