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
- each statement records that cutoff; the merchant's next run reads only the orders completed
  since, plus those listed frozen on that statement (all others before it are settled), so a
  run's cost follows the month's orders, not the history;
- a refund is deducted in the first statement where both its order is settled and its
  completion is before the period's end (settled with the order, or clawed back later);
- the sums are aggregated by SQL (INSERT … SELECT … GROUP BY), never by a per-order Python
  loop; a dry run executes exactly the same code in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, quantize
from merchants.choices import CommissionPlan, ContractStatus

from ..choices import BatchStatus, LineKind, RunStatus, StatementStatus
from ..models import ManualAdjustment, SettlementBatch, SettlementRun, Statement, StatementLine
from ..periods import Period, settleable_cutoff


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
    from merchants.models import Merchant

    done = Statement.objects.filter(period=str(period)).values("merchant_id")
    return list(
        Merchant.objects.filter(tier__isnull=False).exclude(pk__in=done).order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def run_start(*, period: str, actor=None, batch_size: int | None = None, enqueue: bool = True) -> SettlementRun:
    """Create a run with one pending `SettlementBatch` row per batch of merchants, and
    schedule one task per batch (after commit). With `enqueue=False` the caller settles
    `selectors.run_batch_ids(run)` itself (the command's --sync, the demo)."""
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
    rows = SettlementBatch.objects.bulk_create(
        [
            SettlementBatch(run=run, number=n, merchant_ids=ids, merchant_count=len(ids))
            for n, ids in enumerate(batches, start=1)
        ]
    )
    if enqueue:
        for row in rows:
            transaction.on_commit(partial(settle_batch_task.delay, row.pk))
    return run


def _finish_batch(batch: SettlementBatch) -> None:
    """Record that `batch` (locked, its new status set) finished, then recount the run's
    progress from its batch rows under the run's lock, and end the run when no batch is
    pending any more: completed, or failed if one of them failed.

    Locks: the batch row (held by the caller), then the run row; every path takes them in
    this order. Two batches finishing together queue on the run row, and the second one's
    count (a new statement under READ COMMITTED) sees the first one's committed row."""
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "statements_created", "error", "finished_at"])
    run = SettlementRun.objects.select_for_update().get(pk=batch.run_id)
    pending, done = Q(status=BatchStatus.PENDING), Q(status=BatchStatus.DONE)
    counts = run.batches.aggregate(
        finished=Count("pk", filter=~pending),
        pending=Count("pk", filter=pending),
        failed=Count("pk", filter=Q(status=BatchStatus.FAILED)),
        merchants=Coalesce(Sum("merchant_count", filter=done), 0),
        statements=Coalesce(Sum("statements_created"), 0),
    )
    run.batches_done = counts["finished"]
    run.merchants_done = counts["merchants"]
    run.statements_created = counts["statements"]
    fields = ["batches_done", "merchants_done", "statements_created"]
    if batch.status == BatchStatus.FAILED:
        ids = batch.merchant_ids
        run.failures = [*run.failures, {"merchants": [ids[0], ids[-1]], "error": batch.error}]
        fields.append("failures")
    if not counts["pending"] and run.status == RunStatus.RUNNING:
        run.status = RunStatus.FAILED if counts["failed"] else RunStatus.COMPLETED
        run.finished_at = timezone.now()
        fields += ["status", "finished_at"]
    run.save(update_fields=fields)


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
        if batch.status != BatchStatus.PENDING:
            return 0
        created = compute_statements(
            period=Period.parse(batch.run.period), merchant_ids=batch.merchant_ids, run=batch.run
        )
        batch.status = BatchStatus.DONE
        batch.statements_created = created
        _finish_batch(batch)
    return created


def record_batch_failure(*, batch_id: int, error: str) -> None:
    """Mark a pending batch that failed for good as failed, keep its merchants' range and the
    error on the run (shown in the admin), and end the run as failed when no batch is
    pending any more. Its merchants stay without a statement, so starting the period again
    settles them. A batch that already finished is left as it is."""
    with transaction.atomic():
        batch = SettlementBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.PENDING:
            return
        batch.status = BatchStatus.FAILED
        batch.error = error[:500]
        _finish_batch(batch)


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


