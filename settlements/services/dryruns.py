"""The settlement dry run as a Celery job (issue #16).

Guarantees:
- `dry_run_start` refuses a period that is not a period (400 `invalid_period`) or has not
  ended (409 `period_not_ended`), like a real run; otherwise it creates a queued `DryRun` and
  enqueues `settlements.tasks.dry_run_task` once the transaction commits;
- two dry runs of the same period at once: the second JOINS the first (the same row is
  returned, nothing else is enqueued). A partial unique constraint makes this hold between
  concurrent requests too: the loser's insert fails and it reads the winner's row. A job left
  "running" longer than the task's time limit (its worker died) no longer blocks: it is
  marked failed and a new one starts;
- `dry_run_compute` (the task) writes nothing to statements, lines, source rows or the
  ledger: each batch of merchants is computed by `compute_statements` (the real run's code)
  in a transaction that is rolled back; only the figures are kept, as `DryRunRow`s, with the
  progress, one committed transaction per batch. It is idempotent: a dry run not queued any
  more (delivered twice) is left as it is. An error marks the job failed with its message.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from marketplace.jobs import enqueue_on_commit
from marketplace.money import ZERO

from ..models import DryRun, DryRunRow, DryRunState, Statement
from ..models_dryruns import ACTIVE_STATES
from .computation import compute_statements
from .runs import _check_ended, merchants_to_settle, parse_period

#: Merchants computed per rolled-back transaction (and per progress update).
DEFAULT_BATCH_SIZE = 500
#: The task's hard time limit: a job "running" for longer lost its worker.
TIME_LIMIT = 3600
ERROR_MAX = 2000


def dry_run_start(*, period: str, actor=None) -> DryRun:
    """Queue a dry run of `period` (or return the one queued or running for it)."""
    parsed = parse_period(period)
    _check_ended(parsed)
    with transaction.atomic():
        _fail_stale(str(parsed))
        active = DryRun.objects.filter(period=str(parsed), state__in=ACTIVE_STATES).first()
        if active is not None:
            return active
        try:
            with transaction.atomic():
                dry_run = DryRun.objects.create(period=str(parsed), started_by=actor)
        except IntegrityError:
            # Another request queued one between our read and our insert: join it.
            return DryRun.objects.get(period=str(parsed), state__in=ACTIVE_STATES)
        enqueue_on_commit("settlements.tasks.dry_run_task", dry_run.pk)
    return dry_run


def _fail_stale(period: str) -> None:
    cutoff = timezone.now() - datetime.timedelta(seconds=TIME_LIMIT)
    DryRun.objects.filter(period=period, state=DryRunState.RUNNING, started_at__lt=cutoff).update(
        state=DryRunState.FAILED, finished_at=timezone.now(), error="interrupted: the worker stopped"
    )


def dry_run_compute(*, dry_run_id: int, batch_size: int | None = None) -> int:
    """Compute a queued dry run batch by batch; the number of rows it stored."""
    batch_size = batch_size or getattr(settings, "SETTLEMENT_DRY_RUN_BATCH_SIZE", DEFAULT_BATCH_SIZE)
    with transaction.atomic():
        dry_run = DryRun.objects.select_for_update().get(pk=dry_run_id)
        if dry_run.state != DryRunState.QUEUED:
            return 0
        period = parse_period(dry_run.period)
        merchant_ids = merchants_to_settle(period)
        dry_run.state = DryRunState.RUNNING
        dry_run.started_at = timezone.now()
        dry_run.merchants_total = len(merchant_ids)
        dry_run.save(update_fields=["state", "started_at", "merchants_total"])
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    stored = 0
    try:
        for start in range(0, len(merchant_ids), batch_size):
            chunk = merchant_ids[start : start + batch_size]
            rows = _compute_rolled_back(dry_run, period, chunk)
            for row in rows:
                for kind, amount in row.lines.items():
                    totals[kind] += Decimal(amount)
                totals["payable"] += row.payable
            with transaction.atomic():
                DryRunRow.objects.bulk_create(rows)
                DryRun.objects.filter(pk=dry_run.pk).update(merchants_done=F("merchants_done") + len(chunk))
            stored += len(rows)
    except Exception as exc:
        DryRun.objects.filter(pk=dry_run.pk).update(
            state=DryRunState.FAILED, finished_at=timezone.now(), error=str(exc)[:ERROR_MAX] or type(exc).__name__
        )
        raise
    DryRun.objects.filter(pk=dry_run.pk).update(
        state=DryRunState.COMPLETED,
        finished_at=timezone.now(),
        totals={kind: str(amount) for kind, amount in totals.items()},
    )
    return stored


def _compute_rolled_back(dry_run: DryRun, period, merchant_ids: list[int]) -> list[DryRunRow]:
    """The real computation for these merchants, rolled back; the figures as unsaved rows."""
    rows = []
    with transaction.atomic():
        compute_statements(period=period, merchant_ids=merchant_ids, run=None)
        statements = (
            Statement.objects.filter(period=str(period), merchant_id__in=merchant_ids)
            .select_related("merchant")
            .only("pk", "payable", "merchant_id", "merchant__company_name", "merchant__shop_name")
            .prefetch_related("lines", "frozen_orders")
        )
        for statement in statements:
            rows.append(
                DryRunRow(
                    dry_run=dry_run,
                    merchant_id=statement.merchant_id,
                    merchant=str(statement.merchant)[:300],
                    lines={line.kind: str(line.amount) for line in statement.lines.all()},
                    frozen=len(statement.frozen_orders.all()),
                    payable=statement.payable,
                )
            )
        transaction.set_rollback(True)
    return rows
