"""Benchmark: the dashboards' selectors with 10,000 merchants and a few hundred thousand orders,
each against a bare COUNT(*) of the merchant orders (the cheapest read of the same table).

    DEBUG=1 DATABASE_URL=postgres://…/mp_uds_bench bin/with-services .venv/bin/python bench/dashboards.py \
        [--merchants 10000] [--orders 300000] [--repeat 7]

Builds, in a throwaway test database (`test_<name>`), M live merchants (tiers core, potential,
strategic in turn; one in ten not live), two published products with three SKUs each per
merchant, 50 categories with their TOP50 brand lists (about a third of the brands named by a
product), O paid merchant orders over the last 120 days (one merchant with a twentieth of them:
the biggest shop's portal home), an after-sales request for one order in 30, a captured
payment per buyer order with its journal entry (all but 10 posted), and a settled period
(2026-11) with a statement per merchant (one in three to review, approved, paid) and payouts
(sent, paid, failed). Then times, in process, the median of `--repeat` runs of:
  - the baseline: SELECT COUNT(*) FROM orders_merchantorder;
  - the portal home of the biggest shop and of an average one (90 days): its series, the
    open period's estimate and its last statement;
  - the operations dashboard's figures (90 days): `operations_figures`;
  - finance's period page: `finance_period_summary`.
Prints each time, its ratio to the baseline and its query count. Throughput on a shared
machine is noisy: compare the ratios and the query counts, which are stable.

Figures of this tree (10,000 merchants, 300,000 orders, medians of 5, a busy 2-core machine):
COUNT(*) baseline 205 ms; portal home 144 ms for the biggest shop (15,000 orders), 19 ms for an
average one (4 queries); operations dashboard 0.67–0.81 s (7 queries; the GMV series 462 ms,
the TOP brand coverage 196 ms, down from 4.1 s with an `Exists` per brand), kept 5 minutes in
the cache; finance page 0.66 s (8 queries).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# DEBUG=1 starts the settings without production secrets; production runs with DEBUG off
# (Django's debug cursor keeps the text of every query).
settings.DEBUG = False

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

CATEGORIES = 50
BRANDS = 50

SQL = """
INSERT INTO merchants_merchant (owner_id, status, status_reason, company_name, shop_name, slug, social_credit_code,
    legal_rep_name, legal_rep_id_number, contact_name, contact_phone, contact_email, requested_category_ids,
    sales_regions, cooperation_mode, sells_manufactured_goods, sells_third_party_brands, is_cross_border,
    bank_account_name, bank_name, bank_account_number, description, logo, credit_grade, created_at, updated_at,
    live_since, tier_id, rating_count, rating_total, has_expired_documents)
SELECT %(first_user)s + g - 1, CASE WHEN g %% 10 = 0 THEN 'submitted' ELSE 'live' END, '', 'Company ' || g,
       'Shop ' || g, 'shop-' || g, '', '', '', '', '', '', '[]', '[]', 'platform_entry', false, false, false,
       '', '', '', '', '', 'B', now(), now(), now() - interval '200 days',
       (SELECT id FROM merchants_tier ORDER BY position, code OFFSET (g %% 3) LIMIT 1), 0, 0, false
FROM generate_series(1, %(merchants)s) AS g;

INSERT INTO catalog_category (name, slug, is_active, is_fresh, is_cross_border, position)
SELECT 'Category ' || c, 'bench-' || c, true, false, false, c FROM generate_series(1, %(categories)s) AS c;

INSERT INTO catalog_topbrand (category_id, name, rank)
SELECT cat.id, 'Brand' || cat.position || 'x' || r, r
FROM catalog_category cat CROSS JOIN generate_series(1, %(brands)s) AS r WHERE cat.slug LIKE 'bench-%%';

INSERT INTO catalog_product (merchant_id, category_id, title, description, status, review_reason, is_featured,
    min_price, in_stock, search_text, created_at, updated_at, published_at, rating_count, rating_total)
SELECT m.id, (SELECT id FROM catalog_category WHERE slug = 'bench-' || (1 + (m.id + p) %% %(categories)s)),
       'Brand' || (1 + (m.id + p) %% %(categories)s) || 'x' || (1 + (m.id * 7 + p) %% 150) || ' kettle ' || p,
       '', 'approved', '', false, 99.00, true, '', now(), now(), now() - interval '100 days', 0, 0