def _batch(merchant_ids) -> dict:
    """An ORM filter covering a batch: its id range. Batches are slices of sorted ids, so the
    range holds few others, which callers drop by set membership. (An IN list of thousands of
    parameters costs more to build and bind on the client than the query costs the server.)"""
    return {"merchant_id__gte": min(merchant_ids), "merchant_id__lte": max(merchant_ids)}


def _contracts(merchant_ids: list[int]) -> tuple[dict[int, int], dict[int, list[dict]]]:
    """Settlement days of each merchant (the accepted contract's, else the default) and the
    ladder steps of those on a ladder plan."""
    from merchants.models import Contract

    wanted = set(merchant_ids)
    days = dict.fromkeys(merchant_ids, settings.DEFAULT_SETTLEMENT_DAYS)
    ladders = {}
    rows = Contract.objects.filter(status=ContractStatus.ACCEPTED, **_batch(merchant_ids)).values_list(
        "merchant_id", "settlement_days", "commission_plan", "ladder_steps"
    )
    for merchant_id, settlement_days, plan, steps in rows:
        if merchant_id in wanted:
            days[merchant_id] = settlement_days
            if plan == CommissionPlan.LADDER and steps:
                ladders[merchant_id] = steps
    return days, ladders


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in ids)


# The merchant orders a batch settles: settleable (completed before the merchant's cutoff),
# not frozen, never settled. `s` maps each merchant of the batch to its new statement.
# `{since}` bounds the scan below by the previous statement's cutoff: every order completed
# before it was settled then, or listed frozen on that statement (`_CAUGHT_UP` takes those
# back), so a run reads one month of orders, not the merchants' whole history.
_CANDIDATES = """
    SELECT mo.id, s.column2 AS sid, mo.goods_total, mo.platform_discount_total, mo.shipping_fee, mo.commission_total
    FROM orders_merchantorder mo
    JOIN (VALUES {pairs}) s ON s.column1 = mo.merchant_id
    WHERE mo.merchant_id IN ({ids}) {since}
      AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
      AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.id)
"""
_CAUGHT_UP = """
    UNION ALL
    SELECT mo.id, s.column2 AS sid, mo.goods_total, mo.platform_discount_total, mo.shipping_fee, mo.commission_total
    FROM orders_merchantorder mo
    JOIN (VALUES {pairs}) s ON s.column1 = mo.merchant_id
    WHERE mo.id IN (SELECT fo.merchant_order_id FROM settlements_frozenorder fo WHERE fo.statement_id IN ({previous}))
      AND mo.completed_at < %s
      AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
      AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.id)
"""
# Their four statement lines, summed from the frozen per-order totals (each merchant order
# carries the sums of its lines, written at placement).
_ORDER_SUMS = """
    o AS (
        SELECT sid, COUNT(*) AS c, SUM(goods_total) AS goods, SUM(platform_discount_total) AS disc,
               SUM(shipping_fee) AS ship, SUM(commission_total) AS comm
        FROM cand GROUP BY sid
    )
    INSERT INTO settlements_statementline (statement_id, kind, amount, count)
    SELECT sid, 'goods', goods, c FROM o
    UNION ALL SELECT sid, 'platform_discounts', disc, c FROM o
    UNION ALL SELECT sid, 'shipping', ship, c FROM o
    UNION ALL SELECT sid, 'commission', -comm, c FROM o
"""


