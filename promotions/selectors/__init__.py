"""Reads of the promotions app, one module per area; every public name is re-exported here."""

from .members import (
    MembershipView,
    membership_levels,
    membership_of,
    rfm_scores,
    rfm_segment_counts,
)

__all__ = ["MembershipView", "membership_levels", "membership_of", "rfm_scores", "rfm_segment_counts"]