FROM merchants_merchant m CROSS JOIN generate_series(1, 2) AS p;

INSERT INTO catalog_sku (product_id, merchant_id, code, attributes, price, barcode, weight_grams, reorder_point,
    lead_time_days, safety_stock, is_active, created_at)
SELECT pr.id, pr.merchant_id, 'S' || pr.id || '-' || s, '{}', 99.00, '', 0, 0, 7, 0, true, now()
FROM catalog_product pr CROSS JOIN generate_series(1, 3) AS s;

INSERT INTO orders_buyerorder (number, buyer_id, status, recipient, phone, region, address, goods_total,
    discount_total, shipping_total, payable_total, placed_at, pay_by, paid_at)
SELECT 'BD' || g, %(buyer)s, 'paid', 'r', 'p', 'east', 'a', (g %% 97) * 10 + 10, 0, 8.00, (g %% 97) * 10 + 18,
       now() - ((g::bigint * 7919) %% (120 * 24 * 60) || ' minutes')::interval - interval '10 minutes',
       now() - ((g::bigint * 7919) %% (120 * 24 * 60) || ' minutes')::interval,
       now() - ((g::bigint * 7919) %% (120 * 24 * 60) || ' minutes')::interval - interval '5 minutes'
FROM generate_series(1, %(orders)s) AS g;

INSERT INTO orders_merchantorder (buyer_order_id, merchant_id, number, status, goods_total, discount_total,
    shipping_fee, paid_total, platform_discount_total, base_total, commission_total, placed_at, paid_at,
    completed_at, after_sales_open, is_frozen)
SELECT bo.id,
       CASE WHEN bo.id %% 20 = 0 THEN %(first_merchant)s ELSE %(first_merchant)s + (bo.id * 104729) %% %(merchants)s END,
       bo.number || '-1', CASE WHEN bo.id %% 3 = 0 THEN 'completed' ELSE 'paid' END,
       bo.goods_total, 0, 8.00, bo.payable_total, 0, bo.goods_total, bo.goods_total * 0.05,
       bo.placed_at, bo.paid_at, CASE WHEN bo.id %% 3 = 0 THEN bo.paid_at + interval '3 days' END, false, false
FROM orders_buyerorder bo WHERE bo.number LIKE 'BD%%';

INSERT INTO orders_aftersalesrequest (merchant_order_id, buyer_id, kind, status, reason, shipping_amount,
    respond_by, merchant_note, created_at)
SELECT mo.id, %(buyer)s, 'refund', 'closed', 'r', 0, mo.paid_at + interval '3 days', '', mo.paid_at + interval '1 day'
FROM orders_merchantorder mo WHERE mo.id %% 30 = 0;

INSERT INTO orders_payment (buyer_order_id, gateway, reference, amount, status, created_at, succeeded_at)
SELECT bo.id, 'sandbox', 'PAY' || bo.id, bo.payable_total, 'succeeded', bo.paid_at, bo.paid_at
FROM orders_buyerorder bo WHERE bo.number LIKE 'BD%%';

INSERT INTO settlements_journalentry (key, description, created_at)
SELECT 'payment:PAY' || bo.id, 'payment', bo.paid_at
FROM orders_buyerorder bo WHERE bo.number LIKE 'BD%%' AND bo.id > (SELECT MIN(id) + 9 FROM orders_buyerorder);

INSERT INTO settlements_settlementrun (period, status, started_at, finished_at, merchants_total, batches_total,
    batches_done, merchants_done, statements_created, failures)
VALUES ('2026-11', 'completed', now(), now(), %(merchants)s, 20, 20, %(merchants)s, %(merchants)s, '[]');

INSERT INTO settlements_statement (merchant_id, period, run_id, status, payable, created_at)
SELECT m.id, '2026-11', (SELECT MAX(id) FROM settlements_settlementrun),
       (ARRAY['draft', 'approved', 'paid'])[1 + m.id %% 3], 100 + m.id %% 1000, now()
FROM merchants_merchant m;

INSERT INTO settlements_payoutbatch (reference, created_by_id, created_at)
VALUES ('PB-BENCH', %(buyer)s, now());

