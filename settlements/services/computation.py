"""The statements of a batch of merchants for a period, computed in the database.

Guarantees (domain.md "Settlement"), for `compute_statements`:
- a merchant order is settleable in P when it is completed, the local date of its completion
  plus T (the contract's settlement days, default 15) is on or before P's last day, it was
  never settled, and it is not frozen by an open dispute when the batch runs; earlier missed
  orders are caught up; settleable frozen orders are listed but not paid;
- each statement records that cutoff; the merchant's next run reads only the orders completed
  since, plus those listed frozen on that statement (all others before it are settled), so a
  run's cost follows the month's orders, not the history;
- a refund is deducted in the first statement where both its order is settled and its
  completion is before the period's end (settled with the order, or clawed back later);
- a group buy's difference refund settles as a discount split by the campaign's funding
  (README, settlement): its merchant part lowers base and commission, its platform part is
  added to "platform discounts reimbursed", nothing of the line's platform discount is taken
  back; a full refund below a group's minimum is an ordinary refund;
- source rows have unique natural keys (an order, a refund line, a shipping refund, an
  adjustment is settled once, ever);
- the sums are aggregated by SQL (INSERT … SELECT … GROUP BY), never by a per-order Python
  loop.

Orders are read through `orders.settlement_source`: SQL that orders compiles from its own
models and statuses, so this module names no table, column or status of orders.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Max, OuterRef, Subquery, Sum
from django.utils import timezone

from marketplace.money import ZERO, quantize
from merchants import selectors as merchant_selectors
from merchants.choices import CommissionPlan
from orders import settlement_source

from ..choices import LineKind, StatementStatus
from ..models import ManualAdjustment, SettledOrder, SettledRefund, SettlementRun, Statement, StatementLine
from ..periods import Period, settleable_cutoff
from .fees import _fee_lines
from .penalties import _penalty_lines
from .subsidies import subsidy_lines


def compute_statements(*, period: Period, merchant_ids: list[int], run: SettlementRun | None) -> int:
    """Create the statements of `merchant_ids` for `period` with their source rows and lines;
    returns how many were kept.

    Call inside a transaction. Merchants that already have a statement are skipped;
    statements with nothing on them are not kept. Everything proportional to the number of
    orders happens in SQL; Python only touches the few ladder, adjustment and carry rows.
    """
    todo = _without_statement(merchant_ids, str(period))
    if not todo:
        return 0
    days, ladders = _contracts(todo)
    previous = _previous_statements(todo, str(period))
    statements: dict[int, int] = {}
    with connection.cursor() as cursor:
        # The per-statement sums of a batch are hashed in memory rather than spilled.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        for (settlement_days, since, previous_end), group in _settled_alike(todo, days, previous).items():
            earlier = [previous[m][0] for m in group] if since else ()
            statements.update(
                _settle_group(
                    cursor,
                    group,
                    period=period,
                    run=run,
                    cutoff=settleable_cutoff(period, settlement_days),
                    since=since,
                    previous_end=previous_end,
                    previous=earlier,
                )
            )
        _refund_lines(cursor, period=str(period), merchant_ids=todo)
    StatementLine.objects.bulk_create(
        [
            *_adjustment_lines(statements, str(period)),
            *_carry_forward_lines(statements, str(period)),
            *_ladder_lines(statements, ladders),
            *_penalty_lines(statements, period),
            *_fee_lines(statements, period),
            *subsidy_lines(statements, str(period)),
        ]
    )
    kept = len(todo) - _drop_empty(str(period), todo)
    _total_payables(statements.values())
    return kept


# --- The steps, in the order compute_statements takes them --------------------------------


def _batch(merchant_ids) -> dict:
    """An ORM filter covering a batch: its id range. Batches are slices of sorted ids, so the
    range holds few others, which callers drop by set membership. (An IN list of thousands of
    parameters costs more to build and bind on the client than the query costs the server.)"""
    return {"merchant_id__gte": min(merchant_ids), "merchant_id__lte": max(merchant_ids)}


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in ids)


def _pairs(statements: dict[int, int]) -> str:
    """merchant id → statement id as the rows of a VALUES list (column1, column2)."""
    return ",".join(f"({int(m)},{int(s)})" for m, s in statements.items())


def _without_statement(merchant_ids: list[int], period: str) -> list[int]:
    """The merchants of the batch that have no statement for the period yet, sorted."""
    if not merchant_ids:
        return []
    existing = set(
        Statement.objects.filter(period=period, **_batch(merchant_ids)).values_list("merchant_id", flat=True)
    )
    return sorted(set(merchant_ids) - existing)


def _contracts(merchant_ids: list[int]) -> tuple[dict[int, int], dict[int, list[dict]]]:
    """Settlement days of each merchant (the accepted contract's, else the default) and the
    ladder steps of those on a ladder plan."""
    wanted = set(merchant_ids)
    days = dict.fromkeys(merchant_ids, settings.DEFAULT_SETTLEMENT_DAYS)
    ladders = {}
    rows = (
        merchant_selectors.accepted_contracts()
        .filter(**_batch(merchant_ids))
        .values_list("merchant_id", "settlement_days", "commission_plan", "ladder_steps")
    )
    for merchant_id, settlement_days, plan, steps in rows:
        if merchant_id in wanted:
            days[merchant_id] = settlement_days
            if plan == CommissionPlan.LADDER and steps:
                ladders[merchant_id] = steps
    return days, ladders


def _previous_statements(
    merchant_ids: list[int], period: str
) -> dict[int, tuple[int, datetime.datetime, datetime.datetime]]:
    """Merchant id → (id, cutoff, end of its period) of its latest statement before `period`
    that recorded its cutoff (statements from before the cutoff was recorded give no bound)."""
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


def _settled_alike(merchant_ids: list[int], days: dict[int, int], previous: dict) -> dict[tuple, list[int]]:
    """Merchants settled by the same SQL: same settlement days, same previous statement's
    cutoff and period (most of a batch). Key: (settlement days, since, previous end)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for merchant_id in merchant_ids:
        _statement, since, previous_end = previous.get(merchant_id, (None, None, None))
        groups[(days[merchant_id], since, previous_end)].append(merchant_id)
    return groups


def _settle_group(
    cursor, group: list[int], *, period: Period, run, cutoff, since, previous_end, previous
) -> dict[int, int]:
    """The statements of merchants settled alike, with their orders, frozen orders and
    refunds; returns merchant id → statement id."""
    created = _create_statements(group, period=str(period), run=run, cutoff=cutoff)
    _settle_orders(cursor, statements=created, cutoff=cutoff, since=since, previous=previous)
    _list_frozen_orders(cursor, period=str(period), merchant_ids=group, cutoff=cutoff)
    _settle_refunds(
        cursor, statements=created, end=period.end, since=since, previous_end=previous_end, previous=previous
    )
    return created


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
            [period, run.pk if run else None, StatementStatus.DRAFT, timezone.now(), cutoff],
        )
        return dict(cursor.fetchall())


