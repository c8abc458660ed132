"""Benchmark: every risk alert job over M merchants, against one hand-written SQL aggregate.

    DEBUG=1 bin/with-services .venv/bin/python bench/risk_alerts.py [--merchants 10000] [--orders 90]

Builds, in a throwaway test database, M live merchants of the core tier with O paid merchant
orders each over the last 45 days (shipped 10 hours after payment; one merchant in 13 ships its
recent orders 60 hours late), complaints on 4 recent orders of one merchant in 10, returns on 4
recent orders of one in 7, one SKU with 100 units in stock each (one in 4 shipped nothing in 30
days: slow; one in 5 below its reorder point), the deposit paid by all but one in 20, a document
expiring within 10 days for one in 50, negative statements two months running for one in 100.
Then times in the same process:
  1. the aggregate: one SELECT of every merchant's orders and complaints over 30 days (what
     the complaint-rate job reads, without writing anything);
  2. each job once (raising the alerts), then each job again (idempotent: raises nothing).
Prints each job's time, alerts raised, and the ratio of the complaint-rate job to the
aggregate; checks the complaint alerts equal the aggregate's merchants above 5 %. Throughput on
a shared machine is noisy: compare the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# DEBUG=1 starts the settings without production secrets; the worker runs with DEBUG off.
settings.DEBUG = False

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

SQL_BUILD = """
INSERT INTO orders_buyerorder (number, buyer_id, status, recipient, phone, region, address, goods_total,
    discount_total, shipping_total, payable_total, placed_at, pay_by, paid_at)
SELECT 'RB' || m.id || '-' || g, %(buyer)s, 'paid', 'r', 'p', 'east', 'a', 100, 0, 0, 100,
       %(now)s::timestamptz - ((g * 45.0 / %(orders)s) || ' days')::interval,
       %(now)s::timestamptz - ((g * 45.0 / %(orders)s) || ' days')::interval + interval '30 minutes',
       %(now)s::timestamptz - ((g * 45.0 / %(orders)s) || ' days')::interval
FROM merchants_merchant m CROSS JOIN generate_series(1, %(orders)s) AS g;

INSERT INTO orders_merchantorder (buyer_order_id, merchant_id, number, status, goods_total, discount_total,
    shipping_fee, paid_total, platform_discount_total, base_total, commission_total, shipping_waived,
    placed_at, paid_at, shipped_at, after_sales_open, is_frozen, shipped_carrier, has_special_category)
SELECT bo.id, split_part(substr(bo.number, 3), '-', 1)::bigint, bo.number || '-1', 'shipped', 100, 0, 0, 100, 0,
       100, 10, 0, bo.placed_at, bo.paid_at,
       bo.paid_at + CASE WHEN split_part(substr(bo.number, 3), '-', 1)::bigint %% 13 = 0
                          AND bo.paid_at > %(now)s::timestamptz - interval '14 days'
                         THEN interval '60 hours' ELSE interval '10 hours' END,
       false, false, 'SF', false
FROM orders_buyerorder bo WHERE bo.number LIKE 'RB%%';

INSERT INTO orders_complaint (merchant_order_id, merchant_id, buyer_id, category, text, created_at, status,
    response, respond_by)
SELECT mo.id, mo.merchant_id, %(buyer)s, 'service', 'x', mo.paid_at + interval '1 day', 'open', '',
       mo.paid_at + interval '4 days'
FROM (SELECT mo.*, row_number() OVER (PARTITION BY mo.merchant_id ORDER BY mo.paid_at DESC) AS n
      FROM orders_merchantorder mo WHERE mo.merchant_id %% 10 = 0) mo
WHERE mo.n BETWEEN 3 AND 6;

INSERT INTO orders_aftersalesrequest (merchant_order_id, buyer_id, kind, status, reason, shipping_amount,
    respond_by, merchant_note, created_at)
