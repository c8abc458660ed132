"""Reads of the promotions app that matter, each given the acting merchant or buyer where a
merchant or buyer acts, so scoping cannot be forgotten."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from ..choices import GroupBuyStatus, GroupStatus, ParticipantStatus
from ..models import GroupBuyCampaign, GroupBuyGroup, GroupBuyParticipant, GroupBuyStep

# --- Ladder group buys -----------------------------------------------------------------------


def mask_name(user) -> str:
    """How a participant appears to others: the first character of the name (or e-mail) and
    two stars, so a shared group page shows that people joined, not who."""
    name = (user.get_full_name() or user.email or "?").strip()
    return f"{name[:1]}**"


def _steps() -> Prefetch:
    return Prefetch("steps", queryset=GroupBuyStep.objects.order_by("participants"))


def group_buy_list_for_merchant(merchant) -> QuerySet[GroupBuyCampaign]:
    """The merchant's campaigns with their figures: groups, groups that succeeded, paid
    participants."""
    return (
        GroupBuyCampaign.objects.filter(merchant=merchant)
        .select_related("sku", "sku__product")
        .prefetch_related(_steps())
        .annotate(
            group_count=Count("groups", distinct=True),
            succeeded_count=Count("groups", filter=Q(groups__status=GroupStatus.SUCCEEDED), distinct=True),
            paid_participants=Count(
                "groups__participants",
                filter=Q(groups__participants__status=ParticipantStatus.PAID),
                distinct=True,
            ),
        )
        .order_by("-id")
    )


def group_buy_get_for_merchant(merchant, campaign_id: int) -> GroupBuyCampaign | None:
    return group_buy_list_for_merchant(merchant).filter(pk=campaign_id).first()


def group_list_for_campaign(campaign: GroupBuyCampaign) -> QuerySet[GroupBuyGroup]:
    """A campaign's groups, newest first, with their participants (lapsed ones left out)."""
    participants = (
        GroupBuyParticipant.objects.exclude(status=ParticipantStatus.LAPSED).select_related("buyer").order_by("pk")
    )
    return (
        GroupBuyGroup.objects.filter(campaign=campaign)
        .prefetch_related(Prefetch("participants", queryset=participants, to_attr="members"))
        .order_by("-id")
    )


def group_buy_list_public(*, now=None) -> QuerySet[GroupBuyCampaign]:
    """Campaigns open for new groups now."""
    now = now or timezone.now()
    return (
        GroupBuyCampaign.objects.filter(status=GroupBuyStatus.ACTIVE, starts_at__lte=now, ends_at__gt=now)
        .select_related("sku", "sku__product", "merchant")
        .prefetch_related(_steps())
        .order_by("-id")
    )


def group_buy_get_public(campaign_id: int) -> GroupBuyCampaign | None:
    """A campaign for its public page, whatever its state (the page says whether it is open)."""
    return (
        GroupBuyCampaign.objects.filter(pk=campaign_id)
        .select_related("sku", "sku__product", "merchant")
        .prefetch_related(_steps())
        .first()
    )


def group_get_public(group_id: int) -> GroupBuyGroup | None:
    """A group for its shareable page: campaign, steps, participants with their buyer (for the
    masked name), lapsed ones left out."""
    participants = (
        GroupBuyParticipant.objects.exclude(status=ParticipantStatus.LAPSED).select_related("buyer").order_by("pk")
    )
    return (
        GroupBuyGroup.objects.filter(pk=group_id)
        .select_related("campaign", "campaign__sku", "campaign__sku__product", "campaign__merchant")
        .prefetch_related(
            Prefetch("campaign__steps", queryset=GroupBuyStep.objects.order_by("participants")),
            Prefetch("participants", queryset=participants, to_attr="members"),
        )
        .first()
    )


def group_ladder(group: GroupBuyGroup) -> dict:
    """Where a group stands: the step its paid participants reached (None below the first),
    the next step and how many more paid participants it needs."""
    steps = list(group.campaign.steps.all())
    count = group.paid_count
    reached = [s for s in steps if s.participants <= count]
    ahead = [s for s in steps if s.participants > count]
    return {
        "steps": steps,
        "first": steps[0] if steps else None,
        "current": reached[-1] if reached else None,
        "next": ahead[0] if ahead else None,
        "needed": (ahead[0].participants - count) if ahead else 0,
    }


def group_buy_participant_of_buyer(group: GroupBuyGroup, buyer) -> GroupBuyParticipant | None:
    if not getattr(buyer, "is_authenticated", False):
        return None
    return GroupBuyParticipant.objects.filter(group=group, buyer=buyer).exclude(status=ParticipantStatus.LAPSED).first()


def groups_due_ids(*, now=None) -> QuerySet:
    """Ids of open groups whose time is up, oldest first (closing works through them)."""
    now = now or timezone.now()
    return (
        GroupBuyGroup.objects.filter(status=GroupStatus.OPEN, closes_at__lte=now)
        .order_by("closes_at", "pk")
        .values_list("pk", flat=True)
    )


def participants_unsettled_ids() -> QuerySet:
    """Participants whose outcome is decided and not carried out yet (a run stopped halfway)."""
    return (
        GroupBuyParticipant.objects.filter(settled_at__isnull=True)
        .exclude(outcome="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def participant_get(participant_id: int) -> GroupBuyParticipant | None:
    return GroupBuyParticipant.objects.filter(pk=participant_id).select_related("group").first()