# The merchant orders a batch settles: settleable (completed before the merchant's cutoff),
# not frozen, never settled. `s` maps each merchant of the batch to its new statement.
# `{since}` bounds the scan below by the previous statement's cutoff: every order completed
# before it was settled then, or listed frozen on that statement (`_CAUGHT_UP` takes those
# back), so a run reads one month of orders, not the merchants' whole history.
_CANDIDATES = """
    SELECT mo.order_id AS id, s.column2 AS sid, mo.goods, mo.platform_discount, mo.shipping, mo.commission
    FROM ({orders}) mo
    JOIN (VALUES {pairs}) s ON s.column1 = mo.order_merchant
    WHERE mo.order_merchant IN ({ids}) {since}
      AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.order_id)
"""
_CAUGHT_UP = """
    UNION ALL
    SELECT mo.order_id AS id, s.column2 AS sid, mo.goods, mo.platform_discount, mo.shipping, mo.commission
    FROM ({orders}) mo
    JOIN (VALUES {pairs}) s ON s.column1 = mo.order_merchant
    WHERE mo.order_id IN (
        SELECT fo.merchant_order_id FROM settlements_frozenorder fo WHERE fo.statement_id IN ({previous})
      )
      AND mo.completed < %s
      AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.order_id)
"""
# Their four statement lines, summed from the frozen per-order totals (each merchant order
# carries the sums of its lines, written at placement).
_ORDER_SUMS = """
    o AS (
        SELECT sid, COUNT(*) AS c, SUM(goods) AS goods, SUM(platform_discount) AS disc,
               SUM(shipping) AS ship, SUM(commission) AS comm
        FROM cand GROUP BY sid
    )
    INSERT INTO settlements_statementline (statement_id, kind, amount, count)
    SELECT sid, 'goods', goods, c FROM o
    UNION ALL SELECT sid, 'platform_discounts', disc, c FROM o
    UNION ALL SELECT sid, 'shipping', ship, c FROM o
    UNION ALL SELECT sid, 'commission', -comm, c FROM o
"""


