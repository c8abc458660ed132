"""Ladder group buys (阶梯式成团): campaigns, groups, participants, and closing a group.

Guarantees:
- a campaign's steps rise strictly in participants (from 2) and in percent (below 100), so
  the step reached never gets dearer as more buyers join; the first step is what joining costs;
- joining (`group_buy_join_terms`, then `group_buy_participant_record` in the same
  transaction, driven by `orders.services.group_buy_join`) holds the group's row lock (the
  campaign's when it opens a new group): one place per buyer per group (also a partial unique
  constraint), never a place in a closed or expired group;
- only paid participants count: `group_buy_order_paid` (called by orders when the order is
  paid) counts a participant under the group's lock only while the group is open, so the count
  closing reads can no longer move;
- closing (`group_buy_decide`) writes, under the group's lock, each participant's outcome and
  refund once; carrying them out (`orders.services.group_buys`) claims one participant at a time
  under its row lock (`group_buy_participant_claim`) and marks it settled
  (`group_buy_participant_settled`) in the transaction that records the refund: a close run
  twice or stopped halfway refunds each participant exactly once.
Locks are taken campaign or group first, then participants in primary-key order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import sku_get_for_merchant
from marketplace.audit import audit_record
from marketplace.errors import NotFoundError
from marketplace.money import ZERO, allocate, quantize
from marketplace.transitions import transition

from ..choices import GroupBuyOutcome, GroupBuyStatus, GroupStatus, ParticipantStatus
from ..errors import GroupBuyConflict, GroupBuyError
from ..models import (
    GROUP_BUY_TRANSITIONS,
    GROUP_TRANSITIONS,
    PARTICIPANT_TRANSITIONS,
    GroupBuyCampaign,
    GroupBuyGroup,
    GroupBuyParticipant,
    GroupBuyStep,
)

HUNDRED = Decimal("100")
#: A ladder has at most this many steps (a page shows them all).
MAX_STEPS = 10


def validate_group_buy_steps(steps: Iterable) -> list[tuple[int, Decimal]]:
    """The steps as (participants, percent) sorted as given; 400 unless there are 1 to
    MAX_STEPS of them, counts are whole numbers from 2 and percents above 0 and below 100,
    both strictly increasing."""
    try:
        cleaned = [(int(count), Decimal(str(percent))) for count, percent in steps]
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise GroupBuyError("invalid_steps", _("Each step needs a number of participants and a percentage.")) from exc
    if not 1 <= len(cleaned) <= MAX_STEPS:
        raise GroupBuyError(
            "invalid_steps", _("Give from 1 to %(max)s steps.") % {"max": MAX_STEPS}, {"max_steps": MAX_STEPS}
        )
    for count, percent in cleaned:
        if count < 2:
            raise GroupBuyError("invalid_steps", _("A step needs at least 2 participants."))
        if not ZERO < percent < HUNDRED or percent != percent.quantize(Decimal("0.01")):
            raise GroupBuyError(
                "invalid_percent", _("A percentage off is above 0 and below 100, with at most two decimals.")
            )
    for (count, percent), (next_count, next_percent) in itertools.pairwise(cleaned):
        if next_count <= count or next_percent <= percent:
            raise GroupBuyError(
                "steps_not_increasing",
                _("Each step needs more participants and a larger percentage than the one before."),
            )
    return cleaned


@transaction.atomic
def group_buy_create(
    *,
    merchant,
    actor,
    sku_id: int,
    name: str,
    starts_at,
    ends_at,
    steps: Iterable,
    max_quantity: int = 1,
    window_hours: int = 24,
) -> GroupBuyCampaign:
    """A merchant's group buy of one of its own SKUs, active from `starts_at`, funded by the
    merchant (a platform share is set by operations in the admin). 404 `not_found` for another
    merchant's SKU (ids cannot be probed); 400 for bad steps, window or quantity. Audited."""
    sku = sku_get_for_merchant(merchant, sku_id)
    if sku is None:
        raise NotFoundError(message=_("No such SKU."))
    ladder = validate_group_buy_steps(steps)
    name = (name or "").strip()
    if not name:
        raise GroupBuyError("name_required", _("Give the group buy a name."))
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise GroupBuyError("invalid_window", _("The end must come after the start."))
    if not isinstance(max_quantity, int) or not 1 <= max_quantity <= 99:
        raise GroupBuyError("invalid_quantity", _("Units per participant go from 1 to 99."))
    if not isinstance(window_hours, int) or not 1 <= window_hours <= 168:
        raise GroupBuyError("invalid_window", _("A group stays open from 1 to 168 hours."))
    campaign = GroupBuyCampaign.objects.create(
        merchant=merchant,
        sku=sku,
        name=name[:120],
        starts_at=starts_at,
        ends_at=ends_at,
        max_quantity=max_quantity,
        window_hours=window_hours,
        created_by=actor,
    )
    GroupBuyStep.objects.bulk_create(
        [GroupBuyStep(campaign=campaign, participants=count, percent=percent) for count, percent in ladder]
    )
    audit_record(
        action="promotions.group_buy_created",
        actor=actor,
        obj=campaign,
        data={"sku": sku.pk, "steps": [[count, str(percent)] for count, percent in ladder]},
    )
    return campaign


