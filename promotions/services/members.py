"""Buyer membership levels and RFM segments (issue #13, domain.md "Promotions").

Meanings (domain.md): a buyer's *spend* is the goods they paid for in the 12 months up to the
run's moment: merchant orders paid in that window, their goods after discounts (what the buyer
paid, shipping aside) minus what was refunded on their lines; a cancelled merchant order never
counts. *Frequency* is the number of buyer orders paid in the window with at least one merchant
order not cancelled; *recency* the calendar days (platform time zone) from the last such
payment, at any time, to the run's moment; *monetary* the spend.

The orders app sits above promotions, so these figures reach the services below as plain
rows read by orders selectors the nightly task passes in (`members_refresh(figures=...)`);
nothing here imports orders.

Scores 1–5 are quintiles over every buyer with a paid order, computed in one SQL statement
with `NTILE(5)`: a higher score is better (more recent, more orders, more spend). Buyers with
equal figures share the lowest quintile their figure reaches, so a 5 means the figure is in
the top fifth outright and the result never depends on the order of ids. The segment follows
from the scores by `SEGMENT_RULES`, the first rule that matches:

| segment     | R     | F     | F + M | who                                           |
| ----------- | ----- | ----- | ----- | --------------------------------------------- |
| champions   | 4–5   |       | ≥ 8   | bought lately, often and much                 |
| loyal       | 3–5   |       | ≥ 6   | buy regularly and spend well                  |
| new         | 4–5   | 1     |       | a recent first purchase                       |
| potential   | 3–5   |       |       | recent buyers who may grow                    |
| at risk     | 1–2   |       | ≥ 6   | were good buyers, not seen for a while        |
| hibernating | 2     |       |       | low and not recent                            |
| lost        | 1     |       |       | the oldest last purchases, little else        |
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.audit import audit_record
from marketplace.edits import audited_create, audited_update, only_fields
from marketplace.jobs import run_each
from marketplace.money import ZERO, quantize

from ..choices import RfmSegment
from ..errors import MembershipError
from ..models import Membership, MembershipChange, MembershipLevel, RfmScore

logger = logging.getLogger(__name__)

LEVEL_FIELDS = ("code", "name", "threshold", "benefits")

#: Buyers handled per transaction by the nightly run: each batch is one read of the orders
#: selector and a handful of bulk statements, so 100,000 buyers are 50 short transactions.
BATCH_SIZE = 2000

# The session-level advisory lock that lets one nightly run work at a time. Session-level
# (not transaction-level) because a run is many transactions; a worker that dies closes its
# connection, and PostgreSQL releases the lock with it.
RUN_LOCK_ID = int.from_bytes(hashlib.sha256(b"promotions.members_refresh").digest()[:8], "big", signed=True)


# --- Levels (operations edit them in the admin) -------------------------------------------------


def level_for_spend(levels: Iterable[MembershipLevel], spend: Decimal) -> MembershipLevel:
    """The level with the highest threshold at or below `spend` (`levels` hold a base at 0)."""
    held = None
    for level in sorted(levels, key=lambda lvl: lvl.threshold):
        if level.threshold <= spend:
            held = level
    if held is None:
        raise MembershipError("level_base_required", _("One membership level must start at ¥0."))
    return held


def _check_levels(thresholds: list[Decimal]) -> None:
    """Refuse a set of thresholds that is not strictly increasing or has no base at 0."""
    if any(t < 0 for t in thresholds):
        raise MembershipError("level_threshold_negative", _("A threshold cannot be negative."))
    if len(set(thresholds)) != len(thresholds):
        raise MembershipError(
            "level_threshold_taken",
            _("Another level already starts at this spend: thresholds must be strictly increasing."),
        )
    if ZERO not in thresholds:
        raise MembershipError("level_base_required", _("One membership level must start at ¥0."))


def _lock_levels() -> list[MembershipLevel]:
    # Every edit locks every level (in pk order, the house rule): the checks are about the
    # whole set, and two edits that each look fine alone must not make a set that is not.
    return list(MembershipLevel.objects.select_for_update().order_by("pk"))


@transaction.atomic
def membership_level_create(*, actor, **fields) -> MembershipLevel:
    """Add a level (`LEVEL_FIELDS`); audited. Locks every level; refuses (400, nothing
    written) a threshold another level has (`level_threshold_taken`), a negative one
    (`level_threshold_negative`) or a set without a level at ¥0 (`level_base_required`).
    Buyers move to it at the next nightly run."""
    fields = only_fields(fields, LEVEL_FIELDS)
    fields["threshold"] = quantize(fields["threshold"])
    levels = _lock_levels()
    _check_levels([lvl.threshold for lvl in levels] + [fields["threshold"]])
    return audited_create(MembershipLevel, action="promotions.membership_level_created", actor=actor, **fields)


@transaction.atomic
def membership_level_update(*, level: MembershipLevel, actor, **changes) -> MembershipLevel:
    """Change a level's `LEVEL_FIELDS`; returns the row. Locks every level; writes and audits
    only what differs; the same refusals as `membership_level_create`. Buyers' levels follow
    a new threshold at the next nightly run."""
    changes = only_fields(changes, LEVEL_FIELDS)
    if "threshold" in changes:
        changes["threshold"] = quantize(changes["threshold"])
    levels = _lock_levels()
    locked = next(lvl for lvl in levels if lvl.pk == level.pk)
    if "threshold" in changes:
        _check_levels([changes["threshold"] if lvl.pk == locked.pk else lvl.threshold for lvl in levels])
    audited_update(locked, changes, action="promotions.membership_level_changed", actor=actor)
    return locked


@transaction.atomic
def membership_levels_delete(*, levels, actor) -> int:
    """Delete these levels, each audited; returns how many. Locks every level. The base level
    (¥0) cannot go (`level_base_required`, nothing deleted). Buyers holding a deleted level
    move at once to the level their last computed spend reaches among the remaining ones, each
    move written to the history."""
    ids = {lvl.pk for lvl in levels}
    all_levels = _lock_levels()
    remaining = [lvl for lvl in all_levels if lvl.pk not in ids]
    _check_levels([lvl.threshold for lvl in remaining])
    doomed = [lvl for lvl in all_levels if lvl.pk in ids]
    now = timezone.now()
    held = Membership.objects.select_for_update().filter(level_id__in=ids).select_related("level").order_by("pk")
    changes, moved = [], []
    for membership in held:
        new_level = level_for_spend(remaining, membership.spend_12m)
        changes.append(_change(membership.buyer_id, membership.level, new_level, membership.spend_12m, now))
        membership.level = new_level
        moved.append(membership)
    Membership.objects.bulk_update(moved, ["level"], batch_size=BATCH_SIZE)
    MembershipChange.objects.bulk_create(changes, batch_size=BATCH_SIZE)
    for level in doomed:
        audit_record(
            action="promotions.membership_level_deleted",
            actor=actor,
            obj=level,
            data={"name": level.name, "threshold": str(level.threshold)},
        )
        level.delete()
    return len(doomed)


def _change(buyer_id, old: MembershipLevel | None, new: MembershipLevel, spend: Decimal, at) -> MembershipChange:
    return MembershipChange(
        buyer_id=buyer_id,
        from_level=old,
        to_level=new,
        from_name=old.name if old else "",
        to_name=new.name,
        spend_12m=spend,
        changed_at=at,
    )


# --- The nightly run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRule:
    """Scores in [r_min, r_max], F ≤ f_max and F + M ≥ fm_min give `segment`."""

    segment: str
    r_min: int = 1
    r_max: int = 5
    f_max: int = 5
    fm_min: int = 2


#: The table of the module docstring, first match wins; the last rule matches everyone left.
SEGMENT_RULES = (
    SegmentRule(RfmSegment.CHAMPIONS, r_min=4, fm_min=8),
    SegmentRule(RfmSegment.LOYAL, r_min=3, fm_min=6),
    SegmentRule(RfmSegment.NEW, r_min=4, f_max=1),
    SegmentRule(RfmSegment.POTENTIAL, r_min=3),
    SegmentRule(RfmSegment.AT_RISK, r_max=2, fm_min=6),
    SegmentRule(RfmSegment.HIBERNATING, r_min=2, r_max=2),
    SegmentRule(RfmSegment.LOST),
)


def rfm_segment(r: int, f: int, m: int) -> str:
    """The segment of these scores by `SEGMENT_RULES` (the SQL of `rfm_score_all` is built
    from the same table)."""
    for rule in SEGMENT_RULES:
        if rule.r_min <= r <= rule.r_max and f <= rule.f_max and f + m >= rule.fm_min:
            return rule.segment
    raise AssertionError("SEGMENT_RULES ends with a rule that matches every score")


def members_as_of(now: datetime.datetime | None = None) -> datetime.datetime:
    """The moment a nightly run computes "as of": the start of the current day in the
    platform's time zone, so every run of the same day, or one resumed after a crash, reads
    and writes the same figures."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def window_start(as_of: datetime.datetime) -> datetime.datetime:
    """12 months before `as_of` (29 February goes back to 28 February)."""
    local = timezone.localtime(as_of)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:
        return local.replace(year=local.year - 1, day=28)