def _settle_orders(cursor, *, statements: dict[int, int], cutoff, since=None, previous=()) -> None:
    """Write the settled-order source rows and the order lines of `statements` (merchant id →
    statement id) from one consistent view of the candidate orders: those completed before
    `cutoff` and, when the merchants have an earlier statement (`previous`, whose cutoff was
    `since`), either completed since then or listed frozen on it."""
    orders, orders_params = settlement_source.settleable_orders_sql(completed_before=cutoff, frozen=False)
    pairs = _pairs(statements)
    candidates = _CANDIDATES.format(
        orders=orders, pairs=pairs, ids=_in(statements), since="AND mo.completed >= %s" if since else ""
    )
    params = [*orders_params, since] if since else [*orders_params]
    if since:
        candidates += _CAUGHT_UP.format(orders=orders, pairs=pairs, previous=_in(previous))
        params += [*orders_params, since]
    # One statement, one snapshot: the rows inserted and the sums are the same orders even if
    # a dispute freezes one of them meanwhile; the candidates are read once.
    cursor.execute(
        f"""
        WITH cand AS ({candidates}),
        ins AS (INSERT INTO settlements_settledorder (merchant_order_id, statement_id) SELECT id, sid FROM cand),
        {_ORDER_SUMS}
        """,
        params,
    )


def _list_frozen_orders(cursor, *, period: str, merchant_ids: list[int], cutoff) -> None:
    """Settleable but frozen by an open dispute: listed on the statement, not paid."""
    frozen, frozen_params = settlement_source.settleable_orders_sql(completed_before=cutoff, frozen=True)
    cursor.execute(
        f"""
        INSERT INTO settlements_frozenorder (statement_id, merchant_order_id, amount, reason)
        SELECT s.id, mo.order_id, mo.paid, 'open dispute'
        FROM ({frozen}) mo
        JOIN settlements_statement s ON s.merchant_id = mo.order_merchant AND s.period = %s
        WHERE mo.order_merchant IN ({_in(merchant_ids)})
          AND NOT EXISTS (SELECT 1 FROM settlements_settledorder x WHERE x.merchant_order_id = mo.order_id)
        """,
        [*frozen_params, period],
    )


# Refund lines (and the shipping part of refunds, its own source record) of settled orders,
# completed before the period's end, not taken yet: deducted in the first statement where
# both hold. `{source}` is what orders compiles for one of the two; `{only}` picks the refunds
# a branch reads.
_REFUNDS = """
    SELECT s.column2, r.refund_pk, r.refund_line_pk, r.line_amount, r.shipping, r.base_back, r.discount_back,
           r.commission_back
    FROM ({source}) r
    JOIN settlements_settledorder so ON so.merchant_order_id = r.order_id
    JOIN (VALUES {pairs}) s ON s.column1 = r.order_merchant
    WHERE r.order_merchant IN ({ids}) {only}
"""
# Each source with the unique key its rows are settled once by.
_REFUND_SOURCES = [
    (settlement_source.refund_lines_sql, "(refund_line_id)"),
    (settlement_source.refund_shipping_sql, "(refund_id) WHERE refund_line_id IS NULL"),
]


