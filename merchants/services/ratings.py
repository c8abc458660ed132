"""The shops' review counters (marketplace.ratings), changed only by the reviews' services.

Guarantees: counters move with F() in the caller's transaction, so concurrent reviews of one
shop never lose an update and the figures commit or roll back with the review; the CHECK
`merchant_rating_consistent` refuses impossible figures.
"""

from __future__ import annotations

from django.db.models import F

from ..models import Merchant


def merchant_rating_apply(*, merchant_id: int, count: int, total: int) -> None:
    """Add `count` reviews summing `total` stars to the shop's counters (negative to take
    them away), inside the caller's transaction (an UPDATE of the merchant row)."""
    Merchant.objects.filter(pk=merchant_id).update(
        rating_count=F("rating_count") + count, rating_total=F("rating_total") + total
    )
