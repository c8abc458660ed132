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
            statements_created=F("statements_created") + created,
        )
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run_id)
        if run.batches_done >= run.batches_total and run.status == RunStatus.RUNNING:
            run.status = RunStatus.COMPLETED if not run.failures else RunStatus.FAILED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return created


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


def compute_statements(*, period: Period, merchant_ids: list[int], run: SettlementRun | None) -> int:
    """Create the statements of `merchant_ids` for `period` with their source rows and lines.

    Call inside a transaction. Merchants that already have a statement are skipped;
    statements with nothing on them are not kept. Everything proportional to the number of
    orders happens in SQL; Python only touches the few ladder, adjustment and carry rows.
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
    ids = _in(todo)
    scope = f"s.period = %s AND s.merchant_id IN ({ids})"

    by_days: dict[int, list[int]] = defaultdict(list)
    for merchant_id, days in _settlement_days(todo).items():
        by_days[days].append(merchant_id)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The per-order aggregation of a batch is hashed in memory rather than spilled.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            # A batch joins thousands of orders with their lines: hash joins over the batch's
            # rows beat one index probe per order (measured with bench/settlement_run.py).
            cursor.execute("SET LOCAL enable_nestloop = off")
        # Raw SQL gets the datetimes as the database stores them (SQLite compares text in UTC).
        end = connection.ops.adapt_datetimefield_value(period.end)
        for days, group in by_days.items():
            cutoff = connection.ops.adapt_datetimefield_value(settleable_cutoff(period, days))
            group_ids = _in(group)
            # Settleable, never settled, not frozen: one narrow source row per merchant order.
            cursor.execute(
                f"""
                INSERT INTO settlements_settledorder (merchant_order_id, statement_id)
                SELECT mo.id, s.id
                FROM orders_merchantorder mo
                JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
                WHERE mo.merchant_id IN ({group_ids})
                  AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
                ON CONFLICT (merchant_order_id) DO NOTHING
                """,
                [p, cutoff, False],
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
        # Refund lines of orders settled here or earlier, completed before the period's end,
        # and the shipping part of those refunds (its own source record).
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
            ON CONFLICT (refund_line_id) DO NOTHING
            """,
            [p, end],
        )
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
            ON CONFLICT (refund_id) WHERE refund_line_id IS NULL DO NOTHING
            """,
            [p, end],
        )
        # The statement lines, summed in one pass over the settled orders' frozen totals
        # (each merchant order carries the sums of its lines, written at placement).
        cursor.execute(
            f"""
            WITH o AS (
                SELECT so.statement_id AS sid, COUNT(*) AS c, SUM(mo.goods_total) AS goods,
                       SUM(mo.platform_discount_total) AS disc, SUM(mo.shipping_fee) AS ship,
                       SUM(mo.commission_total) AS comm
                FROM orders_merchantorder mo
                JOIN settlements_settledorder so ON so.merchant_order_id = mo.id
                JOIN settlements_statement s ON s.id = so.statement_id
                WHERE mo.merchant_id IN ({ids}) AND {scope}
                GROUP BY so.statement_id
            )
            INSERT INTO settlements_statementline (statement_id, kind, amount, count)
            SELECT sid, 'goods', goods, c FROM o
            UNION ALL SELECT sid, 'platform_discounts', disc, c FROM o
            UNION ALL SELECT sid, 'shipping', ship, c FROM o
            UNION ALL SELECT sid, 'commission', -comm, c FROM o
            """,
            [p],
        )
        cursor.execute(
            f"""
            WITH r AS (
                SELECT sr.statement_id AS sid, SUM(CASE WHEN sr.refund_line_id IS NULL THEN 0 ELSE 1 END) AS c,
                       SUM(sr.amount) AS amount, SUM(sr.shipping_amount) AS ship, SUM(sr.discount_back) AS back,
                       SUM(sr.commission_returned) AS ret
                FROM settlements_settledrefund sr JOIN settlements_statement s ON s.id = sr.statement_id
                WHERE {scope} GROUP BY sr.statement_id
            )
            INSERT INTO settlements_statementline (statement_id, kind, amount, count)
            SELECT sid, 'refunds', -amount, c FROM r
            UNION ALL SELECT sid, 'shipping_refunds', -ship, c FROM r
            UNION ALL SELECT sid, 'discounts_taken_back', -back, c FROM r
            UNION ALL SELECT sid, 'commission_returned', ret, c FROM r
            """,
            [p],
        )

    statements = {
        s.merchant_id: s for s in Statement.objects.filter(period=p, merchant_id__in=todo).only("pk", "merchant_id")
    }
    extra: list[StatementLine] = []
    # Manual adjustments of this period or earlier not settled yet.
    pending = list(ManualAdjustment.objects.filter(merchant_id__in=todo, statement__isnull=True, period__lte=p))
    by_merchant: dict[int, list[ManualAdjustment]] = defaultdict(list)
    for adjustment in pending:
        by_merchant[adjustment.merchant_id].append(adjustment)
    for merchant_id, rows in by_merchant.items():
        statement = statements[merchant_id]
        ManualAdjustment.objects.filter(pk__in=[a.pk for a in rows]).update(statement=statement)
        extra.append(
            StatementLine(
                statement=statement,
                kind=LineKind.ADJUSTMENTS,
                amount=sum((a.amount for a in rows), ZERO),
                count=len(rows),
            )
        )
    for merchant_id, amount in _carry_forward(todo, p).items():
        extra.append(
            StatementLine(statement=statements[merchant_id], kind=LineKind.CARRY_FORWARD, amount=amount, count=1)
        )
    extra.extend(_ladder_lines(statements, _ladder_contracts(todo)))
    StatementLine.objects.bulk_create(extra)

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM settlements_statement
            WHERE period = %s AND merchant_id IN ({ids})
              AND NOT EXISTS (SELECT 1 FROM settlements_statementline sl WHERE sl.statement_id = settlements_statement.id)
              AND NOT EXISTS (SELECT 1 FROM settlements_frozenorder fo WHERE fo.statement_id = settlements_statement.id)
            """,
            [p],
        )
        cursor.execute(
            f"""
            UPDATE settlements_statement SET payable = COALESCE(
                (SELECT SUM(sl.amount) FROM settlements_statementline sl WHERE sl.statement_id = settlements_statement.id), 0)
            WHERE period = %s AND merchant_id IN ({ids})
            """,
            [p],
        )
        return cursor.rowcount