def _create_statements(
    merchant_ids: list[int], *, period: str, run: SettlementRun | None, cutoff: datetime.datetime
) -> dict[int, int]:
    """Insert empty draft statements recording their cutoff; returns merchant id → statement id.

    A concurrent batch creating one of them makes this insert wait, then fail on the unique
    (merchant, period) key: that batch rolls back and nothing is settled twice."""
    rows = ",".join(f"({int(m)})" for m in merchant_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO settlements_statement
                (merchant_id, period, run_id, status, payable, created_at, orders_completed_before)
            SELECT column1, %s, %s, %s, 0, %s, %s FROM (VALUES {rows}) AS m
            RETURNING merchant_id, id
            """,
            [
                period,
                run.pk if run else None,
                StatementStatus.DRAFT,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                connection.ops.adapt_datetimefield_value(cutoff),
            ],
        )
        return dict(cursor.fetchall())


def _settle_orders(cursor, *, statements: dict[int, int], cutoff, since=None, previous=()) -> None:
    """Write the settled-order source rows and the order lines of `statements` (merchant id →
    statement id) from one consistent view of the candidate orders: those completed before
    `cutoff` and, when the merchants have an earlier statement (`previous`, whose cutoff was
    `since`), either completed since then or listed frozen on it."""
    pairs = ",".join(f"({int(m)},{int(s)})" for m, s in statements.items())
    candidates = _CANDIDATES.format(
        pairs=pairs, ids=_in(statements), since="AND mo.completed_at >= %s" if since else ""
    )
    params = [since, cutoff, False] if since else [cutoff, False]
    if since:
        candidates += _CAUGHT_UP.format(pairs=pairs, previous=_in(previous))
        params += [since, cutoff, False]
    if connection.vendor == "postgresql":
        # One statement, one snapshot: the rows inserted and the sums are the same orders even
        # if a dispute freezes one of them meanwhile; the candidates are read once.
        cursor.execute(
            f"""
            WITH cand AS ({candidates}),
            ins AS (INSERT INTO settlements_settledorder (merchant_order_id, statement_id) SELECT id, sid FROM cand),
            {_ORDER_SUMS}
            """,
            params,
        )
    else:
        # SQLite (the development database) has no data-modifying CTEs; its transaction holds
        # the database's only write lock, so the two statements see the same orders. The sums
        # go first: the candidates exclude orders once settled.
        cursor.execute(f"WITH cand AS ({candidates}), {_ORDER_SUMS}", params)
        cursor.execute(
            f"INSERT INTO settlements_settledorder (merchant_order_id, statement_id) SELECT id, sid FROM ({candidates})",
            params,
        )


# Refund lines (and the shipping part of refunds, its own source record) of settled orders,
# completed before the period's end, not taken yet: deducted in the first statement where
# both hold. `{source}` is the refund side of the join; `{only}` picks the refunds a branch reads.
_REFUNDS = """
    SELECT s.column2, r.id, {columns}
    FROM {source}
    JOIN orders_merchantorder mo ON mo.id = r.merchant_order_id
    JOIN settlements_settledorder so ON so.merchant_order_id = mo.id
    JOIN (VALUES {pairs}) s ON s.column1 = mo.merchant_id
    WHERE mo.merchant_id IN ({ids}) {only}
"""
_REFUND_KINDS = [
    (
        "rl.id, rl.amount, 0, rl.refunded_base, rl.platform_discount_back, rl.commission_returned",
        "orders_refundline rl JOIN orders_refund r ON r.id = rl.refund_id",
        "",
        "(refund_line_id)",
    ),
    (
        "CAST(NULL AS bigint), 0, r.shipping_amount, 0, 0, 0",
        "orders_refund r",
        "AND r.shipping_amount > 0",
        "(refund_id) WHERE refund_line_id IS NULL",
    ),
]


def _settle_refunds(cursor, *, statements: dict[int, int], end, since=None, previous_end=None, previous=()) -> None:
    """Take the refunds due on `statements` (merchant id → statement id).

    Without an earlier statement: every refund of the merchants' settled orders completed
    before `end`. With one (cutoff `since`, period ending `previous_end`), refunds completed
    before `previous_end` of orders settled by then were taken by it; what is left is read in
    three disjoint parts: refunds completed since `previous_end`; earlier refunds of orders
    completed since `since` (settled here); earlier refunds of the orders listed frozen on the
    previous statement. So a run reads the month's refunds, not the history."""
    pairs = ",".join(f"({int(m)},{int(s)})" for m, s in statements.items())
    ids = _in(statements)
    if since:
        frozen = (
            f"SELECT fo.merchant_order_id FROM settlements_frozenorder fo WHERE fo.statement_id IN ({_in(previous)})"
        )
        branches = [
            ("AND r.completed_at >= %s AND r.completed_at < %s", [previous_end, end]),
            ("AND r.completed_at < %s AND mo.status = 'completed' AND mo.completed_at >= %s", [previous_end, since]),
            (f"AND r.completed_at < %s AND mo.completed_at < %s AND mo.id IN ({frozen})", [previous_end, since]),
        ]
    else:
        branches = [("AND r.completed_at < %s", [end])]
    for columns, source, condition, conflict in _REFUND_KINDS:
        selects, params = [], []
        for only, values in branches:
            selects.append(
                _REFUNDS.format(columns=columns, source=source, pairs=pairs, ids=ids, only=f"{condition} {only}")
            )
            params += values
        cursor.execute(
            f"""
            INSERT INTO settlements_settledrefund
                (statement_id, refund_id, refund_line_id, amount, shipping_amount, refunded_base, discount_back, commission_returned)
            {" UNION ALL ".join(selects)}
            ON CONFLICT {conflict} DO NOTHING
            """,
            params,
        )


def _previous_statements(
    merchant_ids: list[int], period: str
) -> dict[int, tuple[int, datetime.datetime, datetime.datetime]]:
    """Merchant id → (id, cutoff, end of its period) of its latest statement before `period`
    that recorded its cutoff (statements from before the cutoff was recorded give no bound)."""
    from django.db.models import Max

    wanted = set(merchant_ids)
    recorded = Statement.objects.filter(
        period__lt=period, orders_completed_before__isnull=False, **_batch(merchant_ids)
    )
    latest: dict[str, list[int]] = defaultdict(list)
    for merchant_id, last in (
        recorded.values("merchant_id").annotate(last=Max("period")).values_list("merchant_id", "last")
    ):
        if merchant_id in wanted:
            latest[last].append(merchant_id)
    previous = {}
    # Usually one query: the merchants' latest statements are mostly of the same month.
    for last, group in latest.items():
        group_set = set(group)
        for merchant_id, statement_id, cutoff in recorded.filter(period=last).values_list(
            "merchant_id", "id", "orders_completed_before"
        ):
            if merchant_id in group_set:
                previous[merchant_id] = (statement_id, cutoff, Period.parse(last).end)
    return previous


def compute_statements(*, period: Period, merchant_ids: list[int], run: SettlementRun | None) -> int:
    """Create the statements of `merchant_ids` for `period` with their source rows and lines;
    returns how many were kept.

    Call inside a transaction. Merchants that already have a statement are skipped;
    statements with nothing on them are not kept. Everything proportional to the number of
    orders happens in SQL; Python only touches the few ladder, adjustment and carry rows.
    """
    if not merchant_ids:
        return 0
    p = str(period)
    existing = set(Statement.objects.filter(period=p, **_batch(merchant_ids)).values_list("merchant_id", flat=True))
    todo = sorted(set(merchant_ids) - existing)
    if not todo:
        return 0
    ids = _in(todo)
    scope = f"s.period = %s AND s.merchant_id IN ({ids})"
    days, ladders = _contracts(todo)
    previous = _previous_statements(todo, p)
    # Merchants settled alike: same settlement days, same previous statement's cutoff and
    # period (most of a batch).
    groups: dict[tuple, list[int]] = defaultdict(list)
    for merchant_id in todo:
        _statement, since, previous_end = previous.get(merchant_id, (None, None, None))
        groups[(days[merchant_id], since, previous_end)].append(merchant_id)

    statements: dict[int, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The per-statement sums of a batch are hashed in memory rather than spilled.
            cursor.execute("SET LOCAL work_mem = '128MB'")
        # Raw SQL gets the datetimes as the database stores them (SQLite compares text in UTC).
        adapt = connection.ops.adapt_datetimefield_value
        end = adapt(period.end)
        for (settlement_days, since, previous_end), group in groups.items():
            cutoff = settleable_cutoff(period, settlement_days)
            created = _create_statements(group, period=p, run=run, cutoff=cutoff)
            statements.update(created)
            earlier = [previous[m][0] for m in group] if since else ()
            since_db = adapt(since) if since else None
            _settle_orders(cursor, statements=created, cutoff=adapt(cutoff), since=since_db, previous=earlier)
            # Settleable but frozen by an open dispute: listed, not paid.
            cursor.execute(
                f"""
                INSERT INTO settlements_frozenorder (statement_id, merchant_order_id, amount, reason)
                SELECT s.id, mo.id, mo.paid_total, 'open dispute'
                FROM orders_merchantorder mo
                JOIN settlements_statement s ON s.merchant_id = mo.merchant_id AND s.period = %s
                WHERE mo.merchant_id IN ({_in(group)})
                  AND mo.status = 'completed' AND mo.completed_at < %s AND mo.is_frozen = %s
                  AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.id)
                """,
                [p, adapt(cutoff), True],
            )
            _settle_refunds(
                cursor,
                statements=created,
                end=end,
                since=since_db,
                previous_end=adapt(previous_end) if previous_end else None,
                previous=earlier,
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

    extra: list[StatementLine] = []
    # Manual adjustments of this period or earlier not settled yet.
    wanted = set(todo)
    pending = ManualAdjustment.objects.filter(statement__isnull=True, period__lte=p, **_batch(todo))
    by_merchant: dict[int, list[ManualAdjustment]] = defaultdict(list)
    for adjustment in pending:
        if adjustment.merchant_id in wanted:
            by_merchant[adjustment.merchant_id].append(adjustment)
    for merchant_id, rows in by_merchant.items():
        statement_id = statements[merchant_id]
        ManualAdjustment.objects.filter(pk__in=[a.pk for a in rows]).update(statement_id=statement_id)
        extra.append(
            StatementLine(
                statement_id=statement_id,
                kind=LineKind.ADJUSTMENTS,
                amount=sum((a.amount for a in rows), ZERO),
                count=len(rows),
            )
        )
    for merchant_id, amount in _carry_forward(todo, p).items():
        extra.append(
            StatementLine(statement_id=statements[merchant_id], kind=LineKind.CARRY_FORWARD, amount=amount, count=1)
        )
    extra.extend(_ladder_lines(statements, ladders))
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
        kept = len(todo) - cursor.rowcount
        # Payable = the sum of the lines, aggregated once for the batch (SQLite ≥ 3.33 and
        # PostgreSQL both take UPDATE … FROM); statements with only frozen orders stay at zero.
        cursor.execute(
            f"""
            UPDATE settlements_statement SET payable = t.total
            FROM (
                SELECT sl.statement_id, SUM(sl.amount) AS total FROM settlements_statementline sl
                WHERE sl.statement_id IN ({_in(statements.values())}) GROUP BY sl.statement_id
            ) t
            WHERE settlements_statement.id = t.statement_id
            """
        )
    return kept


def _ladder_lines(statements: dict[int, int], ladders: dict[int, list[dict]]) -> list[StatementLine]:
    """Ladder rebates of strategic contracts: on this statement's net sales, capped at its
    net commission."""
    lines = []
    wanted = {statements[m]: steps for m, steps in ladders.items() if m in statements}
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
    from django.db.models import OuterRef, Subquery

    latest = (
        Statement.objects.filter(merchant_id=OuterRef("merchant_id"), period__lt=period)
        .order_by("-period")
        .values("period")[:1]
    )
    wanted = set(merchant_ids)
    negative = Statement.objects.filter(period__lt=period, payable__lt=0, **_batch(merchant_ids)).filter(
        period=Subquery(latest)
    )
    return {m: payable for m, payable in negative.values_list("merchant_id", "payable") if m in wanted}


def ladder_rebate(*, net_sales: Decimal, steps: list[dict], cap: Decimal) -> Decimal:
    """Whole-volume steps: the highest step reached gives its points on all net sales;
    rebate = net sales × points / 100, half-up, never above `cap` nor below zero."""
    points = ZERO
    for step in steps:
        if net_sales >= Decimal(str(step["min_net_sales"])):
            points = max(points, Decimal(str(step["points"])))
    rebate = quantize(net_sales * points / 100) if points else ZERO
    return max(ZERO, min(rebate, quantize(cap)))
