"""The benchmark scripts still run (on a tiny data set; their figures are not checked here:
timed goals are measured by running them, see the README). They create and drop their own
test database, named apart from the suite's."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    # Named after the suite's database: runs of several checkouts on one server never share it.
    name = f"{url.path.strip('/') or 'marketplace'}_bench_smoke"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": urlunsplit(url._replace(path=f"/{name}"))}
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_settlement_benchmark_runs_and_its_totals_match():
    out = _run("bench/settlement_run.py", "--lines", "4000", "--merchants", "40", "--rounds", "1")
    assert "round 1: aggregate" in out and "payable ¥368,000.00 = the aggregate's" in out
    assert "next month, nothing new:" in out


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_settlement_benchmark_with_the_logistics_subsidy_explains_the_accrual():
    out = _run(
        "bench/settlement_run.py",
        *("--lines", "4000", "--merchants", "40", "--rounds", "1"),
        *("--logistics-subsidy", "--explain", "--settled-history", "1000"),
    )
    # 1,000 orders accrue ¥0.50 each on top of the plain run's payable.
    assert "payable ¥368,500.00 = the aggregate's" in out
    assert "EXPLAIN ANALYZE of the first batch's logistics accrual" in out
    assert "Insert on settlements_subsidyaccrual" in out


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_catalog_benchmark_runs():
    out = _run("bench/catalog_list.py", "--products", "200", "--runs", "2", "--smoke")
    assert "catalog_list: 200 products / 800 SKUs" in out


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_checkout_race_benchmark_runs_and_its_outcome_is_exact():
    out = _run("bench/checkout_race.py", "--buyers", "12", "--units", "3")
    assert "checkout_race: 12 buyers, 3 units" in out
    assert "race: 3 orders and 9 refusals in " in out and "baseline: 12 checkouts one after another" in out


def test_the_image_upload_benchmark_runs_and_refuses_the_oversized_png():
    out = _run("bench/image_upload.py", "--runs", "1", "--photo", "400x300")
    assert "refused as a product picture: image_too_large in " in out
    assert "refused as a document: image_too_large in " in out
    assert "baseline: 400 × 300 JPEG photo of " in out and "as a product picture: accepted in " in out


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_checkout_benchmark_runs_both_sides_under_gunicorn_and_every_order_it_placed_exists():
    out = _run("bench/checkout.py", "--smoke", "--explain", "1")
    assert "checkout: 2 shops × 2 SKUs, 2 buyers" in out
    assert "PostgreSQL's time per statement" in out and "per order: 2 adds " in out and "; baseline " in out
    assert "2 clients, round 1, baseline: " in out and "2 clients, round 1, product: " in out
    assert "2 clients: product " in out and " orders/s " in out and " tx/s " in out and "; ratio " in out
    assert "; database time per order under load " in out
    assert "queries: " in out and " per add-to-cart, " in out and "database round trips per order, one client" in out
    # The script checks that every order answered 201 is in the database (and nothing more).
    assert " baseline orders placed, all found" in out
    assert "checkout summary: " in out
    # The tasks its servers enqueued went to its own queue, deleted at the end: no worker of the
    # suite on the same broker ever receives a task about rows of its dropped database.
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert broker.keys("*bench-checkout-*") == []


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_pages_benchmark_runs_every_page_under_gunicorn_with_a_constant_number_of_queries():
    out = _run("bench/pages.py", "--smoke")
    assert "pages: 200 products, 800 SKUs" in out
    for phase in ("hit", "uncached"):
        for page in ("baseline", "home", "category", "search", "product", "api-list"):
            line = out.split(f"{phase} round 1, {page}: ")[1].splitlines()[0]
            assert ", failed 0" in line
        # The script fails unless every page costs as many queries at 2 products a page as at 24,
        # and none on a cache hit.
        summary = out.split(f"pages summary ({phase}): home ")[1].splitlines()[0]
        assert summary.endswith("; constant; on a hit 0")
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert broker.keys("*bench-pages-*") == []


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_members_benchmark_runs_and_its_spend_matches():
    out = _run("bench/members_refresh.py", "--buyers", "200", "--orders", "2")
    assert "built 200 buyers with 400 orders" in out
    assert "= the aggregate's" in out and "selector queries per batch (bounds once, then the batch): 2" in out


def test_the_flash_sale_benchmark_sells_exactly_its_units_under_gunicorn():
    out = _run("bench/flash.py", "--smoke")
    assert "flash: 40 buyers for 5 units" in out
    # The script asserts the outcome itself: exactly 5 admitted, 35 refused sold_out, 5 sold.
    assert "burst: 40 admissions at once → 5 admitted, refused {'sold_out': 35}, other answers none;" in out
    assert "sold: 5 orders checked out; the sale sold 5 of 5, holds 0; one more admission: sold_out" in out
    assert "8 clients, round 1, baseline: " in out and "8 clients, round 1, admission: " in out
    assert "queries: 0 per refused admission, " in out and " with DRF's token lookup in the database" in out
    assert "flash summary: exactly 5 of 5 sold to 40 buyers; admission " in out
    # Its Redis keys (a prefix of its own) and its servers' task queue are gone.
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert broker.keys("bench-flash-*") == [] and broker.keys("*bench-checkout-*") == []


@pytest.mark.skipif("DATABASE_URL" not in os.environ, reason="needs the PostgreSQL of make test")
def test_the_risk_alerts_benchmark_runs_every_job_twice_and_agrees_with_the_aggregate():
    out = _run("bench/risk_alerts.py", "--merchants", "60", "--orders", "90")
    assert "built 60 merchants with 5,400 orders" in out
    assert "second run (nothing new)" in out and "complaint alerts = the aggregate's 6 merchants" in out
