"""Writes of the promotions app, one module per area; every public name is re-exported here,
so `from promotions.services import X` and `promotions.services.X` keep working."""

from .members import (
    SEGMENT_RULES,
    MembersRun,
    OrderFigures,
    SegmentRule,
    level_for_spend,
    members_as_of,
    members_refresh,
    membership_level_create,
    membership_level_update,
    membership_levels_delete,
    rfm_score_all,
    rfm_segment,
)

__all__ = [
    "SEGMENT_RULES",
    "MembersRun",
    "OrderFigures",
    "SegmentRule",
    "level_for_spend",
    "members_as_of",
    "members_refresh",
    "membership_level_create",
    "membership_level_update",
    "membership_levels_delete",
    "rfm_score_all",
    "rfm_segment",
]