@dataclass
class MembersRun:
    """What a nightly run did. `ran` is False when another run held the lock; `failed`
    batches are recorded as job failures for staff (and the run then resets nobody)."""

    ran: bool = True
    buyers: int = 0
    batches: int = 0
    failed: int = 0
    level_changes: int = 0
    reset: int = 0
    scored: int = 0


#: The job's name on its failures (`marketplace.jobs.run_each`); a batch is named by the
#: buyer id it starts after.
JOB = "promotions.members_refresh"
BATCH_OBJECT = "promotions.buyer_batch"


@dataclass(frozen=True)
class OrderFigures:
    """The reads the nightly run needs from the orders app, passed in by the task (promotions
    may not import orders).

    `bounds(size=, until=)`: the buyer ids closing each run of `size` buyers with a paid order;
    `activity(after_buyer_id=, up_to_buyer_id=, since=, until=)`: a row per buyer of the
    range with a counted paid order, {"buyer_id", "last_paid_at", "orders_12m",
    "goods_paid_12m"}, in buyer id order."""

    bounds: Callable[..., list[int]]
    activity: Callable[..., list[dict]]


def members_refresh(*, figures: OrderFigures, as_of: datetime.datetime, batch_size: int = BATCH_SIZE) -> MembersRun:
    """The nightly run: every buyer's level and RFM figures as of `as_of`, then the scores.

    Guarantees:
    - one run at a time: a session-level advisory lock; a second run while one works returns
      at once with `ran=False` and writes nothing;
    - batches of `batch_size` buyers (ranges of buyer ids fixed at the start), each read and
      stored in its own transaction through `marketplace.jobs.run_each`: a failing batch rolls
      back alone, is recorded for staff and the run goes on; a killed run keeps the batches it
      finished and the next run redoes the rest;
    - idempotent: a run writes only rows whose values differ, so running it again for the
      same `as_of` writes nothing at all; a level change writes one history row;
    - when every batch succeeded, buyers with a membership the run did not reach (every paid
      order of theirs was cancelled) go back to the base level with spend 0 and lose their
      RFM row (after a failed batch nobody is reset: its buyers were not reached either);
    - the scores and segments are computed last, in one statement over every RFM row.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_ID])
        (locked,) = cursor.fetchone()
    if not locked:
        logger.info("members_refresh: another run holds the lock; nothing done")
        return MembersRun(ran=False)
    try:
        run = MembersRun()
        since = window_start(as_of)
        bounds = figures.bounds(size=batch_size, until=as_of)
        starts = [0, *bounds]
        ends = dict(zip(starts, [*bounds, None], strict=True))

        def store(after: int) -> bool:
            rows = figures.activity(after_buyer_id=after, up_to_buyer_id=ends[after], since=since, until=as_of)
            changes = _store_batch(rows, as_of)
            # Counted once the batch's writes went through (a failing one raised before).
            run.level_changes += changes
            run.buyers += len(rows)
            return bool(rows)

        job = run_each(job=JOB, object_type=BATCH_OBJECT, ids=starts, handle=store)
        run.batches, run.failed = job.done + job.skipped + job.failed, job.failed
        if not job.failed:
            with transaction.atomic():
                run.reset, changes = _reset_unreached(as_of)
                run.level_changes += changes
        run.scored = rfm_score_all()
        return run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_ID])


def _recency_days(as_of: datetime.datetime, last_paid_at: datetime.datetime) -> int:
    return max((timezone.localdate(as_of) - timezone.localdate(last_paid_at)).days, 0)


def _store_batch(rows: list[dict], as_of: datetime.datetime) -> int:
    """Write the batch's memberships and RFM figures that differ; returns the level changes."""
    if not rows:
        return 0
    levels = list(MembershipLevel.objects.order_by("threshold"))
    by_id = {lvl.pk: lvl for lvl in levels}
    buyer_ids = [row["buyer_id"] for row in rows]
    # Locked in pk order: a level deletion moving buyers at the same moment waits for the batch.
    memberships = {
        m.buyer_id: m for m in Membership.objects.select_for_update().filter(buyer_id__in=buyer_ids).order_by("pk")
    }
    scores = {s.buyer_id: s for s in RfmScore.objects.filter(buyer_id__in=buyer_ids)}
    new_members, changed_members, history = [], [], []
    new_scores, changed_scores = [], []
    for row in rows:
        buyer_id = row["buyer_id"]
        spend = quantize(row["goods_paid_12m"] or ZERO)
        level = level_for_spend(levels, spend)
        current = memberships.get(buyer_id)
        if current is None:
            new_members.append(Membership(buyer_id=buyer_id, level=level, spend_12m=spend, computed_at=as_of))
            history.append(_change(buyer_id, None, level, spend, as_of))
        elif (current.level_id, current.spend_12m, current.computed_at) != (level.pk, spend, as_of):
            if current.level_id != level.pk:
                history.append(_change(buyer_id, by_id.get(current.level_id), level, spend, as_of))
            current.level, current.spend_12m, current.computed_at = level, spend, as_of
            changed_members.append(current)
        figures = {
            "recency_days": _recency_days(as_of, row["last_paid_at"]),
            "frequency": row["orders_12m"],
            "monetary": spend,
            "computed_at": as_of,
        }
        score = scores.get(buyer_id)
        if score is None:
            new_scores.append(RfmScore(buyer_id=buyer_id, **figures))
        elif any(getattr(score, name) != value for name, value in figures.items()):
            for name, value in figures.items():
                setattr(score, name, value)
            changed_scores.append(score)
    Membership.objects.bulk_create(new_members)
    Membership.objects.bulk_update(changed_members, ["level", "spend_12m", "computed_at"])
    MembershipChange.objects.bulk_create(history)
    RfmScore.objects.bulk_create(new_scores)
    RfmScore.objects.bulk_update(changed_scores, ["recency_days", "frequency", "monetary", "computed_at"])
    return len(history)