def _settle_refunds(cursor, *, statements: dict[int, int], end, since=None, previous_end=None, previous=()) -> None:
    """Take the refunds due on `statements` (merchant id → statement id).

    Without an earlier statement: every refund of the merchants' settled orders completed
    before `end`. With one (cutoff `since`, period ending `previous_end`), refunds completed
    before `previous_end` of orders settled by then were taken by it; what is left is read in
    three disjoint parts: refunds completed since `previous_end`; earlier refunds of orders
    completed since `since` (settled here); earlier refunds of the orders listed frozen on the
    previous statement. So a run reads the month's refunds, not the history."""
    pairs = _pairs(statements)
    ids = _in(statements)
    if since:
        frozen = (
            f"SELECT fo.merchant_order_id FROM settlements_frozenorder fo WHERE fo.statement_id IN ({_in(previous)})"
        )
        branches = [
            ("AND r.refund_completed >= %s AND r.refund_completed < %s", [previous_end, end]),
            ("AND r.refund_completed < %s AND r.order_settleable AND r.order_completed >= %s", [previous_end, since]),
            (
                f"AND r.refund_completed < %s AND r.order_completed < %s AND r.order_id IN ({frozen})",
                [previous_end, since],
            ),
        ]
    else:
        branches = [("AND r.refund_completed < %s", [end])]
    for compile_source, conflict in _REFUND_SOURCES:
        source, source_params = compile_source()
        selects, params = [], []
        for only, values in branches:
            selects.append(_REFUNDS.format(source=source, pairs=pairs, ids=ids, only=only))
            params += [*source_params, *values]
        cursor.execute(
            f"""
            INSERT INTO settlements_settledrefund
                (statement_id, refund_id, refund_line_id, amount, shipping_amount, refunded_base, discount_back, commission_returned)
            {" UNION ALL ".join(selects)}
            ON CONFLICT {conflict} DO NOTHING
            """,
            params,
        )


def _refund_lines(cursor, *, period: str, merchant_ids: list[int]) -> None:
    """The four refund lines of the batch's statements, summed from their settled refunds.

    A group buy's difference refund is settled as a discount (its `discount_back` is minus
    the platform-funded part, see `orders.settlement_source.refund_lines_sql`): that part is
    added to the statement's "platform discounts reimbursed" line (created when the order
    settled in an earlier statement), not netted into "taken back", so the statement's
    platform cost is the campaign's marketing cost."""
    cursor.execute(
        f"""
        WITH r AS (
            SELECT sr.statement_id AS sid, SUM(CASE WHEN sr.refund_line_id IS NULL THEN 0 ELSE 1 END) AS c,
                   SUM(sr.amount) AS amount, SUM(sr.shipping_amount) AS ship,
                   SUM(GREATEST(sr.discount_back, 0)) AS back, SUM(sr.commission_returned) AS ret,
                   SUM(GREATEST(-sr.discount_back, 0)) AS later,
                   SUM(CASE WHEN sr.discount_back < 0 THEN 1 ELSE 0 END) AS later_c
            FROM settlements_settledrefund sr JOIN settlements_statement s ON s.id = sr.statement_id
            WHERE s.period = %s AND s.merchant_id IN ({_in(merchant_ids)}) GROUP BY sr.statement_id
        )
        INSERT INTO settlements_statementline (statement_id, kind, amount, count)
        SELECT sid, 'refunds', -amount, c FROM r
        UNION ALL SELECT sid, 'shipping_refunds', -ship, c FROM r
        UNION ALL SELECT sid, 'discounts_taken_back', -back, c FROM r
        UNION ALL SELECT sid, 'commission_returned', ret, c FROM r
        UNION ALL SELECT sid, 'platform_discounts', later, later_c FROM r WHERE later > 0
        ON CONFLICT (statement_id, kind) DO UPDATE
        SET amount = settlements_statementline.amount + EXCLUDED.amount,
            count = settlements_statementline.count + EXCLUDED.count
        """,
        [period],
    )


