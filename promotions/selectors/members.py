"""Reads of membership levels and RFM segments: the buyer's own level (always given the
buyer), and the staff screens' lists and counts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet

from marketplace.money import ZERO

from ..choices import RfmSegment
from ..models import Membership, MembershipLevel, RfmScore


def membership_levels() -> list[MembershipLevel]:
    """Every level, lowest threshold first."""
    return list(MembershipLevel.objects.order_by("threshold"))


@dataclass(frozen=True)
class MembershipView:
    """What the buyer's account page shows: the level held, the spend it was decided on (as
    of the last nightly run; None before the buyer's first), the next level and the spend
    still needed to reach it (None at the top), and every level."""

    level: MembershipLevel | None
    spend_12m: Decimal
    computed_at: datetime.datetime | None
    next_level: MembershipLevel | None
    needed: Decimal | None
    levels: list[MembershipLevel]


def membership_of(buyer) -> MembershipView:
    """The buyer's membership (two queries). A buyer the nightly run has not reached yet
    holds the base level with no spend."""
    levels = membership_levels()
    membership = Membership.objects.filter(buyer=buyer).first()
    if membership is None:
        spend, computed_at = ZERO, None
        level = levels[0] if levels else None
    else:
        spend, computed_at = membership.spend_12m, membership.computed_at
        level = next((lvl for lvl in levels if lvl.pk == membership.level_id), None)
    above = [lvl for lvl in levels if level is not None and lvl.threshold > level.threshold]
    next_level = above[0] if above else None
    needed = max(next_level.threshold - spend, ZERO) if next_level else None
    return MembershipView(level, spend, computed_at, next_level, needed, levels)


def rfm_scores() -> QuerySet[RfmScore]:
    """Every buyer's RFM row with the buyer (the staff list and its CSV)."""
    return RfmScore.objects.select_related("buyer").order_by("buyer_id")


def rfm_segment_counts() -> list[tuple[str, str, int]]:
    """(segment, its label, buyers) for every segment in the table's order, zeros included,
    counted in one query."""
    counts = dict(RfmScore.objects.exclude(segment="").values_list("segment").annotate(n=Count("id")).order_by())
    return [(value, str(label), counts.get(value, 0)) for value, label in RfmSegment.choices]