@transaction.atomic
def group_buy_transition(*, campaign: GroupBuyCampaign, action: str, actor) -> GroupBuyCampaign:
    """Pause, resume or end a campaign (`GROUP_BUY_TRANSITIONS`; 409 `invalid_transition`
    otherwise). Locks the campaign. Open groups run to their end either way: their buyers paid."""
    locked = transition(campaign, action, table=GROUP_BUY_TRANSITIONS)
    audit_record(action=f"promotions.group_buy_{action}", actor=actor, obj=locked)
    return locked


@transaction.atomic
def group_buy_set_platform_share(*, campaign: GroupBuyCampaign, share, actor) -> GroupBuyCampaign:
    """Operations set the share of every discount the platform pays (0 to 1) for the orders
    placed from now on; orders already placed keep the split frozen on their lines. Locks the
    campaign; 400 `invalid_share`; audited with the previous share."""
    try:
        share = Decimal(str(share))
    except (InvalidOperation, ValueError) as exc:
        raise GroupBuyError("invalid_share", _("The platform share goes from 0 to 1.")) from exc
    if not ZERO <= share <= 1 or share != share.quantize(Decimal("0.0001")):
        raise GroupBuyError("invalid_share", _("The platform share goes from 0 to 1."))
    share = share.quantize(Decimal("0.0001"))
    locked = GroupBuyCampaign.objects.select_for_update().get(pk=campaign.pk)
    previous = locked.platform_share
    locked.platform_share = share
    locked.save(update_fields=["platform_share"])
    audit_record(
        action="promotions.group_buy_platform_share",
        actor=actor,
        obj=locked,
        data={"from": str(previous), "to": str(share)},
    )
    return locked


def group_buy_step_discount(gross: Decimal, percent: Decimal, platform_share: Decimal) -> tuple[Decimal, Decimal]:
    """(merchant part, platform part) of `percent` off `gross`, rounded once half up and
    split by the funding with `money.allocate` (the parts sum to the discount exactly)."""
    discount = quantize(gross * percent / HUNDRED)
    merchant_part, platform_part = allocate(discount, [1 - platform_share, platform_share])
    return merchant_part, platform_part


@dataclass(frozen=True)
class GroupBuyTerms:
    """What a buyer joining a group pays: the campaign's SKU at its first step, funded so."""

    group: GroupBuyGroup
    sku_id: int
    quantity: int
    first_percent: Decimal
    platform_share: Decimal

    def discount(self, gross: Decimal) -> tuple[Decimal, Decimal]:
        return group_buy_step_discount(gross, self.first_percent, self.platform_share)


