"""Buyers' paid orders summed per buyer, for the nightly membership and RFM run of the
promotions app (which may not read orders itself: the promotions task passes this in)."""

from __future__ import annotations

import datetime

from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..choices import OrderStatus
from ..models import BuyerOrder, MerchantOrder, OrderLine

MONEY = DecimalField(max_digits=14, decimal_places=2)


def buyer_activity_batch(
    *, after_buyer_id: int, limit: int, since: datetime.datetime, until: datetime.datetime
) -> tuple[list[dict], int | None]:
    """The figures of the next `limit` buyers (by id, above `after_buyer_id`) who paid for an
    order up to `until`, and the last buyer id looked at (None: no buyer left).

    A row per buyer with at least one counted merchant order (paid up to `until`, not
    cancelled), in buyer id order: `last_paid_at` (the last such payment), `orders_12m`
    (buyer orders with such a payment after `since`) and `goods_paid_12m` (their goods after
    discounts, shipping aside, less the refunds on their lines). Two queries, aggregated in SQL;
    the batch's buyers come from the index on the buyer orders' buyer.
    """
    buyer_ids = list(
        BuyerOrder.objects.filter(buyer_id__gt=after_buyer_id, paid_at__isnull=False, paid_at__lte=until)
        .order_by("buyer_id")
        .values_list("buyer_id", flat=True)
        .distinct()[:limit]
    )
    if not buyer_ids:
        return [], None
    refunded = Subquery(
        OrderLine.objects.filter(merchant_order=OuterRef("pk"))
        .order_by()
        .values("merchant_order")
        .annotate(total=Sum("refunded"))
        .values("total"),
        output_field=MONEY,
    )
    in_window = Q(paid_at__gt=since)
    rows = (
        MerchantOrder.objects.filter(
            buyer_order__buyer_id__gte=buyer_ids[0],
            buyer_order__buyer_id__lte=buyer_ids[-1],
            paid_at__isnull=False,
            paid_at__lte=until,
        )
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
    return list(rows), buyer_ids[-1]
