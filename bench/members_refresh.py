"""Benchmark: the nightly membership and RFM run against one hand-written SQL aggregate of the
same figures.

    DEBUG=1 bin/with-services .venv/bin/python bench/members_refresh.py [--buyers 100000] [--orders 3]

Builds, in a throwaway test database, B buyers with on average O paid orders each (one merchant
order and one line per order, spread over 15 months, one order in 50 cancelled, one line in 20
partly refunded), then times in the same process:
  1. the aggregate: one SELECT of every buyer's last payment, orders and goods paid in the
     12 months (what the run reads, without writing anything);
  2. the first run: `members_refresh` reading through `orders.selectors.buyer_activity` batch
     by batch (ranges from `buyer_activity_bounds`), writing every membership, history row and
     RFM row, then the NTILE scores;
  3. the second run of the same day: reads everything again, writes nothing.
Prints the times (the run's target: minutes for 100,000 buyers), the ratio to the aggregate,
the queries per batch and the peak memory, and checks that the stored spend equals the
aggregate's to the cent. Throughput on a shared machine is noisy: compare the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# DEBUG=1 starts the settings without production secrets; the worker runs with DEBUG off
# (Django's debug cursor keeps the text of every query).
settings.DEBUG = False

from decimal import Decimal  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

AS_OF = "2026-12-07 00:00+08"

SQL_ORDERS = """
INSERT INTO orders_buyerorder (number, buyer_id, status, recipient, phone, region, address, goods_total,
    discount_total, shipping_total, payable_total, placed_at, pay_by, paid_at)
SELECT 'BM' || g, u.id, 'paid', 'r', 'p', 'east', 'a', 0, 0, 0, 0,
       TIMESTAMPTZ '2026-12-06 12:00+08' - ((g::bigint * 7919) %% 450 || ' days')::interval,
       TIMESTAMPTZ '2026-12-06 12:30+08' - ((g::bigint * 7919) %% 450 || ' days')::interval,
       TIMESTAMPTZ '2026-12-06 12:05+08' - ((g::bigint * 7919) %% 450 || ' days')::interval
FROM generate_series(1, %(orders)s) AS g
CROSS JOIN LATERAL (SELECT %(first_buyer)s + (g::bigint * 104729) %% %(buyers)s AS id) AS u;

INSERT INTO orders_merchantorder (buyer_order_id, merchant_id, number, status, goods_total, discount_total,
    shipping_fee, paid_total, platform_discount_total, base_total, commission_total,
    placed_at, paid_at, after_sales_open, is_frozen)
SELECT bo.id, %(merchant)s, bo.number || '-1', CASE WHEN bo.id %% 50 = 0 THEN 'cancelled' ELSE 'paid' END,
       (bo.id %% 97) * 10 + 10, 0, 8.00, (bo.id %% 97) * 10 + 18, 0, (bo.id %% 97) * 10 + 10, 0,
       bo.placed_at, bo.paid_at, false, false
FROM orders_buyerorder bo WHERE bo.number LIKE 'BM%%';

INSERT INTO orders_orderline (merchant_order_id, merchant_id, sku_id, category_id, product_title, sku_code, sku_label,
    unit_price, quantity, gross, merchant_discount, platform_discount, paid, base, category_rate, launch_policy,
    grade_a, commission_rate, commission, shipping_share, refunded, returned_quantity)
SELECT mo.id, mo.merchant_id, %(sku)s, %(category)s, 'p', 's', '', mo.goods_total, 1, mo.goods_total, 0, 0,
       mo.goods_total, mo.goods_total, 0.1, false, false, 0.1, 0, 0,
       CASE WHEN mo.id %% 20 = 0 THEN 5.00 ELSE 0 END, 0
FROM orders_merchantorder mo WHERE mo.number LIKE 'BM%%';
"""

AGGREGATE = """
SELECT bo.buyer_id, MAX(mo.paid_at),
       COUNT(DISTINCT bo.id) FILTER (WHERE mo.paid_at > %(since)s),
       COALESCE(SUM(mo.goods_total - mo.discount_total - l.refunded) FILTER (WHERE mo.paid_at > %(since)s), 0)