def group_buy_join_terms(*, campaign_id: int, group_id: int | None, buyer, quantity, now=None) -> GroupBuyTerms:
    """Lock a place for `buyer`: in group `group_id` of the campaign (locked; 409
    `group_closed` when it is no longer open or its time is up), or in a new group opened now
    (the campaign locked; 409 `group_buy_not_active` outside its window or when paused). 409
    `already_joined` when the buyer holds a place in that group. Call inside the transaction
    that places the order and records the participant."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("group_buy_join_terms() must run in a transaction.")
    now = now or timezone.now()
    campaign = GroupBuyCampaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFoundError(message=_("No such group buy."))
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= campaign.max_quantity:
        raise GroupBuyError(
            "invalid_quantity",
            _("Each participant buys from 1 to %(max)s units.") % {"max": campaign.max_quantity},
            {"max_quantity": campaign.max_quantity},
        )
    if group_id is None:
        if campaign.status != GroupBuyStatus.ACTIVE or not campaign.starts_at <= now < campaign.ends_at:
            raise GroupBuyConflict("group_buy_not_active", _("This group buy is not open for new groups now."))
        group = GroupBuyGroup.objects.create(
            campaign=campaign,
            opened_by=buyer,
            opened_at=now,
            closes_at=now + timedelta(hours=campaign.window_hours),
        )
    else:
        group = GroupBuyGroup.objects.select_for_update().filter(pk=group_id, campaign=campaign).first()
        if group is None:
            raise NotFoundError(message=_("No such group."))
        if group.status != GroupStatus.OPEN or group.closes_at <= now:
            raise GroupBuyConflict("group_closed", _("This group has closed; open a new one."))
        taken = (
            GroupBuyParticipant.objects.filter(group=group, buyer=buyer)
            .exclude(status=ParticipantStatus.LAPSED)
            .exists()
        )
        if taken:
            raise GroupBuyConflict("already_joined", _("You are already in this group."))
    first = campaign.steps.order_by("participants").first()
    return GroupBuyTerms(
        group=group,
        sku_id=campaign.sku_id,
        quantity=quantity,
        first_percent=first.percent,
        platform_share=campaign.platform_share,
    )


def group_buy_participant_record(
    *, terms: GroupBuyTerms, buyer, order_id: int, unit_price: Decimal, merchant_discount, platform_discount
) -> GroupBuyParticipant:
    """The participant of the order just placed on `terms` (same transaction, the group still
    locked), with the line's frozen figures. Audited."""
    try:
        with transaction.atomic():
            participant = GroupBuyParticipant.objects.create(
                group=terms.group,
                buyer=buyer,
                quantity=terms.quantity,
                order_id=order_id,
                unit_price=unit_price,
                gross=quantize(unit_price * terms.quantity),
                first_percent=terms.first_percent,
                merchant_discount=merchant_discount,
                platform_discount=platform_discount,
            )
    except IntegrityError as exc:  # the constraint behind the check made under the lock
        raise GroupBuyConflict("already_joined", _("You are already in this group.")) from exc
    audit_record(
        action="promotions.group_buy_joined",
        actor=buyer,
        obj=terms.group,
        data={"participant": participant.pk, "order": order_id},
    )
    return participant


def _participant_of_order(order_id: int) -> GroupBuyParticipant | None:
    """The order's participant with its group locked first, then itself (the house order)."""
    group_id = GroupBuyParticipant.objects.filter(order_id=order_id).values_list("group_id", flat=True).first()
    if group_id is None:
        return None
    GroupBuyGroup.objects.select_for_update().filter(pk=group_id).first()
    return GroupBuyParticipant.objects.select_for_update().select_related("group").get(order_id=order_id)


def group_buy_order_paid(*, order_id: int, now=None) -> bool:
    """Orders call this when a buyer order is paid (in that transaction): its participant, if
    any, counts from now on, provided its group is still open. Locks the group, then the
    participant. A participant paying after the close is not counted: closing refunds it in
    full. Returns whether it counted."""
    participant = _participant_of_order(order_id)
    if participant is None or participant.status != ParticipantStatus.PENDING:
        return False
    if participant.group.status != GroupStatus.OPEN:
        return False
    transition(
        participant, "pay", table=PARTICIPANT_TRANSITIONS, lock=False, changes={"paid_at": now or timezone.now()}
    )
    GroupBuyGroup.objects.filter(pk=participant.group_id).update(paid_count=F("paid_count") + 1)
    return True


def group_buy_order_cancelled(*, order_id: int) -> bool:
    """Orders call this when an unpaid buyer order is cancelled (in that transaction): its
    participant lapses and the buyer may join the group again. Locks as above."""
    participant = _participant_of_order(order_id)
    if participant is None or participant.status != ParticipantStatus.PENDING:
        return False
    transition(participant, "lapse", table=PARTICIPANT_TRANSITIONS, lock=False)
    return True