def _reset_unreached(as_of: datetime.datetime) -> tuple[int, int]:
    """Buyers the run did not reach have no counted paid order any more: base level, spend 0,
    no RFM row. Returns (memberships reset, level changes)."""
    stale = list(
        Membership.objects.select_for_update().filter(computed_at__lt=as_of).select_related("level").order_by("pk")
    )
    RfmScore.objects.filter(computed_at__lt=as_of).delete()
    if not stale:
        return 0, 0
    base = level_for_spend(MembershipLevel.objects.all(), ZERO)
    history = []
    for membership in stale:
        if membership.level_id != base.pk:
            history.append(_change(membership.buyer_id, membership.level, base, ZERO, as_of))
        membership.level, membership.spend_12m, membership.computed_at = base, ZERO, as_of
    Membership.objects.bulk_update(stale, ["level", "spend_12m", "computed_at"], batch_size=BATCH_SIZE)
    MembershipChange.objects.bulk_create(history, batch_size=BATCH_SIZE)
    return len(stale), len(history)


def _segment_case() -> tuple[str, list]:
    whens, params = [], []
    for rule in SEGMENT_RULES:
        whens.append("WHEN r BETWEEN %s AND %s AND f <= %s AND f + m >= %s THEN %s")
        params += [rule.r_min, rule.r_max, rule.f_max, rule.fm_min, str(rule.segment)]
    return "CASE " + " ".join(whens) + " END", params


