"""Benchmark: the storefront pages and the public catalog API list against a bare Django JSON view, same server, same run.

    DEBUG=1 bin/with-services .venv/bin/python bench/pages.py [--products 25000] [--clients 16] [--seconds 10] [--rounds 3] [--explain]

It creates its own test database (Django's test-database machinery: `test_<name>`, dropped
at the end), so it never touches a real one, and fills it with bench/catalog_list.py's bulk
builder: `--products` products with 4 SKUs each (25,000 / 100,000 by default), 50 merchants,
30 categories, tags, stock and pictures.

One gunicorn (bench/checkout.py's: bench.settings, DEBUG off, `--workers` sync workers,
127.0.0.1 on a free port; the API throttles raised unless THROTTLE_ANON and THROTTLE_USER
are set, as many clients share one address) serves, to anonymous clients:
- baseline: `GET /bench/baseline/page/`, a bare Django JSON view (bench/baseline/views.py)
  behind the product's middleware;
- home `/`, a category page `/c/<root>/`, search with a Chinese query and filters (price
  range, in stock, sort by price), a product page `/p/<id>/`, and the public API list
  `/api/v1/catalog/products/`.
The same client drives each: `--clients` threads with keep-alive sessions, GETs back to back
for `--seconds`. After an unmeasured warm-up of every worker, rounds interleave (baseline,
then each page) and the medians of `--rounds` rounds are printed with p50/p99 and the ratio
to the baseline's rate in the same rounds (goal GOAL_RATIO).

Two phases, each with its own server and its own baseline rounds, printed as two tables:
- **hit**: the page cache on (`PAGE_CACHE_TTL` as configured, 600 s by default), the realistic
  case of anonymous visitors: the warm-up stores every page, the rounds are cache hits;
- **uncached**: `PAGE_CACHE_TTL=0`, every request renders its page from the database.
`--cache hit` or `--cache uncached` runs one phase only. A third phase, **session**
(`--cache session`, not in `both`), has the clients send a session cookie: the pages come from
the page cache with the visitor's own parts (header, cart count, messages) rendered for each
request, the API list as anonymous callers get it; **signed-in** (`--cache signed-in`, not in
`both`) the same with a signed-in buyer's session (a cart of one line, two unread
notifications: their user, cart count and unread count read on every page).

Then, in this process, the queries of each page are counted uncached with its list at 2 per
page and at the page size: they must be the same (a constant number of queries per page,
whatever the data), else the run fails; and on a cache hit (none expected).
`--explain` prints EXPLAIN ANALYZE of every statement of each page.
`--smoke` (the suite's run): 200 products, 2 clients, 2 workers, one 1 s round per phase.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Always these settings (the suite exports marketplace.settings): the baseline's URL is only there.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
# Many clients on one address: the API throttles would answer 429 to a benchmark (the user
# throttle counts anonymous requests by address too; this process shares the servers' cache).
os.environ.setdefault("THROTTLE_ANON", "1000000/min")
os.environ.setdefault("THROTTLE_USER", "1000000/min")
# This run's own task queue (bench/settings.py), deleted at the end, as bench/checkout.py does.
os.environ["BENCH_CELERY_QUEUE"] = f"bench-pages-{os.getpid()}"

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings, setup_databases, teardown_databases

# The catalogue and the plans are bench/catalog_list.py's, the server and the task queue's
# clean-up bench/checkout.py's (importing them sets up Django with bench.settings).
from bench import driver
from bench.catalog_list import build_catalog, explain
from bench.checkout import drop_task_queue, server

# Importing bench/checkout.py named its own queue: the servers must use the one loaded here.
os.environ["BENCH_CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE

GOAL_RATIO = 0.2
ROOT = Path(__file__).resolve().parents[1]
BASELINE = "/bench/baseline/page/"
SEARCH = "?q=台灯&price_min=50&price_max=500&in_stock=1&ordering=price"
warnings.filterwarnings("ignore", "No directory at")
#: The phases: their name and the servers' PAGE_CACHE_TTL (None: as configured).
PHASES = {"hit": None, "uncached": "0", "session": None, "signed-in": None}
#: The cookie the "session" phase's clients send: a visitor with a session (as a signed-in
#: one) gets the cached page with its own parts rendered for it (`marketplace.pagecache`,
#: `sessions=HOLES`; the API list: `SAME`, not even the session read). The key is no
#: session's: the visitor is anonymous, its session read (one query) as a signed-in visitor's
#: is; a signed-in one also pays its user, cart count and unread count (3 queries).
SESSION_COOKIE = {"sessionid": "bench0no0such0session0key0000000"}


def signed_in_cookie(data: dict) -> dict:
    """The session cookie of a signed-in buyer with a cart of one line and two unread
    notifications (the "signed-in" phase's clients share it)."""
    from django.contrib.auth import get_user_model

    from catalog.models import SKU
    from notifications.models import Notification
    from orders.services.cart import cart_add

    buyer = get_user_model().objects.create_user(email="bench-buyer@example.com", password=None)
    cart_add(sku_id=SKU.objects.filter(product_id=data["middle"]).values_list("pk", flat=True)[0], buyer=buyer)
    Notification.objects.bulk_create([Notification(user=buyer, kind="order_paid", params={}) for _ in range(2)])
    client = Client()
    client.force_login(buyer)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def pages(data: dict) -> list[tuple[str, str]]:
    """(name, path) of every page measured, the baseline first."""
    from catalog.selectors import product_list_public

    # A product in the middle of the catalogue, on sale (the builder publishes them all).
    middle = data["middle"] = product_list_public().order_by("pk").values_list("pk", flat=True)[data["products"] // 2]
    return [
        ("baseline", BASELINE),
        ("home", "/"),
        ("category", f"/c/{data['root'].slug}/"),
        ("search", f"/search/{SEARCH}"),
        ("product", f"/p/{middle}/"),
        ("api-list", "/api/v1/catalog/products/"),
    ]


# --- Client -------------------------------------------------------------------------------------


def drive(base: str, path: str, clients: int, seconds: float, cookies: dict | None = None) -> dict:
    """`clients` threads GETting `path` back to back for `seconds` (bench/driver.py); rate and
    latencies of the 200s."""
    url = f"{base}{path}"
    return driver.drive(
        lambda session, _i: (session.get(url, timeout=30, cookies=cookies).status_code, None), clients, seconds
    )


@contextmanager
def collected_static():
    """The static files collected as production does (manifest, compressed) into a temporary
    directory the servers serve from (BENCH_STATIC_ROOT, bench/settings.py)."""
    with tempfile.TemporaryDirectory(prefix="bench-static-") as root:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "BENCH_STATIC_ROOT": root,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SANDBOX_GATEWAY_SECRET": secrets.token_urlsafe(40),
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        }
        command = [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"]
        # Our own interpreter and fixed arguments: nothing from outside goes into the command.
        subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603
        os.environ["BENCH_STATIC_ROOT"] = root  # inherited by the servers
        try:
            yield
        finally:
            del os.environ["BENCH_STATIC_ROOT"]


# --- In-process: queries per page ---------------------------------------------------------------


@contextmanager
def page_size(size: int | None):
    """List pages (HTML and API) at `size` products a page; None leaves the defaults."""
    from catalog import views
    from catalog.api.public import ProductPagination

    if size is None:
        yield
        return
    with mock.patch.object(views, "PAGE_SIZE", size), mock.patch.object(ProductPagination, "page_size", size):
        yield


def queries(client: Client, path: str, size: int | None, *, ttl: int = 0) -> list[dict]:
    """The statements of one GET of `path` (after a warming one), the page cache's TTL `ttl`."""
    with page_size(size), override_settings(PAGE_CACHE_TTL=ttl):
        client.get(path)  # warm (first-request imports, caches)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return captured.captured_queries


def run_phase(phase: str, targets: list[tuple[str, str]], args, failed: dict[str, int]) -> dict:
    """One server with the phase's PAGE_CACHE_TTL, interleaved rounds; the medians per page."""
    ttl, before = PHASES[phase], os.environ.get("PAGE_CACHE_TTL")
    cookies = {"session": SESSION_COOKIE, "signed-in": args.signed_in_cookie}.get(phase)
    if ttl is not None:
        os.environ["PAGE_CACHE_TTL"] = ttl  # inherited by the server
    rounds: dict[str, list[dict]] = {name: [] for name, _path in targets}
    try:
        with server(args.workers) as base:
            # Warm up every worker on every page, unmeasured (with the cache on: stores every page).
            for _name, path in targets:
                drive(base, path, min(args.clients, 2 * args.workers), 0.5, cookies)
            for r in range(args.rounds):
                for name, path in targets:
                    outcome = drive(base, path, args.clients, args.seconds, cookies)
                    rounds[name].append(outcome)
                    print(
                        f"  {phase} round {r + 1}, {name}: {outcome['rate']:.1f}/s, p50 {outcome['p50'] * 1000:.1f} ms, "
                        f"p99 {outcome['p99'] * 1000:.1f} ms, failed {outcome['failures'] or 0}"
                    )
    finally:
        if before is None:
            os.environ.pop("PAGE_CACHE_TTL", None)
        else:
            os.environ["PAGE_CACHE_TTL"] = before
    for name, outcomes in rounds.items():
        failed[f"{phase} {name}"] = sum(sum(o["failures"].values()) for o in outcomes)
    return {name: driver.medians(outcomes, ("rate", "p50", "p99")) for name, outcomes in rounds.items()}


def report(phase: str, med: dict, targets: list[tuple[str, str]], counts: dict, hits: dict, constant: bool) -> None:
    """The phase's table and its one-line summary."""
    label = {
        "hit": "cache hits (PAGE_CACHE_TTL on: anonymous visitors)",
        "uncached": "uncached (PAGE_CACHE_TTL=0)",
        "session": "a visitor with a session (PAGE_CACHE_TTL on: cached pages, their own parts filled in)",
        "signed-in": "a signed-in buyer (PAGE_CACHE_TTL on: cached pages, their own parts filled in)",
    }
    baseline = med["baseline"]["rate"]
    print(f"\n{phase}: {label[phase]}")
    print(
        f"{'page':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}  queries uncached (2 a page / full page), on a hit"
    )
    for name, path in targets:
        m = med[name]
        ratio = m["rate"] / baseline if baseline else 0.0
        print(
            f"{name:<10} {m['rate']:9.1f} {m['p50'] * 1000:8.1f} {m['p99'] * 1000:8.1f} {ratio:7.3f}  "
            f"{counts[name][0]} / {counts[name][1]}, {hits[name]}   {path}"
        )
    print(
        f"pages summary ({phase}): "
        + ", ".join(
            f"{name} {med[name]['rate']:.0f}/s = {med[name]['rate'] / baseline if baseline else 0:.3f}"
            for name, _path in targets[1:]
        )
        + f" of the bare view's {baseline:.0f}/s (goal ≥ {GOAL_RATIO}); queries per page uncached "
        + ", ".join(f"{name} {counts[name][1]}" for name, _path in targets[1:])
        + ("; constant" if constant else "; NOT constant")
        + f"; on a hit {sum(hits.values())}"
    )


# --- Main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=25_000, help="products (4 SKUs each)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every statement of each page")
    parser.add_argument(
        "--cache",
        default="both",
        help="the phases to run, comma-separated: hit, uncached, session (a visitor with a session: "
        "cached pages, their own parts filled in), signed-in (the same, a signed-in buyer); both = hit,uncached",
    )
    # The suite runs this on a tiny scale to prove it still works; its figures mean nothing there.
    parser.add_argument("--smoke", action="store_true", help="200 products, 2 clients, 1 s, 1 round, 2 workers.")
    args = parser.parse_args()
    if args.smoke:
        args.products, args.clients, args.seconds, args.rounds, args.workers = 200, 2, 1.0, 1, 2
    phases = ["hit", "uncached"] if args.cache == "both" else args.cache.split(",")
    if set(phases) - set(PHASES):
        parser.error(f"--cache: one or more of {', '.join(PHASES)}, or both")

    settings.DEBUG = False  # as in production, in this process too (no query log but the captured one)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    failed: dict[str, int] = {}
    try:
        started = time.perf_counter()
        # Seeded pseudo-random data: the same catalog on every run, nothing secret about it.
        data = build_catalog(args.products, random.Random(args.seed))  # noqa: S311
        targets = pages(data)
        args.signed_in_cookie = signed_in_cookie(data) if "signed-in" in phases else None
        print(
            f"pages: {data['products']:,} products, {data['skus']:,} SKUs, built in "
            f"{time.perf_counter() - started:.0f} s; gunicorn {args.workers} sync workers, DEBUG off, "
            f"CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE', '600 (the production default)')}; "
            f"{args.clients} clients, {args.rounds} round(s) of {args.seconds:g} s per page and phase; "
            f"phases: {', '.join(phases)}"
        )
        med: dict[str, dict] = {}
        with collected_static():
            for phase in phases:
                med[phase] = run_phase(phase, targets, args, failed)

        client = Client()
        counts, hits, constant = {}, {}, True
        for name, path in targets:
            small = queries(client, path, 2)
            full = queries(client, path, None)
            hits[name] = len(queries(client, path, None, ttl=600))
            counts[name] = (len(small), len(full))
            constant &= len(small) == len(full)
            if args.explain and name != "baseline":
                print(f"\n=== {name}: {path}")
                explain(full)
        for phase in phases:
            report(phase, med[phase], targets, counts, hits, constant)
        # A cache hit is served from Redis alone.
        constant &= not any(hits.values())
    finally:
        drop_task_queue()
        connection.close()
        teardown_databases(old_config, verbosity=0)
    if any(failed.values()):
        print(f"failed answers: {failed}")
        return 1
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
