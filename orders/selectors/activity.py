"""Buyers' paid orders summed per buyer, for the nightly membership and RFM run of the
promotions app (which may not read orders itself: the promotions task passes these in)."""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..choices import OrderStatus
from ..models import BuyerOrder, MerchantOrder, OrderLine

MONEY = DecimalField(max_digits=14, decimal_places=2)


def buyer_activity_bounds(*, size: int, until: datetime.datetime) -> list[int]:
    """The buyer ids that close each run of `size` buyers (by id) who paid for an order up to
    `until`: batch k is the buyers in (bound k-1, bound k], the last batch the buyers above
    the last bound. One query over the buyer orders' buyer index."""
    table = BuyerOrder._meta.db_table
    # The table name is the model's; the values are parameters.
    sql = f"""
        SELECT buyer_id FROM (
            SELECT buyer_id, ROW_NUMBER() OVER (ORDER BY buyer_id) AS n
            FROM (SELECT DISTINCT buyer_id FROM {table} WHERE paid_at IS NOT NULL AND paid_at <= %s) AS paid
        ) AS numbered
        WHERE n %% %s = 0
        ORDER BY buyer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [until, size])
        return [row[0] for row in cursor.fetchall()]


def buyer_activity(
    *, after_buyer_id: int, up_to_buyer_id: int | None, since: datetime.datetime, until: datetime.datetime
) -> list[dict]:
    """The figures of the buyers with ids in (`after_buyer_id`, `up_to_buyer_id`] (no upper
    bound: None), in buyer id order, one query aggregated in SQL.

    A row per buyer with at least one counted merchant order (paid up to `until`, not
    cancelled): `last_paid_at` (the last such payment), `orders_12m` (buyer orders with such a
    payment after `since`) and `goods_paid_12m` (their goods after discounts, shipping aside,
    less the refunds on their lines).
    """
    refunded = Subquery(
        OrderLine.objects.filter(merchant_order=OuterRef("pk"))
        .order_by()
        .values("merchant_order")
        .annotate(total=Sum("refunded"))
        .values("total"),
        output_field=MONEY,
    )
    in_range = Q(buyer_order__buyer_id__gt=after_buyer_id)
    if up_to_buyer_id is not None:
        in_range &= Q(buyer_order__buyer_id__lte=up_to_buyer_id)
    in_window = Q(paid_at__gt=since)
    rows = (
        MerchantOrder.objects.filter(in_range, paid_at__isnull=False, paid_at__lte=until)
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(refunded_total=Coalesce(refunded, Value(0, output_field=MONEY)))
        .values(buyer_id=F("buyer_order__buyer_id"))
        .annotate(
            last_paid_at=Max("paid_at"),
            orders_12m=Count("buyer_order_id", distinct=True, filter=in_window),
            goods_paid_12m=Coalesce(
                Sum(F("goods_total") - F("discount_total") - F("refunded_total"), filter=in_window),
                Value(0, output_field=MONEY),
                output_field=MONEY,
            ),
        )
        .order_by("buyer_id")
    )
    return list(rows)
