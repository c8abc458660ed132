"""The marketing figures of a discount's source — a promotion, a flash sale or a group-buy
campaign (`SOURCES`) — read from the per-source discount rows orders froze at placement, for
the marketing pages of operations (admin) and of the merchant (portal). The promotions app may
not read orders: its pages, interface modules, call these. One query serves every source: the
source is only the column of `OrderLineDiscount` it reads.

What is counted (the pages say the same; "it" is the source):
- only buyer orders that were paid (`paid_at` set): an order cancelled before payment gave
  nothing and counts nowhere;
- *cost*: Σ of its `OrderLineDiscount` parts, by funder (merchant, platform), each line's
  parts reduced in the proportion of the line refunded (refunded / paid), as the platform part
  is taken back on refunds (domain.md "Refunds"); a line paid ¥0 (a gift) keeps its whole
  discount. A group buy's cost is what the buyer really got: the first step's parts plus the
  difference refunded at the close (`later_*_part`, by the campaign's funding); that refund
  is a discount, not goods given back, so it reduces neither part: only the other refunds of
  the line do, in proportion of what was paid after the difference;
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


#: The sources of a line's discount, and the column of `OrderLineDiscount` naming each.
SOURCES = {"promotion": "promotion_id", "flash_sale": "flash_sale_id", "group_buy": "group_buy_id"}


def _touched_sql(column: str, where: str) -> str:
    """Per (source, buyer order touched): its cost by funder, the GMV of the merchant orders
    it touched, whether it was the buyer's first paid order, and the day it was paid.
    `column` is one of `SOURCES`' values."""
    discount, line = OrderLineDiscount._meta.db_table, OrderLine._meta.db_table
    morder, border = MerchantOrder._meta.db_table, BuyerOrder._meta.db_table
    # Table names are the models'; every value is a parameter.
    return f"""
        WITH discounted AS (
            SELECT d.{column} AS source_id, l.merchant_order_id, mo.buyer_order_id,
                   (d.merchant_part + d.later_merchant_part) * share AS merchant_cost,
                   (d.platform_part + d.later_platform_part) * share AS platform_cost
            FROM {discount} d
            JOIN {line} l ON l.id = d.line_id
            JOIN {morder} mo ON mo.id = l.merchant_order_id
            JOIN {border} bo ON bo.id = mo.buyer_order_id
            CROSS JOIN LATERAL (
                -- What was paid once the discount given later (in `refunded`) is taken off.
                SELECT l.paid - d.later_merchant_part - d.later_platform_part AS paid_after
            ) AS after_later
            CROSS JOIN LATERAL (
                SELECT CASE WHEN paid_after > 0 THEN (l.paid - l.refunded) / paid_after ELSE 1 END AS share
            ) AS kept
            WHERE bo.paid_at IS NOT NULL AND d.{column} IS NOT NULL AND {where}
        ),
        cost AS (
            SELECT source_id, buyer_order_id,
                   SUM(merchant_cost) AS merchant_cost, SUM(platform_cost) AS platform_cost
            FROM discounted GROUP BY source_id, buyer_order_id
        ),
        gmv AS (
            SELECT t.source_id, t.buyer_order_id, SUM(l.paid - l.refunded) AS gmv
            FROM (SELECT DISTINCT source_id, merchant_order_id, buyer_order_id FROM discounted) AS t
            JOIN {line} l ON l.merchant_order_id = t.merchant_order_id
            GROUP BY t.source_id, t.buyer_order_id
        )
        SELECT c.source_id, c.buyer_order_id, c.merchant_cost, c.platform_cost, g.gmv,
               (bo.paid_at AT TIME ZONE %s)::date AS day,
               NOT EXISTS (
                   SELECT 1 FROM {border} earlier
                   WHERE earlier.buyer_id = bo.buyer_id AND earlier.paid_at IS NOT NULL
                     AND (earlier.paid_at, earlier.id) < (bo.paid_at, bo.id)
               ) AS first_order
        FROM cost c
        JOIN gmv g ON g.source_id = c.source_id AND g.buyer_order_id = c.buyer_order_id
        JOIN {border} bo ON bo.id = c.buyer_order_id
    """


def _aggregate(source: str, key: str, where: str, params: list) -> dict:
    sql = f"""
        SELECT {key},
               SUM(merchant_cost), SUM(platform_cost), COUNT(*), SUM(gmv),
               COUNT(*) FILTER (WHERE first_order)
        FROM ({_touched_sql(SOURCES[source], where)}) AS touched
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


def source_marketing(source: str, ids: Iterable[int] | None = None) -> dict[int, MarketingFigures]:
    """Each `source`'s (a key of `SOURCES`) figures, of `ids` or of every one with a paid
    order, by id, in one query; one that touched no paid order is absent (read `NO_FIGURES`
    for it)."""
    column = SOURCES[source]
    if ids is None:
        return _aggregate(source, "source_id", "TRUE", [])
    ids = sorted(set(ids))
    if not ids:
        return {}
    return _aggregate(source, "source_id", f"d.{column} = ANY(%s)", [ids])


def source_marketing_daily(
    source: str, source_id: int, *, first_day: datetime.date, last_day: datetime.date
) -> list[tuple[datetime.date, MarketingFigures]]:
    """The figures of one `source` (a key of `SOURCES`) per day from `first_day` to
    `last_day` (days without a paid order at zero; a payment's day outside the range widens
    it), in date order, one query."""
    by_day = _aggregate(source, "day", f"d.{SOURCES[source]} = %s", [source_id])
    if by_day:
        first_day, last_day = min(first_day, *by_day), max(last_day, *by_day)
    days = []
    day = first_day
    while day <= last_day:
        days.append((day, by_day.get(day, NO_FIGURES)))
        day += datetime.timedelta(days=1)
    return days


def promotion_marketing(promotion_ids: Iterable[int] | None = None) -> dict[int, MarketingFigures]:
    """Each promotion's figures (of `promotion_ids`, or every promotion with a paid order),
    by promotion id, in one query (`source_marketing`)."""
    return source_marketing("promotion", promotion_ids)


def promotion_marketing_daily(
    promotion_id: int, *, first_day: datetime.date, last_day: datetime.date
) -> list[tuple[datetime.date, MarketingFigures]]:
    """The promotion's figures per day (`source_marketing_daily`), one query."""
    return source_marketing_daily("promotion", promotion_id, first_day=first_day, last_day=last_day)