def _ladder_lines(statements: dict[int, Statement], ladders: dict[int, list[dict]]) -> list[StatementLine]:
    """Ladder rebates of strategic contracts: on this statement's net sales, capped at its
    net commission."""
    lines = []
    wanted = {statements[m].pk: steps for m, steps in ladders.items() if m in statements}
    if not wanted:
        return lines
    from django.db.models import Sum

    from orders.models import MerchantOrder

    from ..models import SettledRefund

    sums = list(
        MerchantOrder.objects.filter(settlement__statement_id__in=wanted)
        .values("settlement__statement_id")
        .annotate(base=Sum("base_total"), commission=Sum("commission_total"))
        .values_list("settlement__statement_id", "base", "commission")
    )
    base = {sid: b for sid, b, _c in sums}
    commission = {sid: c for sid, _b, c in sums}
    refunded = {
        sid: (b or ZERO, c or ZERO)
        for sid, b, c in SettledRefund.objects.filter(statement_id__in=wanted)
        .values("statement_id")
        .annotate(b=Sum("refunded_base"), c=Sum("commission_returned"))
        .values_list("statement_id", "b", "c")
    }
    for statement_id, steps in wanted.items():
        refunded_base, commission_back = refunded.get(statement_id, (ZERO, ZERO))
        net = (base.get(statement_id) or ZERO) - refunded_base
        if net == 0 and not commission.get(statement_id):
            continue
        rebate = ladder_rebate(net_sales=net, steps=steps, cap=(commission.get(statement_id) or ZERO) - commission_back)
        lines.append(StatementLine(statement_id=statement_id, kind=LineKind.LADDER_REBATE, amount=rebate, count=1))
    return lines


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
