"""Monthly settlement runs: started, settled batch by batch by the workers, previewed.

Guarantees (domain.md "Settlement"):
- a run for a period that has not ended is refused (409 `period_not_ended`);
- idempotent and resumable: a merchant that already has a statement for the period is
  skipped; each batch of merchants is one transaction, so a worker killed mid-batch leaves
  nothing of it and the batch is simply done again;
- batches and runs move by `BATCH_TRANSITIONS`/`RUN_TRANSITIONS` through the kernel's
  `transition`; a batch already finished (a task delivered twice) is left as it is;
- a batch's statements are computed by `computation.compute_statements` (what is settled
  when, and how it is summed in SQL); a dry run executes exactly the same code in a
  transaction that is rolled back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.errors import ConflictError, DomainError
from marketplace.jobs import enqueue_on_commit
from marketplace.money import ZERO
from marketplace.transitions import transition
from merchants import selectors as merchant_selectors

from ..choices import BatchStatus
from ..models import BATCH_TRANSITIONS, RUN_TRANSITIONS, SettlementBatch, SettlementRun, Statement
from ..periods import Period
from .computation import compute_statements


class SettlementError(DomainError):
    pass


class SettlementConflict(ConflictError):
    pass


def parse_period(value: str) -> Period:
    """ "2026-10" → Period; 400 `invalid_period` otherwise."""
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise SettlementError("invalid_period", _("A period looks like 2026-10.")) from exc


def _check_ended(period: Period) -> None:
    if not period.has_ended():
        raise SettlementConflict(
            "period_not_ended",
            _("%(period)s has not ended yet; it can be settled from %(date)s.")
            % {"period": period, "date": period.next.first_day.isoformat()},
        )


def merchants_to_settle(period: Period) -> list[int]:
    """Merchants that have ever been approved and have no statement for the period yet."""
    done = Statement.objects.filter(period=str(period)).values("merchant_id")
    return list(
        merchant_selectors.merchants_ever_approved().exclude(pk__in=done).order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def run_start(*, period: str, actor=None, batch_size: int | None = None, enqueue: bool = True) -> SettlementRun:
    """Create a run with one pending `SettlementBatch` row per batch of merchants, and
    schedule one task per batch (after commit). With `enqueue=False` the caller settles
    `selectors.run_batch_ids(run)` itself (the command's --sync, the demo)."""
    parsed = parse_period(period)
    _check_ended(parsed)
    batch_size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    merchant_ids = merchants_to_settle(parsed)
    batches = [merchant_ids[i : i + batch_size] for i in range(0, len(merchant_ids), batch_size)]
    run = SettlementRun.objects.create(
        period=str(parsed), started_by=actor, merchants_total=len(merchant_ids), batches_total=len(batches)
    )
    if not batches:
        return transition(run, "complete", table=RUN_TRANSITIONS, changes={"finished_at": timezone.now()})
    rows = SettlementBatch.objects.bulk_create(
        [
            SettlementBatch(run=run, number=n, merchant_ids=ids, merchant_count=len(ids))
            for n, ids in enumerate(batches, start=1)
        ]
    )
    if enqueue:
        for row in rows:
            enqueue_on_commit("settlements.tasks.settle_batch_task", row.pk)
    return run


def _finish_batch(batch: SettlementBatch, action: str, **changes) -> None:
    """Move `batch` (locked by the caller, still pending) by `action` of `BATCH_TRANSITIONS`
    with `changes`, then recount the run's progress from its batch rows under the run's
    lock, and end the run when no batch is pending any more: completed, or failed if one of
    them failed.

    Locks: the batch row (held by the caller), then the run row; every path takes them in
    this order. Two batches finishing together queue on the run row, and the second one's
    count (a new statement under READ COMMITTED) sees the first one's committed row."""
    batch = transition(
        batch, action, table=BATCH_TRANSITIONS, lock=False, changes={**changes, "finished_at": timezone.now()}
    )
    run = SettlementRun.objects.select_for_update().get(pk=batch.run_id)
    pending, done = Q(status=BatchStatus.PENDING), Q(status=BatchStatus.DONE)
    counts = run.batches.aggregate(
        finished=Count("pk", filter=~pending),
        pending=Count("pk", filter=pending),
        failed=Count("pk", filter=Q(status=BatchStatus.FAILED)),
        merchants=Coalesce(Sum("merchant_count", filter=done), 0),
        statements=Coalesce(Sum("statements_created"), 0),
    )
    progress = {
        "batches_done": counts["finished"],
        "merchants_done": counts["merchants"],
        "statements_created": counts["statements"],
    }
    if batch.status == BatchStatus.FAILED:
        ids = batch.merchant_ids
        progress["failures"] = [*run.failures, {"merchants": [ids[0], ids[-1]], "error": batch.error}]
    end = "fail" if counts["failed"] else "complete"
    if not counts["pending"] and RUN_TRANSITIONS.can(end, run):
        # The last batch ends the run, in the same UPDATE as its final count.
        transition(run, end, table=RUN_TRANSITIONS, lock=False, changes={**progress, "finished_at": timezone.now()})
        return
    for name, value in progress.items():
        setattr(run, name, value)
    run.save(update_fields=list(progress))


def settle_batch(*, batch_id: int) -> int:
    """Settle one batch in one transaction; returns the statements created (0 when the
    batch had already finished: a redelivered task settles and counts nothing).

    The batch row is locked first and moved pending → done in the same transaction as its
    statements, so a second delivery waits for the first and then finds it done; the run's
    progress is then recounted from its batch rows (see `_finish_batch`)."""
    with transaction.atomic():
        # of=("self",): lock the batch row only; the run row is locked briefly at the end, so
        # the workers' batches are computed side by side.
        batch = SettlementBatch.objects.select_for_update(of=("self",)).select_related("run").get(pk=batch_id)
        if not BATCH_TRANSITIONS.can("settle", batch):
            return 0  # already finished: a redelivered task settles and counts nothing
        created = compute_statements(
            period=Period.parse(batch.run.period), merchant_ids=batch.merchant_ids, run=batch.run
        )
        _finish_batch(batch, "settle", statements_created=created)
    return created


def record_batch_failure(*, batch_id: int, error: str) -> None:
    """Mark a pending batch that failed for good as failed, keep its merchants' range and the
    error on the run (shown in the admin), and end the run as failed when no batch is
    pending any more. Its merchants stay without a statement, so starting the period again
    settles them. A batch that already finished is left as it is."""
    with transaction.atomic():
        batch = SettlementBatch.objects.select_for_update().get(pk=batch_id)
        if not BATCH_TRANSITIONS.can("fail", batch):
            return  # already finished (settled, or failed by an earlier delivery): left as it is
        _finish_batch(batch, "fail", error=error[:500])


@dataclass
class Preview:
    period: str
    statements: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)


def run_preview(*, period: str) -> Preview:
    """Dry run: the same computation for every merchant, rolled back; nothing is written."""
    parsed = parse_period(period)
    _check_ended(parsed)
    preview = Preview(period=str(parsed))
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with transaction.atomic():
        merchant_ids = merchants_to_settle(parsed)
        compute_statements(period=parsed, merchant_ids=merchant_ids, run=None)
        statements = (
            Statement.objects.filter(period=str(parsed), merchant_id__in=merchant_ids)
            .select_related("merchant")
            .only("pk", "payable", "merchant_id", "merchant__company_name", "merchant__shop_name")
            .prefetch_related("lines", "frozen_orders")
        )
        for statement in statements:
            lines = {line.kind: line.amount for line in statement.lines.all()}
            preview.statements.append(
                {
                    "merchant_id": statement.merchant_id,
                    "merchant": str(statement.merchant),
                    "lines": lines,
                    "frozen": len(statement.frozen_orders.all()),
                    "payable": statement.payable,
                }
            )
            for kind, amount in lines.items():
                totals[kind] += amount
            totals["payable"] += statement.payable
        transaction.set_rollback(True)
    preview.totals = dict(totals)
    return preview