def _adjustment_lines(statements: dict[int, int], period: str) -> list[StatementLine]:
    """Manual adjustments of this period or earlier not settled yet: attached to the
    merchant's statement and summed into one line."""
    merchant_ids = list(statements)
    pending = ManualAdjustment.objects.filter(statement__isnull=True, period__lte=period, **_batch(merchant_ids))
    by_merchant: dict[int, list[ManualAdjustment]] = defaultdict(list)
    for adjustment in pending:
        if adjustment.merchant_id in statements:
            by_merchant[adjustment.merchant_id].append(adjustment)
    lines = []
    for merchant_id, rows in by_merchant.items():
        statement_id = statements[merchant_id]
        ManualAdjustment.objects.filter(pk__in=[a.pk for a in rows]).update(statement_id=statement_id)
        lines.append(
            StatementLine(
                statement_id=statement_id,
                kind=LineKind.ADJUSTMENTS,
                amount=sum((a.amount for a in rows), ZERO),
                count=len(rows),
            )
        )
    return lines


def _carry_forward_lines(statements: dict[int, int], period: str) -> list[StatementLine]:
    """The previous statement's payable, for merchants whose latest earlier one is negative."""
    latest = (
        Statement.objects.filter(merchant_id=OuterRef("merchant_id"), period__lt=period)
        .order_by("-period")
        .values("period")[:1]
    )
    negative = Statement.objects.filter(period__lt=period, payable__lt=0, **_batch(list(statements))).filter(
        period=Subquery(latest)
    )
    return [
        StatementLine(statement_id=statements[merchant_id], kind=LineKind.CARRY_FORWARD, amount=payable, count=1)
        for merchant_id, payable in negative.values_list("merchant_id", "payable")
        if merchant_id in statements
    ]


def _ladder_lines(statements: dict[int, int], ladders: dict[int, list[dict]]) -> list[StatementLine]:
    """Ladder rebates of strategic contracts: on this statement's net sales, capped at its
    net commission."""
    lines = []
    wanted = {statements[m]: steps for m, steps in ladders.items() if m in statements}
    if not wanted:
        return lines
    sums = list(
        SettledOrder.objects.filter(statement_id__in=wanted)
        .values("statement_id")
        .annotate(base=Sum("merchant_order__base_total"), commission=Sum("merchant_order__commission_total"))
        .values_list("statement_id", "base", "commission")
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


def ladder_rebate(*, net_sales: Decimal, steps: list[dict], cap: Decimal) -> Decimal:
    """Whole-volume steps: the highest step reached gives its points on all net sales;
    rebate = net sales × points / 100, half-up, never above `cap` nor below zero."""
    points = ZERO
    for step in steps:
        if net_sales >= Decimal(str(step["min_net_sales"])):
            points = max(points, Decimal(str(step["points"])))
    rebate = quantize(net_sales * points / 100) if points else ZERO
    return max(ZERO, min(rebate, quantize(cap)))


def _drop_empty(period: str, merchant_ids: list[int]) -> int:
    """Delete the new statements with nothing on them (no line, no frozen order); returns how
    many were deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM settlements_statement
            WHERE period = %s AND merchant_id IN ({_in(merchant_ids)})
              AND NOT EXISTS (SELECT 1 FROM settlements_statementline sl WHERE sl.statement_id = settlements_statement.id)
              AND NOT EXISTS (SELECT 1 FROM settlements_frozenorder fo WHERE fo.statement_id = settlements_statement.id)
            """,
            [period],
        )
        return cursor.rowcount


def _total_payables(statement_ids) -> None:
    """Payable = the sum of the lines, aggregated once for the batch; statements with only
    frozen orders stay at zero."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE settlements_statement SET payable = t.total
            FROM (
                SELECT sl.statement_id, SUM(sl.amount) AS total FROM settlements_statementline sl
                WHERE sl.statement_id IN ({_in(statement_ids)}) GROUP BY sl.statement_id
            ) t
            WHERE settlements_statement.id = t.statement_id
            """
        )
