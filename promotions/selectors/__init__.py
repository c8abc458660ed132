"""Reads of the promotions app, one module per area; every public name is re-exported here."""

from .members import (
    MembershipView,
    membership_levels,
    membership_of,
    rfm_scores,
    rfm_segment_counts,
)
from .promotions import (
    LIVE_INDEX_KEY,
    LIVE_INDEX_TTL,
    approval_queue,
    cart_line_of,
    live_index_forget,
    live_offers,
    live_offers_possible,
    offer_of,
    promotion_get_for_merchant,
    promotion_list_for_merchant,
    promotion_list_platform,
)

__all__ = [
    "LIVE_INDEX_KEY",
    "LIVE_INDEX_TTL",
    "MembershipView",
    "approval_queue",
    "cart_line_of",
    "live_index_forget",
    "live_offers",
    "live_offers_possible",
    "membership_levels",
    "membership_of",
    "offer_of",
    "promotion_get_for_merchant",
    "promotion_list_for_merchant",
    "promotion_list_platform",
    "rfm_scores",
    "rfm_segment_counts",
]
