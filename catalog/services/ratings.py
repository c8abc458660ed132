"""The products' review counters (marketplace.ratings), changed only by the reviews' services.

Guarantees: counters move with F() in the caller's transaction (a review written, hidden or
shown again), so concurrent reviews of one product never lose an update and the figures
commit or roll back with the review itself; the CHECK `product_rating_consistent` refuses
any change that would leave them impossible. The product's cached pages are made stale
after commit (its card shows the average on every list).
"""

from __future__ import annotations

from django.db.models import F

from ..models import Product
from ..pagecache import products_pages_invalidate


def product_rating_apply(*, product_id: int, count: int, total: int) -> None:
    """Add `count` reviews summing `total` stars to the product's counters (negative to take
    them away). Runs inside the caller's transaction; takes the product row's lock for the
    statement only (an UPDATE), and schedules the pages' invalidation after commit."""
    Product.objects.filter(pk=product_id).update(
        rating_count=F("rating_count") + count, rating_total=F("rating_total") + total
    )
    products_pages_invalidate([product_id])
