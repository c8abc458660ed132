"""What promotions gave on placed orders (read by the promotions pages of the portal, the
admin and the API: interface modules may read a higher app's selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from ..choices import OrderStatus
from ..models import OrderLineDiscount

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PromotionFigures:
    """One promotion's discounts on orders that were not cancelled, by funder."""

    merchant_part: Decimal = ZERO
    platform_part: Decimal = ZERO
    orders: int = 0

    @property
    def discount(self) -> Decimal:
        return self.merchant_part + self.platform_part


def promotion_figures(promotion_ids) -> dict[int, PromotionFigures]:
    """Promotion id → its figures (one query for all of them); a promotion that touched no
    order is absent (callers use `PromotionFigures()`). A cancelled order gave nothing."""
    ids = sorted({int(pk) for pk in promotion_ids})
    if not ids:
        return {}
    rows = (
        OrderLineDiscount.objects.filter(promotion_id__in=ids)
        .exclude(line__merchant_order__status=OrderStatus.CANCELLED)
        .values("promotion_id")
        .annotate(
            merchant_part=Sum("merchant_part"),
            platform_part=Sum("platform_part"),
            orders=Count("line__merchant_order__buyer_order_id", distinct=True),
        )
    )
    return {
        row["promotion_id"]: PromotionFigures(row["merchant_part"], row["platform_part"], row["orders"]) for row in rows
    }