INSERT INTO settlements_payout (batch_id, statement_id, reference, amount, status, bank_reference, failure_reason)
SELECT (SELECT MAX(id) FROM settlements_payoutbatch), s.id, 'PO' || s.id, s.payable,
       CASE WHEN s.status = 'paid' THEN 'paid' WHEN s.id %% 2 = 0 THEN 'pending' ELSE 'failed' END, '', ''
FROM settlements_statement s WHERE s.status <> 'draft'
"""


def build(merchants: int, orders: int) -> tuple[int, int]:
    """Returns the biggest shop's id and an average one's."""
    from marketplace.models import User

    users = User.objects.bulk_create([User(email=f"m{i}@bench.local") for i in range(merchants + 1)], batch_size=5000)
    assert users[-1].pk == users[0].pk + merchants, "user ids must be contiguous for the generator"
    params = {
        "first_user": users[0].pk,
        "buyer": users[-1].pk,
        "merchants": merchants,
        "orders": orders,
        "categories": CATEGORIES,
        "brands": BRANDS,
        "first_merchant": 0,
    }
    with connection.cursor() as cursor:
        for statement in filter(str.strip, SQL.split(";")):
            if "INSERT INTO orders_merchantorder" in statement:
                cursor.execute("SELECT MIN(id) FROM merchants_merchant")
                params["first_merchant"] = cursor.fetchone()[0]
            cursor.execute(statement, params)
        cursor.execute("ANALYZE")
        cursor.execute("SELECT merchant_id, COUNT(*) FROM orders_merchantorder GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
        biggest = cursor.fetchone()[0]
    return biggest, params["first_merchant"] + 1


def timed(read, repeat: int) -> tuple[float, int]:
    """The median time (ms) of `repeat` runs of `read`, and its query count."""
    with CaptureQueriesContext(connection) as queries:
        read()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from catalog import selectors as catalog_selectors
    from merchants import selectors as merchant_selectors
    from merchants.models import Merchant
    from orders.operations_dashboard import operations_figures
    from orders.selectors import dashboards
    from settlements import selectors as settlement_selectors

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        biggest_id, average_id = build(args.merchants, args.orders)
        print(
            f"built {args.merchants:,} merchants, {args.orders:,} orders, {args.merchants * 6:,} SKUs, "
            f"{CATEGORIES * BRANDS:,} TOP brands in {time.perf_counter() - started:.1f} s"
        )
        biggest, average = Merchant.objects.get(pk=biggest_id), Merchant.objects.get(pk=average_id)

        def portal(merchant):
            def read():
                dashboards.merchant_sales_daily(merchant, days=90)
                dashboards.merchant_completed_estimate(merchant, since=settlement_selectors.open_period_start())
                settlement_selectors.last_statement_for_merchant(merchant)

            return read

        def baseline():
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM orders_merchantorder")
                cursor.fetchone()

        base_ms, _queries = timed(baseline, args.repeat)
        print(f"baseline COUNT(*) of {args.orders:,} merchant orders: {base_ms:.1f} ms")
        rows = [
            (f"portal home, biggest shop ({biggest.orders.count():,} orders)", portal(biggest)),
            (f"portal home, an average shop ({average.orders.count():,} orders)", portal(average)),
            ("operations dashboard (90 days)", lambda: operations_figures(days=90)),
            ("operations dashboard (30 days)", lambda: operations_figures(days=30)),
            ("  of which the GMV series (90 days)", lambda: dashboards.platform_sales_daily(days=90)),
            ("  of which the TOP brand coverage", lambda: catalog_selectors.top_brand_coverage()),
            ("  of which the SKUs on sale", lambda: catalog_selectors.sku_on_sale_count()),
            (
                "  of which the merchants by status and tier",
                lambda: (
                    merchant_selectors.merchant_counts_by_status(),
                    merchant_selectors.live_merchant_counts_by_tier(),
                ),
            ),
            ("finance page (2026-11)", lambda: settlement_selectors.finance_period_summary(period="2026-11")),
        ]
        for label, read in rows:
            ms, queries = timed(read, args.repeat)
            print(f"{label}: {ms:.1f} ms median, {queries} queries, {ms / base_ms:.2f}× the baseline")
        summary = settlement_selectors.finance_period_summary(period="2026-11")
        print(f"check: {sum(r.count for r in summary.statements):,} statements, {summary.differences} unposted")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
