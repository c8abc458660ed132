"""Benchmark: a full settlement run against one hand-written SQL aggregate of the same sums.

    DEBUG=1 bin/with-services .venv/bin/python bench/settlement_run.py [--lines 1000000] [--merchants 10000]

Builds, in a throwaway test database, N completed order lines (4 per merchant order) for M
merchants, then times in the same process:
  1. the aggregate: one SELECT summing paid, platform discount, commission and base of the
     order lines, and shipping, per merchant over the settleable orders;
  2. the run: `run_start` then every batch's `settle_batch` (what each Celery task executes,
     progress included), writing the statements, their source rows and lines. With
     --workers N, N threads with their own database connections share the batches, as N
     Celery workers would.
Prints both times, the ratio (target ≤ 3) and the process's peak memory (target < 500 MB),
and checks that the run's totals equal the aggregate's to the cent. Then times the next
month with no new orders, from the statements' cutoffs and, for comparison, re-reading the
settled history.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# The settings need DEBUG=1 to start without production secrets, but a worker runs with
# DEBUG off: Django's debug cursor, which formats and keeps the text of every query (here
# IN-lists of thousands of ids), is not part of what is measured.
settings.DEBUG = False

from decimal import Decimal  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

SQL_ORDERS = """
INSERT INTO orders_buyerorder (number, buyer_id, status, recipient, phone, region, address, goods_total,
    discount_total, shipping_total, payable_total, placed_at, pay_by, paid_at)
SELECT 'BB' || g, %(buyer)s, 'paid', 'r', 'p', 'east', 'a', 0, 0, 0, 0,
       TIMESTAMPTZ '2026-10-01 10:00+08', TIMESTAMPTZ '2026-10-01 10:30+08', TIMESTAMPTZ '2026-10-01 10:05+08'
FROM generate_series(1, %(orders)s) AS g;

INSERT INTO orders_merchantorder (buyer_order_id, merchant_id, number, status, goods_total, discount_total,
    shipping_fee, paid_total, platform_discount_total, base_total, commission_total,
    placed_at, paid_at, shipped_at, completed_at, after_sales_open, is_frozen)
SELECT bo.id, %(first_merchant)s + (bo.id %% %(merchants)s), bo.number || '-1', 'completed',
       395.00, 0, 8.00, 403.00, 5.00, 400.00, 40.00, bo.placed_at, bo.paid_at, bo.paid_at,
       TIMESTAMPTZ '2026-10-02 12:00+08' + ((bo.id %% 14) || ' days')::interval, false, false
FROM orders_buyerorder bo WHERE bo.number LIKE 'BB%%';

INSERT INTO orders_orderline (merchant_order_id, merchant_id, sku_id, category_id, product_title, sku_code, sku_label,
    unit_price, quantity, gross, merchant_discount, platform_discount, paid, base, category_rate, launch_policy,
    grade_a, commission_rate, commission, shipping_share, refunded, returned_quantity)
SELECT mo.id, mo.merchant_id, %(sku)s, %(category)s, 'p', 's', '', 100.00, 1, 100.00, 0,
       CASE WHEN n = 1 THEN 5.00 ELSE 0 END, CASE WHEN n = 1 THEN 95.00 ELSE 100.00 END, 100.00,
       0.1, false, false, 0.1, 10.00, 2.00, 0, 0
FROM orders_merchantorder mo CROSS JOIN generate_series(1, 4) AS n
WHERE mo.number LIKE 'BB%%';
"""

# With --logistics-subsidy: every merchant order shipped with a designated carrier, one parcel
# each (the tracking number names its order, to attach its lines), its carrier code on the
# order as the ship transition writes it.
SQL_SHIPMENTS = """
INSERT INTO orders_shipment (merchant_id, warehouse_id, buyer_id, address, status, carrier, tracking_number,
    shipped_at, created_at)
