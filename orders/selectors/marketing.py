"""A promotion's marketing figures, read from the discounts orders froze at placement, for the
marketing pages of operations (admin) and of the merchant (portal). The promotions app may not
read orders: its pages, interface modules, call these.

What is counted (the pages say the same):
- only buyer orders that were paid (`paid_at` set): an order cancelled before payment gave
  nothing and counts nowhere;
- *cost*: Σ of the promotion's `OrderLineDiscount` parts, by funder (merchant, platform), each
  line's parts reduced in the proportion of the line refunded (refunded / paid), as the
  platform part is taken back on refunds (domain.md "Refunds"); a line paid ¥0 (a gift) keeps
  its whole discount;
- *orders touched*: buyer orders with at least one line it discounted (a later refund, even in
  full, leaves the order counted: it only takes its part out of cost and GMV);
- *GMV touched*: goods paid (after every discount, shipping excluded) less refunds, of the
  merchant orders holding a line it discounted — the shops it touched, never another shop's
  sale in the same buyer order (a merchant sees only its own shop's figures);
- *new buyers*: buyers whose first paid order ever is one it touched;
- *ROI*: GMV touched / cost (None without cost).
Days are the payment's date in the platform's time zone. Each function is one query whatever
the number of orders; sums are exact in SQL and rounded here, once, by `money.quantize`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection

from marketplace.money import ZERO, quantize

from ..models import BuyerOrder, MerchantOrder, OrderLine, OrderLineDiscount


@dataclass(frozen=True)
class MarketingFigures:
    """One promotion's figures (over its whole life, or one day of it)."""

    merchant_cost: Decimal = ZERO
    platform_cost: Decimal = ZERO
    orders: int = 0
    gmv: Decimal = ZERO
    new_buyers: int = 0

    @property
    def cost(self) -> Decimal:
        return self.merchant_cost + self.platform_cost

    @property
    def roi(self) -> Decimal | None:
        """GMV touched per yuan of cost, to one decimal (half up); None without cost."""
        if self.cost <= 0:
            return None
        return (self.gmv / self.cost).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


NO_FIGURES = MarketingFigures()


def _touched_sql(where: str) -> str:
    """Per (promotion, buyer order touched): its cost by funder, the GMV of the merchant orders
    it touched, whether it was the buyer's first paid order, and the day it was paid."""
    discount, line = OrderLineDiscount._meta.db_table, OrderLine._meta.db_table
    morder, border = MerchantOrder._meta.db_table, BuyerOrder._meta.db_table
    # Table names are the models'; every value is a parameter.
    return f"""
        WITH discounted AS (
            SELECT d.promotion_id, l.merchant_order_id, mo.buyer_order_id,
                   d.merchant_part * share AS merchant_cost, d.platform_part * share AS platform_cost
            FROM {discount} d
            JOIN {line} l ON l.id = d.line_id
            JOIN {morder} mo ON mo.id = l.merchant_order_id
            JOIN {border} bo ON bo.id = mo.buyer_order_id
            CROSS JOIN LATERAL (
                SELECT CASE WHEN l.paid > 0 THEN (l.paid - l.refunded) / l.paid ELSE 1 END AS share
            ) AS kept
            WHERE bo.paid_at IS NOT NULL AND {where}
        ),
        cost AS (
            SELECT promotion_id, buyer_order_id,
                   SUM(merchant_cost) AS merchant_cost, SUM(platform_cost) AS platform_cost
            FROM discounted GROUP BY promotion_id, buyer_order_id
        ),
        gmv AS (
            SELECT t.promotion_id, t.buyer_order_id, SUM(l.paid - l.refunded) AS gmv
            FROM (SELECT DISTINCT promotion_id, merchant_order_id, buyer_order_id FROM discounted) AS t
            JOIN {line} l ON l.merchant_order_id = t.merchant_order_id
            GROUP BY t.promotion_id, t.buyer_order_id
        )
        SELECT c.promotion_id, c.buyer_order_id, c.merchant_cost, c.platform_cost, g.gmv,
               (bo.paid_at AT TIME ZONE %s)::date AS day,
               NOT EXISTS (
                   SELECT 1 FROM {border} earlier
                   WHERE earlier.buyer_id = bo.buyer_id AND earlier.paid_at IS NOT NULL
                     AND (earlier.paid_at, earlier.id) < (bo.paid_at, bo.id)
               ) AS first_order
        FROM cost c
        JOIN gmv g ON g.promotion_id = c.promotion_id AND g.buyer_order_id = c.buyer_order_id
        JOIN {border} bo ON bo.id = c.buyer_order_id
    """


def _aggregate(key: str, where: str, params: list) -> dict:
    sql = f"""
        SELECT {key},
               SUM(merchant_cost), SUM(platform_cost), COUNT(*), SUM(gmv),
               COUNT(*) FILTER (WHERE first_order)
        FROM ({_touched_sql(where)}) AS touched
        GROUP BY {key}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, settings.TIME_ZONE])
        return {
            row[0]: MarketingFigures(
                merchant_cost=quantize(row[1]),
                platform_cost=quantize(row[2]),
                orders=row[3],
                gmv=quantize(row[4]),
                new_buyers=row[5],
            )
            for row in cursor.fetchall()
        }


def promotion_marketing(promotion_ids: Iterable[int] | None = None) -> dict[int, MarketingFigures]:
    """Each promotion's figures (of `promotion_ids`, or every promotion with a paid order),
    by promotion id, in one query; a promotion that touched no paid order is absent (read
    `NO_FIGURES` for it)."""
    if promotion_ids is None:
        return _aggregate("promotion_id", "TRUE", [])
    ids = sorted(set(promotion_ids))
    if not ids:
        return {}
    return _aggregate("promotion_id", "d.promotion_id = ANY(%s)", [ids])


def promotion_marketing_daily(
    promotion_id: int, *, first_day: datetime.date, last_day: datetime.date
) -> list[tuple[datetime.date, MarketingFigures]]:
    """The promotion's figures per day from `first_day` to `last_day` (days without a paid
    order at zero; a payment's day outside the range widens it), in date order, one query."""
    by_day = _aggregate("day", "d.promotion_id = %s", [promotion_id])
    if by_day:
        first_day, last_day = min(first_day, *by_day), max(last_day, *by_day)
    days = []
    day = first_day
    while day <= last_day:
        days.append((day, by_day.get(day, NO_FIGURES)))
        day += datetime.timedelta(days=1)
    return days