SELECT mo.id, %(buyer)s, 'return_refund', 'open', 'x', 0, %(now)s::timestamptz + interval '2 days', '',
       mo.paid_at + interval '1 hour'
FROM (SELECT mo.*, row_number() OVER (PARTITION BY mo.merchant_id ORDER BY mo.paid_at DESC) AS n
      FROM orders_merchantorder mo WHERE mo.merchant_id %% 7 = 0) mo
WHERE mo.n BETWEEN 1 AND 4;

INSERT INTO catalog_product (merchant_id, category_id, title, description, status, review_reason, is_featured,
    search_text, created_at, updated_at, in_stock, rating_count, rating_total)
SELECT m.id, %(category)s, 'p', '', 'published', '', false, '', %(now)s, %(now)s, true, 0, 0 FROM merchants_merchant m;

INSERT INTO catalog_sku (product_id, merchant_id, code, attributes, price, barcode, weight_grams, reorder_point,
    lead_time_days, safety_stock, is_active, created_at)
SELECT p.id, p.merchant_id, 'S' || p.id, '{}', 100, '', 100, 5, 7, 0, true, %(now)s FROM catalog_product p;

INSERT INTO catalog_stock (sku_id, warehouse_id, on_hand, reserved)
SELECT s.id, %(warehouse)s, 100, 0 FROM catalog_sku s;

INSERT INTO catalog_stockmovement (stock_id, kind, on_hand_delta, reserved_delta, on_hand_after, reserved_after,
    reference, reason, created_at)
SELECT st.id, 'shipment', -50, 0, 100, 0, 'bench', '', %(now)s::timestamptz - interval '5 days'
FROM catalog_stock st JOIN catalog_sku s ON s.id = st.sku_id WHERE s.merchant_id %% 4 <> 0;

INSERT INTO catalog_stockalert (stock_id, merchant_id, available_at_open, reorder_point, opened_at)
SELECT st.id, s.merchant_id, 3, 5, %(now)s
FROM catalog_stock st JOIN catalog_sku s ON s.id = st.sku_id WHERE s.merchant_id %% 5 = 0;

INSERT INTO merchants_depositentry (merchant_id, kind, amount, reason, reference, created_at)
SELECT m.id, 'paid', 50000.00, 'bench', 'bench-' || m.id, %(now)s FROM merchants_merchant m WHERE m.id %% 20 <> 0;

INSERT INTO merchants_merchantdocument (merchant_id, kind, file, content_type, size, sha256, original_name,
    expires_on, uploaded_by_id, uploaded_at, status, review_reason)
SELECT m.id, 'business_licence', 'bench.pdf', 'application/pdf', 1, '0', 'bench.pdf',
       (%(now)s::timestamptz + interval '10 days')::date, %(buyer)s, %(now)s, 'current', ''
FROM merchants_merchant m WHERE m.id %% 50 = 0;

INSERT INTO settlements_statement (merchant_id, period, status, payable, created_at)
SELECT m.id, p.period, 'approved', -10.00, %(now)s
FROM merchants_merchant m CROSS JOIN (VALUES (%(p1)s), (%(p2)s)) AS p(period) WHERE m.id %% 100 = 0;
"""

AGGREGATE = """
SELECT o.merchant_id, o.n, COALESCE(c.n, 0)
FROM (SELECT merchant_id, COUNT(*) AS n FROM orders_merchantorder
      WHERE paid_at >= %(since)s AND paid_at < %(now)s GROUP BY merchant_id) o
LEFT JOIN (SELECT merchant_id, COUNT(*) AS n FROM orders_complaint
           WHERE created_at >= %(since)s AND created_at < %(now)s GROUP BY merchant_id) c USING (merchant_id)
