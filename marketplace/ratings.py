"""Star ratings kept as two counters (how many visible reviews, the sum of their stars).

Products and shops carry these counters in their own rows, updated by the services in the
same transaction as the review that changes them (`orders.services.reviews`): a list page
shows every card's average from the row it already reads, so its query count does not grow
with the page, and no lower app has to read the reviews of a higher one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q

TENTH = Decimal("0.1")


def rating_average(count: int, total: int) -> Decimal | None:
    """The average of `count` ratings summing to `total`, to one decimal (half up), or None
    without ratings. Not money: rounded here, not through marketplace.money."""
    if not count:
        return None
    return (Decimal(total) / Decimal(count)).quantize(TENTH, rounding=ROUND_HALF_UP)


def rating_counters_consistent(prefix: str = "rating") -> Q:
    """The CHECK every pair of counters keeps: between 1 and 5 stars a rating, none without."""
    count = F(f"{prefix}_count")
    return Q(**{f"{prefix}_count__gte": 0, f"{prefix}_total__gte": count, f"{prefix}_total__lte": count * 5})