SELECT mo.merchant_id, %(warehouse)s, %(buyer)s, 'a', 'shipped', 'SF', mo.id::text, mo.shipped_at, mo.shipped_at
FROM orders_merchantorder mo WHERE mo.number LIKE 'BB%%';

INSERT INTO orders_shipmentline (shipment_id, order_line_id, quantity)
SELECT s.id, l.id, l.quantity FROM orders_shipment s JOIN orders_orderline l ON l.merchant_order_id = s.tracking_number::bigint;

UPDATE orders_merchantorder SET shipped_carrier = 'SF' WHERE number LIKE 'BB%%';
"""

AGGREGATE = """
SELECT mo.merchant_id, COUNT(*), SUM(l.paid), SUM(l.platform_discount), SUM(l.commission), SUM(l.base)
FROM orders_orderline l JOIN orders_merchantorder mo ON mo.id = l.merchant_order_id
WHERE mo.status = 'completed' AND mo.completed_at < %s AND NOT mo.is_frozen
GROUP BY mo.merchant_id
"""
SHIPPING = """
SELECT mo.merchant_id, SUM(mo.shipping_fee) FROM orders_merchantorder mo
WHERE mo.status = 'completed' AND mo.completed_at < %s AND NOT mo.is_frozen GROUP BY mo.merchant_id
"""


def build(lines: int, merchants: int, *, logistics_subsidy: bool = False) -> None:
    from catalog.models import SKU, Category, Product, Warehouse
    from marketplace.models import User
    from merchants.models import Merchant, Tier

    tier = Tier.objects.get(code="core")
    owners = User.objects.bulk_create([User(email=f"m{i}@bench.local") for i in range(merchants)], batch_size=5000)
    rows = Merchant.objects.bulk_create(
        [
            Merchant(owner=o, status="live", company_name=f"M{i}", tier=tier, live_since="2025-01-01T00:00:00+08:00")
            for i, o in enumerate(owners)
        ],
        batch_size=5000,
    )
    first = rows[0].pk
    assert rows[-1].pk == first + merchants - 1, "merchant ids must be contiguous for the generator"
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(merchant=rows[0], category=category, title="p")
    sku = SKU.objects.create(product=product, merchant=rows[0], code="s", price=Decimal("100.00"))
    buyer = User.objects.create(email="buyer@bench.local")
    params = {
        "buyer": buyer.pk,
        "orders": lines // 4,
        "first_merchant": first,
        "merchants": merchants,
        "sku": sku.pk,
        "category": category.pk,
    }
    with connection.cursor() as cursor:
        # One statement per execute: with server-side binding (the default) a statement with
        # parameters is prepared, and PostgreSQL prepares only one command at a time.
        for statement in filter(str.strip, SQL_ORDERS.split(";")):
            cursor.execute(statement, params)
        if logistics_subsidy:
            params["warehouse"] = Warehouse.objects.create(
                code="BENCH", name="Bench", kind="regional_central", region="east"
            ).pk
            for statement in filter(str.strip, SQL_SHIPMENTS.split(";")):
                cursor.execute(statement, params)
        cursor.execute("ANALYZE")
    if logistics_subsidy:
        import datetime

        from settlements.services.subsidies import programme_defaults_seed

        programme_defaults_seed(valid_from=datetime.date(2026, 1, 1))


# With --settled-history N: N orders settled in earlier months, as a database that has been
# settling for a while holds (no foreign key constraint: ids past the bench's orders, 10,000
# per earlier statement), so reads of "the orders these statements settle" show what they cost
# against a table that grows every month.
SQL_HISTORY = """
INSERT INTO settlements_settledorder (merchant_order_id, statement_id)
SELECT 1000000000 + g, -1 - g / 10000 FROM generate_series(1, %(history)s) AS g
"""

RESET = """
TRUNCATE settlements_settledorder, settlements_settledrefund, settlements_frozenorder, settlements_statementline,
         settlements_statement, settlements_settlementrun, settlements_subsidyaccrual CASCADE
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=10_000)
    parser.add_argument(
        "--workers", type=int, default=1, help="Batches settled concurrently, as several Celery workers would."
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="Aggregate and run measured this many times (settlement tables emptied)."
    )
    parser.add_argument("--profile", action="store_true", help="Print the time spent in each SQL statement of the run.")
    parser.add_argument(
        "--settled-history",
        type=int,
        default=0,
        help="Orders settled in earlier months already in the settled-orders table.",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="Print EXPLAIN ANALYZE of the logistics accrual statement of the last round (it still runs once).",
    )
    parser.add_argument(
        "--logistics-subsidy",
        action="store_true",
        help="Ship every order with a designated carrier and seed the logistics subsidy: the run accrues ¥0.50 per order.",
    )
    args = parser.parse_args()

    from settlements.models import SettlementBatch, Statement, StatementLine
    from settlements.periods import Period, settleable_cutoff
    from settlements.selectors import run_batch_ids
    from settlements.services.computation import compute_statements
    from settlements.services.runs import merchants_to_settle, run_start, settle_batch

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        build(args.lines, args.merchants, logistics_subsidy=args.logistics_subsidy)
        print(
            f"built {args.lines:,} order lines for {args.merchants:,} merchants in {time.perf_counter() - started:.1f} s"
        )

        def add_history():
            if args.settled_history:
                with connection.cursor() as cursor:
                    cursor.execute(SQL_HISTORY, {"history": args.settled_history})
                    cursor.execute("ANALYZE settlements_settledorder")

        add_history()
        period = Period(2026, 10)
        cutoff = settleable_cutoff(period, settings.DEFAULT_SETTLEMENT_DAYS)
        size = settings.SETTLEMENT_BATCH_SIZE
        timings: dict[str, list[float]] = {}

        def timed(execute, sql, params, many, context):
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                key = " ".join(sql.split())[:90]
                timings.setdefault(key, []).append(time.perf_counter() - began)

        explain_now = False

        def explained(execute, sql, params, many, context):
            # EXPLAIN ANALYZE executes the INSERT it explains: the run writes what it would.
            if "INSERT INTO settlements_subsidyaccrual" not in sql:
                return execute(sql, params, many, context)
            result = execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params, many, context)
            plans.append("\n".join(row[0] for row in context["cursor"].fetchall()))
            return result

        plans: list[str] = []

        def measure_aggregate():
            with connection.cursor() as cursor:
                began = time.perf_counter()
                cursor.execute(AGGREGATE, [cutoff])
                aggregate = cursor.fetchall()
                cursor.execute(SHIPPING, [cutoff])
                shipping = dict(cursor.fetchall())
                return time.perf_counter() - began, aggregate, shipping

        def measure_run():
            ids = merchants_to_settle(period)
            batch_count = len(range(0, len(ids), size))

            def settle(batch_id):
                try:
                    if args.profile:
                        batch = SettlementBatch.objects.get(pk=batch_id)
                        began = time.perf_counter()
                        with transaction.atomic():
                            compute_statements(period=period, merchant_ids=batch.merchant_ids, run=run)
                            computed = time.perf_counter()
                        timings.setdefault("(compute_statements, in all)", []).append(computed - began)
                        timings.setdefault("(commit)", []).append(time.perf_counter() - computed)
                    else:
                        settle_batch(batch_id=batch_id)
                finally:
                    if args.workers > 1:
                        connection.close()

            began = time.perf_counter()
            run = run_start(period=str(period), enqueue=False)
            batches = run_batch_ids(run)
            assert run.batches_total == len(batches) == batch_count
            if explain_now:
                with connection.execute_wrapper(explained):
                    for batch in batches:
                        settle(batch)
            elif args.profile:
                with connection.execute_wrapper(timed):
                    for batch in batches:
                        settle(batch)
            elif args.workers > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=args.workers) as pool:
                    list(pool.map(settle, batches))
            else:
                for batch in batches:
                    settle(batch)
            seconds = time.perf_counter() - began
            if not args.profile:
                run.refresh_from_db()
                assert (run.status, run.merchants_done, run.statements_created) == ("completed", len(ids), len(ids))
            return seconds

        aggregate_times, run_times = [], []
        for round_number in range(1, args.rounds + 1):
            aggregate_seconds, aggregate, shipping = measure_aggregate()
            run_seconds = measure_run()
            aggregate_times.append(aggregate_seconds)
            run_times.append(run_seconds)
            # The run's totals must be the aggregate's, to the cent.
            expected_goods = sum(row[2] for row in aggregate)
            expected_commission = sum(row[4] for row in aggregate)
            expected_payable = sum(row[2] + row[3] - row[4] + shipping[row[0]] for row in aggregate)
            if args.logistics_subsidy:  # ¥0.50 per merchant order (4 lines each), far below the cap
                expected_payable += sum(row[1] for row in aggregate) // 4 * Decimal("0.50")
            got = {
                kind: sum(StatementLine.objects.filter(kind=kind).values_list("amount", flat=True), Decimal(0))
                for kind in ("goods", "commission")
            }
            got_payable = sum(Statement.objects.values_list("payable", flat=True), Decimal(0))
            assert got["goods"] == expected_goods, (got["goods"], expected_goods)
            assert -got["commission"] == expected_commission
            assert got_payable == expected_payable, (got_payable, expected_payable)
            statements = Statement.objects.count()
            print(
                f"round {round_number}: aggregate {aggregate_seconds * 1000:.0f} ms over {len(aggregate):,} merchants; "
                f"run {run_seconds * 1000:.0f} ms, {statements:,} statements; ratio {run_seconds / aggregate_seconds:.2f}; "
                f"payable ¥{got_payable:,.2f} = the aggregate's"
            )
            if round_number < args.rounds:
                with connection.cursor() as cursor:
                    cursor.execute(RESET)
                    cursor.execute("VACUUM ANALYZE")
                add_history()

        if args.explain:
            # One more, untimed run (EXPLAIN ANALYZE's instrumentation slows what it measures).
            with connection.cursor() as cursor:
                cursor.execute(RESET)
                cursor.execute("VACUUM ANALYZE")
            add_history()
            explain_now = True
            measure_run()
            explain_now = False
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        aggregate_median = statistics.median(aggregate_times)
        run_median = statistics.median(run_times)
        print(f"aggregate query: {aggregate_median * 1000:.0f} ms (median of {args.rounds})")
        print(
            f"settlement run:  {run_median * 1000:.0f} ms (median of {args.rounds}), batch {size}, {args.workers} worker(s)"
        )
        print(
            f"ratio run/aggregate: {run_median / aggregate_median:.2f} (target ≤ 3.00); "
            f"peak memory {peak_mb:.0f} MB (target < 500 MB)"
        )
        # The next month, with no new orders: the run starts from each statement's cutoff and
        # does not re-read October's settled orders; without the cutoff it would.
        november = Period(2026, 11)
        next_ids = merchants_to_settle(november)

        def next_month():
            began = time.perf_counter()
            with transaction.atomic():
                for start in range(0, len(next_ids), size):
                    compute_statements(period=november, merchant_ids=next_ids[start : start + size], run=None)
                transaction.set_rollback(True)
            return time.perf_counter() - began

        bounded = statistics.median(next_month() for _ in range(3))
        Statement.objects.update(orders_completed_before=None)
        unbounded = statistics.median(next_month() for _ in range(3))
        print(
            f"next month, nothing new: {bounded * 1000:.0f} ms from the cutoffs; "
            f"{unbounded * 1000:.0f} ms re-reading the settled month (grows with every month kept)"
        )
        for plan in plans[:1]:
            print("EXPLAIN ANALYZE of the first batch's logistics accrual (an extra, untimed run):")
            print(plan)
        for key, spent in sorted(timings.items(), key=lambda item: -sum(item[1])):
            print(f"  {sum(spent) * 1000:7.0f} ms  ×{len(spent):<3} {key}")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