WHERE o.n >= 20 AND COALESCE(c.n, 0) * 100 > 5 * o.n
"""


def build(merchants: int, orders: int, now) -> None:
    from catalog.models import Category, Warehouse
    from marketplace.models import User
    from merchants.models import Merchant, Tier
    from settlements.periods import Period

    buyer = User.objects.create(email="buyer@bench.local")
    owners = User.objects.bulk_create([User(email=f"m{i}@bench.local") for i in range(merchants)], batch_size=5000)
    tier = Tier.objects.get(code="core")
    Merchant.objects.bulk_create(
        [
            Merchant(owner=o, status="live", company_name=f"M{i}", tier=tier, live_since=now, contact_email=o.email)
            for i, o in enumerate(owners)
        ],
        batch_size=5000,
    )
    category = Category.objects.create(name="Bench", slug="bench")
    warehouse = Warehouse.objects.create(code="WHB", name="Bench", kind="regional_central", region="east")
    last = Period.parse(f"{timezone.localdate(now):%Y-%m}").previous
    params = {
        "now": now,
        "orders": orders,
        "buyer": buyer.pk,
        "category": category.pk,
        "warehouse": warehouse.pk,
        "p1": str(last.previous),
        "p2": str(last),
    }
    with connection.cursor() as cursor:
        for statement in filter(str.strip, SQL_BUILD.split(";\n")):
            cursor.execute(statement, params)
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=90, help="Paid orders per merchant over 45 days.")
    args = parser.parse_args()

    from risk.models import RiskAlert
    from risk.services import alerts

    # The jobs that read a window take the build's `now`, so the aggregate reads the same one.
    jobs = [
        ("complaint_rate", lambda: alerts.alerts_complaint_rate(now=now)),
        ("return_rate_spike", lambda: alerts.alerts_return_rate_spike(now=now)),
        ("on_time_shipping", lambda: alerts.alerts_on_time_shipping(now=now)),
        ("stock_below_reorder", lambda: alerts.alerts_stock_below_reorder()),
        ("slow_stock", lambda: alerts.alerts_slow_stock(now=now)),
        ("deposit_short", lambda: alerts.alerts_deposit_short()),
        ("documents", lambda: alerts.alerts_documents()),
        ("negative_payable", lambda: alerts.alerts_negative_payable()),
        ("reconciliation", lambda: alerts.alerts_reconciliation()),
    ]
    now = timezone.now()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        build(args.merchants, args.orders, now)
        print(
            f"built {args.merchants:,} merchants with {args.merchants * args.orders:,} orders "
            f"in {time.perf_counter() - started:.1f} s"
        )
        since = now - timezone.timedelta(days=30)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(AGGREGATE, {"since": since, "now": now})
            over = cursor.fetchall()
        aggregate_seconds = time.perf_counter() - began
        print(
            f"aggregate query (complaint rate, every merchant): {aggregate_seconds * 1000:.0f} ms, {len(over):,} above 5 %"
        )

        total = 0.0
        for round_name in ("first run", "second run (nothing new)"):
            print(round_name)
            for name, job in jobs:
                before = RiskAlert.objects.count()
                began = time.perf_counter()
                job()
                seconds = time.perf_counter() - began
                total += seconds
                raised = RiskAlert.objects.count() - before
                ratio = (
                    f"; ratio to the aggregate {seconds / aggregate_seconds:.1f}" if name == "complaint_rate" else ""
                )
                print(f"  {name:<20} {seconds:7.2f} s, {raised:,} alerts raised{ratio}")
                if round_name.startswith("second"):
                    assert raised == 0, (name, raised)
        complaint_alerts = set(RiskAlert.objects.filter(kind="complaint_rate").values_list("merchant_id", flat=True))
        assert complaint_alerts == {row[0] for row in over}, "the job and the aggregate disagree"
        by_kind = dict(RiskAlert.objects.order_by().values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
        print(f"alerts by kind: {dict(sorted(by_kind.items()))}")
        print(f"all jobs, both runs: {total:.1f} s; complaint alerts = the aggregate's {len(over):,} merchants")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