@transaction.atomic
def rfm_score_all() -> int:
    """Score every RFM row: quintiles by `NTILE(5)` over all rows (ties share the lowest
    quintile they reach), the segment by `SEGMENT_RULES`, in one UPDATE that rewrites only
    rows whose scores or segment differ. Returns how many rows it changed."""
    table = RfmScore._meta.db_table
    case, params = _segment_case()
    # The table name is the model's; every value is a parameter.
    sql = f"""
        WITH tiles AS (
            SELECT id, recency_days, frequency, monetary,
                   NTILE(5) OVER (ORDER BY recency_days DESC, buyer_id) AS r_tile,
                   NTILE(5) OVER (ORDER BY frequency, buyer_id) AS f_tile,
                   NTILE(5) OVER (ORDER BY monetary, buyer_id) AS m_tile
            FROM {table}
        ), shared AS (
            SELECT id,
                   MIN(r_tile) OVER (PARTITION BY recency_days) AS r,
                   MIN(f_tile) OVER (PARTITION BY frequency) AS f,
                   MIN(m_tile) OVER (PARTITION BY monetary) AS m
            FROM tiles
        ), scored AS (
            SELECT id, r, f, m, {case} AS segment FROM shared
        )
        UPDATE {table} AS s
           SET r_score = scored.r, f_score = scored.f, m_score = scored.m, segment = scored.segment
          FROM scored
         WHERE s.id = scored.id
           AND (s.r_score, s.f_score, s.m_score, s.segment)
               IS DISTINCT FROM (scored.r, scored.f, scored.m, scored.segment)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