FROM orders_merchantorder mo
JOIN orders_buyerorder bo ON bo.id = mo.buyer_order_id
JOIN orders_orderline l ON l.merchant_order_id = mo.id
WHERE mo.paid_at IS NOT NULL AND mo.paid_at <= %(until)s AND mo.status <> 'cancelled'
GROUP BY bo.buyer_id
"""


def build(buyers: int, orders: int) -> None:
    from catalog.models import SKU, Category, Product
    from marketplace.models import User
    from merchants.models import Merchant, Tier

    owner = User.objects.create(email="owner@bench.local")
    merchant = Merchant.objects.create(
        owner=owner,
        status="live",
        company_name="M",
        tier=Tier.objects.get(code="core"),
        live_since="2025-01-01T00:00:00+08:00",
    )
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(merchant=merchant, category=category, title="p")
    sku = SKU.objects.create(product=product, merchant=merchant, code="s", price=Decimal("100.00"))
    rows = User.objects.bulk_create([User(email=f"b{i}@bench.local") for i in range(buyers)], batch_size=5000)
    assert rows[-1].pk == rows[0].pk + buyers - 1, "buyer ids must be contiguous for the generator"
    params = {
        "buyers": buyers,
        "first_buyer": rows[0].pk,
        "orders": orders,
        "merchant": merchant.pk,
        "sku": sku.pk,
        "category": category.pk,
    }
    with connection.cursor() as cursor:
        # One statement per execute: a prepared statement holds one command.
        for statement in filter(str.strip, SQL_ORDERS.split(";")):
            cursor.execute(statement, params)
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=3, help="Paid orders per buyer on average.")
    args = parser.parse_args()

    from orders.selectors import buyer_activity, buyer_activity_bounds
    from promotions.models import Membership, MembershipChange, RfmScore
    from promotions.services import members_refresh
    from promotions.services.members import BATCH_SIZE, window_start
    from promotions.tasks import ORDER_FIGURES

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        build(args.buyers, args.buyers * args.orders)
        print(
            f"built {args.buyers:,} buyers with {args.buyers * args.orders:,} orders in {time.perf_counter() - started:.1f} s"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::timestamptz", [AS_OF])
            (as_of,) = cursor.fetchone()
        since = window_start(as_of)

        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(AGGREGATE, {"since": since, "until": as_of})
            aggregate = cursor.fetchall()
        aggregate_seconds = time.perf_counter() - began

        # The queries of one batch, counted on a small run first (DEBUG off: count by hand).
        with CaptureQueriesContext(connection) as one_batch:
            first_bound = buyer_activity_bounds(size=BATCH_SIZE, until=as_of)[:1] or [None]
            buyer_activity(after_buyer_id=0, up_to_buyer_id=first_bound[0], since=since, until=as_of)

        began = time.perf_counter()
        first = members_refresh(figures=ORDER_FIGURES, as_of=as_of)
        first_seconds = time.perf_counter() - began
        began = time.perf_counter()
        second = members_refresh(figures=ORDER_FIGURES, as_of=as_of)
        second_seconds = time.perf_counter() - began

        expected = sum((row[3] for row in aggregate), Decimal(0))
        stored = sum(Membership.objects.values_list("spend_12m", flat=True), Decimal(0))
        assert stored == expected, (stored, expected)
        assert first.buyers == len(aggregate) == RfmScore.objects.count()
        assert (first.failed, second.failed) == (0, 0)
        assert (second.level_changes, second.reset, second.scored) == (0, 0, 0)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"aggregate query: {aggregate_seconds * 1000:.0f} ms over {len(aggregate):,} buyers")
        print(
            f"first run:  {first_seconds:.1f} s, {first.batches} batches of {BATCH_SIZE}, "
            f"{MembershipChange.objects.count():,} history rows, {first.scored:,} scored; "
            f"ratio to the aggregate {first_seconds / aggregate_seconds:.1f}"
        )
        print(f"second run (same day, nothing to write): {second_seconds:.1f} s")
        print(
            f"selector queries per batch (bounds once, then the batch): {len(one_batch.captured_queries)}; spend ¥{stored:,.2f} = the aggregate's"
        )
        print(f"peak memory {peak_mb:.0f} MB")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