def _step_reached(steps: list[GroupBuyStep], count: int) -> GroupBuyStep | None:
    reached = [step for step in steps if step.participants <= count]
    return reached[-1] if reached else None


def group_buy_decide(
    *, group_id: int, standing_orders: Callable[[list[int]], Iterable[int]], now=None
) -> list[int] | None:
    """Close a group whose time is up: the step reached by its paid participants decides the
    final percent; each participant gets its outcome once. Returns the ids of the participants
    with something to carry out (None when the group was closed already or is not due).
    Call inside a transaction.

    `standing_orders(order_ids)` answers which of the participants' orders are still paid and
    not cancelled (orders reads them; promotions cannot). It is asked once the group and its
    participants are locked, so no payment can be counted meanwhile (paying locks the group
    too): a paid participant whose order was cancelled since (and refunded by that) does not
    count and gets nothing more. Outcomes: the group reached a
    step → each standing paid participant is refunded (final − first) percent of its gross
    (`difference`, `nothing` when that is 0); below the first step → refunded in full
    (`full_refund`); a participant still unpaid → its order is cancelled (`unpaid_cancel`).
    Locks the group, then its participants in primary-key order; audited."""
    now = now or timezone.now()
    group = (
        GroupBuyGroup.objects.select_for_update()
        .filter(pk=group_id, status=GroupStatus.OPEN, closes_at__lte=now)
        .first()
    )
    if group is None:
        return None
    participants = list(
        GroupBuyParticipant.objects.select_for_update()
        .filter(group=group)
        .exclude(status=ParticipantStatus.LAPSED)
        .order_by("pk")
    )
    standing = set(standing_orders([p.order_id for p in participants if p.order_id is not None]))
    counted = [p for p in participants if p.status == ParticipantStatus.PAID and p.order_id in standing]
    step = _step_reached(list(group.campaign.steps.order_by("participants")), len(counted))
    action = "succeed" if step is not None else "fail"
    transition(
        group,
        action,
        table=GROUP_TRANSITIONS,
        lock=False,
        changes={
            "final_percent": step.percent if step else None,
            "closed_at": now,
            "paid_count": len(counted),
        },
    )
    to_settle = []
    for participant in participants:
        participant.outcome, participant.refund_due = _outcome(participant, step, counted)
        if participant.outcome == GroupBuyOutcome.NOTHING:
            participant.settled_at = now  # nothing to carry out
        else:
            to_settle.append(participant.pk)
        participant.save(update_fields=["outcome", "refund_due", "settled_at"])
    audit_record(
        action=f"promotions.group_{action}",
        obj=group,
        data={"paid": len(counted), "final_percent": str(step.percent) if step else None},
    )
    return to_settle


def _outcome(participant: GroupBuyParticipant, step, counted) -> tuple[str, Decimal | None]:
    if participant.status == ParticipantStatus.PENDING:
        return GroupBuyOutcome.UNPAID_CANCEL, None
    if participant not in counted:
        return GroupBuyOutcome.NOTHING, ZERO
    if step is None:
        return GroupBuyOutcome.FULL_REFUND, participant.paid
    final_discount = quantize(participant.gross * step.percent / HUNDRED)
    due = final_discount - participant.discount
    return (GroupBuyOutcome.DIFFERENCE, due) if due > 0 else (GroupBuyOutcome.NOTHING, ZERO)


def group_buy_participant_claim(*, participant_id: int) -> GroupBuyParticipant | None:
    """The participant locked, when its outcome is decided and not carried out yet; None
    otherwise (settled by an earlier run, or nothing to do). Call inside the transaction
    that carries the outcome out and then calls `group_buy_participant_settled`."""
    return (
        GroupBuyParticipant.objects.select_for_update()
        .filter(pk=participant_id, settled_at__isnull=True)
        .exclude(outcome="")
        .first()
    )


def group_buy_participant_settled(*, participant: GroupBuyParticipant, refund_id: int | None, now=None) -> None:
    """Mark a claimed participant's outcome carried out (its refund's id, if any): a later run
    claims it no more. Same transaction as the refund, so both are recorded or neither."""
    participant.settled_at = now or timezone.now()
    participant.refund_id = refund_id
    participant.save(update_fields=["settled_at", "refund_id"])
