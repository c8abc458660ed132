"""Monthly settlement runs: statements computed in the database, batch by batch.

Guarantees (domain.md "Settlement"):
- a run for a period that has not ended is refused (409 `period_not_ended`);
- idempotent and resumable: a merchant that already has a statement for the period is
  skipped; each batch of merchants is one transaction, so a worker killed mid-batch leaves
  nothing of it and the batch is simply done again; source rows have unique natural keys
  (an order, a refund line, a shipping refund, an adjustment is settled once, ever);
- a merchant order is settleable in P when it is completed, the local date of its completion
  plus T (the contract's settlement days, default 15) is on or before P's last day, it was
  never settled, and it is not frozen by an open dispute when the batch runs; earlier missed
  orders are caught up; settleable frozen orders are listed but not paid;
- a refund is deducted in the first statement where both its order is settled and its
  completion is before the period's end (settled with the order, or clawed back later);
- the sums are aggregated by SQL (INSERT … SELECT … GROUP BY), never by a per-order Python
  loop; a dry run executes exactly the same code in a transaction that is rolled back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, quantize
from merchants.models import CommissionPlan, ContractStatus

from ..models import (
    LINE_ORDER,
    LineKind,
    ManualAdjustment,
    RunStatus,
    SettlementRun,
    Statement,
    StatementLine,
)
from ..periods import Period, settleable_cutoff


class SettlementError(DomainError):
    pass


class SettlementConflict(ConflictError):
    pass


def parse_period(value: str) -> Period:
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
    from merchants.models import Merchant

    done = Statement.objects.filter(period=str(period)).values("merchant_id")
    return list(
        Merchant.objects.filter(tier__isnull=False).exclude(pk__in=done).order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def run_start(*, period: str, actor=None, batch_size: int | None = None, enqueue: bool = True) -> SettlementRun:
    """Create a run and schedule one task per batch of merchants (after commit)."""
    from functools import partial

    from ..tasks import settle_batch_task

    parsed = parse_period(period)
    _check_ended(parsed)
    batch_size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    merchant_ids = merchants_to_settle(parsed)
    batches = [merchant_ids[i : i + batch_size] for i in range(0, len(merchant_ids), batch_size)]
    run = SettlementRun.objects.create(
        period=str(parsed), started_by=actor, merchants_total=len(merchant_ids), batches_total=len(batches)
    )
    if not batches:
        SettlementRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, finished_at=timezone.now())
        run.refresh_from_db()
        return run
    if enqueue:
        for batch in batches:
            transaction.on_commit(partial(settle_batch_task.delay, run.pk, batch))
    return run


def settle_batch(*, run_id: int, merchant_ids: list[int]) -> int:
    """Settle one batch in one transaction; returns the statements created. Records progress,
    and completes the run when its last batch is done."""
    run = SettlementRun.objects.get(pk=run_id)
    period = Period.parse(run.period)
    with transaction.atomic():
        created = compute_statements(period=period, merchant_ids=merchant_ids, run=run)
        SettlementRun.objects.filter(pk=run_id).update(
            batches_done=F("batches_done") + 1,
            merchants_done=F("merchants_done") + len(merchant_ids),
            statements_created=F("statements_created") + len(created),
        )
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run_id)
        if run.batches_done >= run.batches_total and run.status == RunStatus.RUNNING:
            run.status = RunStatus.COMPLETED if not run.failures else RunStatus.FAILED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return len(created)


def record_batch_failure(*, run_id: int, merchant_ids: list[int], error: str) -> None:
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run_id)
        run.failures = [*run.failures, {"merchants": [merchant_ids[0], merchant_ids[-1]], "error": error[:500]}]
        run.batches_done += 1
        if run.batches_done >= run.batches_total:
            run.status = RunStatus.FAILED
            run.finished_at = timezone.now()
        run.save(update_fields=["failures", "batches_done", "status", "finished_at"])


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
        statements = compute_statements(period=parsed, merchant_ids=merchants_to_settle(parsed), run=None)
        for statement in statements:
            lines = {line.kind: line.amount for line in statement.lines.all()}
            preview.statements.append(
                {
                    "merchant_id": statement.merchant_id,
                    "merchant": str(statement.merchant),
                    "lines": lines,
                    "frozen": statement.frozen_orders.count(),
                    "payable": statement.payable,
                }
            )
            for kind, amount in lines.items():
                totals[kind] += amount
            totals["payable"] += statement.payable
        transaction.set_rollback(True)
    preview.totals = dict(totals)
    return preview


# --- The computation --------------------------------------------------------------------


def _settlement_days(merchant_ids: list[int]) -> dict[int, int]:
    from merchants.models import Contract

    days = dict.fromkeys(merchant_ids, settings.DEFAULT_SETTLEMENT_DAYS)
    for merchant_id, value in Contract.objects.filter(
        merchant_id__in=merchant_ids, status=ContractStatus.ACCEPTED
    ).values_list("merchant_id", "settlement_days"):
        days[merchant_id] = value
    return days


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in ids)


def compute_statements(*, period: Period, merchant_ids: list[int], run: SettlementRun | None) -> list[Statement]:
    """Create the statements of `merchant_ids` for `period` with their source rows and lines.

    Call inside a transaction. Merchants that already have a statement are skipped;
    statements with nothing on them are not kept.
    """
    if not merchant_ids:
        return []
    p = str(period)
    existing = set(
        Statement.objects.filter(period=p, merchant_id__in=merchant_ids).values_list("merchant_id", flat=True)
    )
    todo = [m for m in merchant_ids if m not in existing]
    if not todo:
        return []
    Statement.objects.bulk_create([Statement(merchant_id=m, period=p, run=run, payable=ZERO) for m in todo])
    statements = {s.merchant_id: s for s in Statement.objects.filter(period=p, merchant_id__in=todo)}
    ids = _in(todo)
    end = period.end
    false = False

    by_days: dict[int, list[int]] = defaultdict(list)
    for merchant_id, days in _settlement_days(todo).items():
        by_days[days].append(merchant_id)

    with connection.cursor() as cursor:
        for days, group in by_days.items():
            cutoff = settleable_cutoff(period, days)
            group_ids = _in(group)
            # Settleable, never settled, not frozen: one source row per merchant order.
            cursor.execute(
                f"""
                INSERT INTO settlements_settledorder
                    (statement_id, merchant_order_id, goods, platform_discount, shipping, commission, base)
                SELECT s.id, mo.id, SUM(l.paid), SUM(l.platform_discount), mo.shipping_fee, SUM(l.commission), SUM(l.base)
                FROM orders_merchantorder mo
                JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
                JOIN orders_orderline l ON l.merchant_order_id = mo.id
                WHERE mo.merchant_id IN ({group_ids})
                  AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
                  AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.id)
                GROUP BY s.id, mo.id, mo.shipping_fee
                """,
                [p, cutoff, false],
            )
            # Settleable but frozen by an open dispute: listed, not paid.
            cursor.execute(
                f"""
                INSERT INTO settlements_frozenorder (statement_id, merchant_order_id, amount, reason)
                SELECT s.id, mo.id, mo.paid_total, 'open dispute'
                FROM orders_merchantorder mo
                JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
                WHERE mo.merchant_id IN ({group_ids})
                  AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
                  AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.id)
                """,
                [p, cutoff, True],
            )
        # Refund lines of settled orders (in this statement or earlier), completed before the end.
        cursor.execute(
            f"""
            INSERT INTO settlements_settledrefund
                (statement_id, refund_id, refund_line_id, amount, shipping_amount, refunded_base, discount_back, commission_returned)
            SELECT s.id, r.id, rl.id, rl.amount, 0, rl.refunded_base, rl.platform_discount_back, rl.commission_returned
            FROM orders_refundline rl
            JOIN orders_refund r ON r.id = rl.refund_id
            JOIN orders_merchantorder mo ON mo.id = r.merchant_order_id
            JOIN settlements_settledorder so ON so.merchant_order_id = mo.id
            JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
            WHERE mo.merchant_id IN ({ids}) AND r.completed_at < %s
              AND NOT EXISTS (SELECT 1 FROM settlements_settledrefund x WHERE x.refund_line_id = rl.id)
            """,
            [p, end],
        )
        # The shipping part of refunds, its own source record.
        cursor.execute(
            f"""
            INSERT INTO settlements_settledrefund
                (statement_id, refund_id, refund_line_id, amount, shipping_amount, refunded_base, discount_back, commission_returned)
            SELECT s.id, r.id, NULL, 0, r.shipping_amount, 0, 0, 0
            FROM orders_refund r
            JOIN orders_merchantorder mo ON mo.id = r.merchant_order_id
            JOIN settlements_settledorder so ON so.merchant_order_id = mo.id
            JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
            WHERE mo.merchant_id IN ({ids}) AND r.completed_at < %s AND r.shipping_amount > 0
              AND NOT EXISTS (SELECT 1 FROM settlements_settledrefund x WHERE x.refund_id = r.id AND x.refund_line_id IS NULL)
            """,
            [p, end],
        )
        cursor.execute(
            f"""
            SELECT so.statement_id, COUNT(*), SUM(so.goods), SUM(so.platform_discount), SUM(so.shipping),
                   SUM(so.commission), SUM(so.base)
            FROM settlements_settledorder so JOIN settlements_statement s ON s.id = so.statement_id
            WHERE s.period = %s AND s.merchant_id IN ({ids}) GROUP BY so.statement_id
            """,
            [p],
        )
        orders = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute(
            f"""
            SELECT sr.statement_id, SUM(CASE WHEN sr.refund_line_id IS NULL THEN 0 ELSE 1 END),
                   SUM(sr.amount), SUM(sr.shipping_amount), SUM(sr.refunded_base), SUM(sr.discount_back),
                   SUM(sr.commission_returned)
            FROM settlements_settledrefund sr JOIN settlements_statement s ON s.id = sr.statement_id
            WHERE s.period = %s AND s.merchant_id IN ({ids}) GROUP BY sr.statement_id
            """,
            [p],
        )
        refunds = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute(
            f"""
            SELECT fo.statement_id, COUNT(*) FROM settlements_frozenorder fo
            JOIN settlements_statement s ON s.id = fo.statement_id
            WHERE s.period = %s AND s.merchant_id IN ({ids}) GROUP BY fo.statement_id
            """,
            [p],
        )
        frozen = dict(cursor.fetchall())

    # Manual adjustments of this period or earlier not settled yet.
    adjustments: dict[int, tuple[int, Decimal]] = {}
    pending = ManualAdjustment.objects.filter(merchant_id__in=todo, statement__isnull=True, period__lte=p)
    for adjustment in pending:
        statement = statements[adjustment.merchant_id]
        count, total = adjustments.get(statement.pk, (0, ZERO))
        adjustments[statement.pk] = (count + 1, total + adjustment.amount)
    for merchant_id in {a.merchant_id for a in pending}:
        ManualAdjustment.objects.filter(merchant_id=merchant_id, statement__isnull=True, period__lte=p).update(
            statement=statements[merchant_id]
        )

    carry = _carry_forward(todo, p)
    ladders = _ladder_contracts(todo)

    kept: list[Statement] = []
    empty: list[int] = []
    lines: list[StatementLine] = []
    for merchant_id, statement in statements.items():
        o = orders.get(statement.pk)
        r = refunds.get(statement.pk)
        adj = adjustments.get(statement.pk)
        carry_in = carry.get(merchant_id, ZERO)
        if not (o or r or adj or frozen.get(statement.pk) or carry_in):
            empty.append(statement.pk)
            continue
        order_count, goods, discounts, shipping, commission, base = o or (0, ZERO, ZERO, ZERO, ZERO, ZERO)
        refund_count, refunded, shipping_refunded, refunded_base, discount_back, commission_back = r or (
            0,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
        )
        figures = {
            LineKind.GOODS: (order_count, Decimal(goods)),
            LineKind.PLATFORM_DISCOUNTS: (order_count, Decimal(discounts)),
            LineKind.SHIPPING: (order_count, Decimal(shipping)),
            LineKind.COMMISSION: (order_count, -Decimal(commission)),
            LineKind.REFUNDS: (refund_count, -Decimal(refunded)),
            LineKind.SHIPPING_REFUNDS: (refund_count, -Decimal(shipping_refunded)),
            LineKind.DISCOUNTS_TAKEN_BACK: (refund_count, -Decimal(discount_back)),
            LineKind.COMMISSION_RETURNED: (refund_count, Decimal(commission_back)),
        }
        steps = ladders.get(merchant_id)
        if steps:
            figures[LineKind.LADDER_REBATE] = (
                1,
                ladder_rebate(
                    net_sales=Decimal(base) - Decimal(refunded_base),
                    steps=steps,
                    cap=Decimal(commission) - Decimal(commission_back),
                ),
            )
        if adj:
            figures[LineKind.ADJUSTMENTS] = (adj[0], adj[1])
        if carry_in:
            figures[LineKind.CARRY_FORWARD] = (1, carry_in)
        payable = ZERO
        for kind in LINE_ORDER:
            if kind in figures:
                count, amount = figures[kind]
                amount = quantize(amount)
                payable += amount
                lines.append(StatementLine(statement=statement, kind=kind, amount=amount, count=count))
        statement.payable = payable
        kept.append(statement)
    StatementLine.objects.bulk_create(lines)
    Statement.objects.bulk_update(kept, ["payable"])
    if empty:
        Statement.objects.filter(pk__in=empty).delete()
    return kept


def _carry_forward(merchant_ids: list[int], period: str) -> dict[int, Decimal]:
    """The previous statement's payable, for merchants whose latest earlier one is negative."""
    carry = {}
    latest: dict[int, Statement] = {}
    for statement in Statement.objects.filter(merchant_id__in=merchant_ids, period__lt=period).order_by(
        "merchant_id", "-period"
    ):
        latest.setdefault(statement.merchant_id, statement)
    for merchant_id, statement in latest.items():
        if statement.payable < 0:
            carry[merchant_id] = statement.payable
    return carry


def _ladder_contracts(merchant_ids: list[int]) -> dict[int, list[dict]]:
    from merchants.models import Contract

    return {
        c.merchant_id: c.ladder_steps
        for c in Contract.objects.filter(
            merchant_id__in=merchant_ids, status=ContractStatus.ACCEPTED, commission_plan=CommissionPlan.LADDER
        )
        if c.ladder_steps
    }


def ladder_rebate(*, net_sales: Decimal, steps: list[dict], cap: Decimal) -> Decimal:
    """Whole-volume steps: the highest step reached gives its points on all net sales;
    rebate = net sales × points / 100, half-up, never above `cap` nor below zero."""
    points = ZERO
    for step in steps:
        if net_sales >= Decimal(str(step["min_net_sales"])):
            points = max(points, Decimal(str(step["points"])))
    rebate = quantize(net_sales * points / 100) if points else ZERO
    return max(ZERO, min(rebate, quantize(cap)))
