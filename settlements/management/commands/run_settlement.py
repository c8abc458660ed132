"""python manage.py run_settlement --period 2026-10 [--dry-run] [--sync]"""

import sys
import time
from collections import defaultdict
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from marketplace.errors import DomainError
from marketplace.money import format_cny
from settlements import selectors, services
from settlements.choices import LINE_ORDER, LineKind, RunStatus
from settlements.models import SettlementRun, Statement, StatementLine
from settlements.periods import Period


class Command(BaseCommand):
    help = "Settle a month: one statement per merchant. --dry-run shows the statements without writing."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="The month to settle, e.g. 2026-10.")
        parser.add_argument("--dry-run", action="store_true", help="Compute and show everything, write nothing.")
        parser.add_argument(
            "--sync", action="store_true", help="Settle the batches in this process instead of Celery workers."
        )
        parser.add_argument("--timeout", type=int, default=3600, help="Seconds to wait for the workers.")

    def handle(self, *args, period, dry_run, sync, timeout, **options):
        try:
            if dry_run:
                return self._preview(period)
            return self._run(period, sync=sync, timeout=timeout)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error

    def _preview(self, period):
        preview = services.run_preview(period=period)
        self.stdout.write(f"Dry run of {preview.period}: {len(preview.statements)} statement(s); nothing was written.")
        self._table(preview.totals, len(preview.statements))

    def _run(self, period, *, sync, timeout):
        run = services.run_start(period=period, enqueue=not sync)
        if sync:
            for batch_id in selectors.run_batch_ids(run):
                services.settle_batch(batch_id=batch_id)
                self._progress(SettlementRun.objects.get(pk=run.pk))
        deadline = time.monotonic() + timeout
        while True:
            run = SettlementRun.objects.get(pk=run.pk)
            self._progress(run)
            if run.status != RunStatus.RUNNING:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"run {run.pk} still running after {timeout}s; it continues in the workers")
            time.sleep(0.5)
        self.stdout.write("")
        totals: dict[str, Decimal] = defaultdict(Decimal)
        statements = Statement.objects.filter(period=str(Period.parse(run.period)))
        for line in StatementLine.objects.filter(statement__in=statements):
            totals[line.kind] += line.amount
        totals["payable"] = sum(statements.values_list("payable", flat=True), Decimal("0"))
        self._table(totals, statements.count())
        if run.status == RunStatus.FAILED:
            for failure in run.failures:
                self.stderr.write(f"failed batch {failure['merchants']}: {failure['error']}")
            raise CommandError(f"run {run.pk} failed")
        self.stdout.write(self.style.SUCCESS(f"run {run.pk} completed"))

    def _progress(self, run):
        total = max(run.batches_total, 1)
        width = 30
        filled = int(width * run.batches_done / total)
        sys.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {run.batches_done}/{run.batches_total} batches, "
            f"{run.merchants_done}/{run.merchants_total} merchants, {len(run.failures)} failure(s)"
        )
        sys.stdout.flush()

    def _table(self, totals, count):
        self.stdout.write(f"{'statements':<40}{count:>20}")
        for kind in LINE_ORDER:
            if kind in totals:
                self.stdout.write(f"{LineKind(kind).label!s:<40}{format_cny(totals[kind]):>20}")
        self.stdout.write(f"{'payable':<40}{format_cny(totals.get('payable', 0)):>20}")
