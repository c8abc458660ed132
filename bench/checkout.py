"""Benchmark: the full checkout via the API against a hand-written SQL checkout, same server, same run.

    DEBUG=1 bin/with-services .venv/bin/python bench/checkout.py [--clients 16 64] [--seconds 20] [--rounds 3] [--explain 20]

It creates its own test database (Django's test-database machinery: `test_<name>`, dropped
at the end), so it never touches a real one, and fills it through the services (as
bench/checkout_race.py does): 2 live shops with `--skus` SKUs each, 1,000,000 units of each
in stock, and one buyer per client with an address and an API token (made directly: logging
in is not part of an order, and the login throttle would refuse 64 logins from one address).

One gunicorn (bench.settings: the product's settings plus the baseline's URL; DEBUG off,
`--workers` sync workers, 127.0.0.1 on a free port) serves both:
- product: per order, 2 `POST /api/v1/orders/cart/items/` (a SKU of each shop) and
  `POST /api/v1/orders/checkout/` with a new Idempotency-Key, as the issue's table describes;
- baseline: `POST /bench/baseline/checkout/` (bench/baseline/views.py), which locks the same
  kind of 2 stock rows in id order, decrements them and inserts an order and 2 lines.
The same client drives both: `--clients` threads, each with its own keep-alive session and
buyer, placing orders back to back for `--seconds`. After an unmeasured warm-up of every
worker, rounds interleave (baseline, product, …) and the medians of `--rounds` rounds are
printed with their ratio, with the slowest answer of each round and how many answers (orders
or refusals) took longer than GOAL_ANSWER_S; under load, the database time (pg_stat_database's
active_time, lock waits included) and the commits per order. Settings that production
sets from the environment (CONN_MAX_AGE, THROTTLE_USER …) are passed on to the server as they
are; the user throttle is raised (unless THROTTLE_USER is set) since a benchmark client orders
faster than a person.

Then, in this process, one add-to-cart and one checkout (and one baseline checkout) are run
through Django's test client with every SQL statement captured: the number of queries per
order and the database time per order (the sum of the statements' round trips).
`--explain N` adds PostgreSQL's own time for each statement of an order (auto_explain loaded
into this process's session: the executor's time, triggers and foreign-key checks included,
round trips not), medians over N more orders placed in this process.
Finally every order the product answered 201 for must exist, and every baseline order too.
`--smoke` (the suite's run) is the same on a tiny scale: 2 clients, 2 workers, one 2 s round.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Always these settings (the suite exports marketplace.settings): the baseline's URL is only there.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
# This run's own task queue (bench/settings.py), inherited by the servers; deleted at the end.
os.environ["BENCH_CELERY_QUEUE"] = f"bench-checkout-{os.getpid()}"
# The web's wait bounds, as gunicorn.conf.py sets them for the server: the queries counted in
# this process are then those of a production web connection (no SET LOCAL lock_timeout).
os.environ.setdefault("DB_LOCK_TIMEOUT_MS", "2000")
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "5000")

import django

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

from bench import driver  # noqa: E402

UNITS = 1_000_000
CART = "/api/v1/orders/cart/items/"
CHECKOUT = "/api/v1/orders/checkout/"
BASELINE = "/bench/baseline/checkout/"
GOAL_RATIO = 0.25
GOAL_ANSWER_S = 3.0  # every answer, an order or a refusal, within this even when overloaded
STATS_DELAY = 1.5  # s: PostgreSQL flushes a busy backend's statistics at most once a second
ROOT = Path(__file__).resolve().parents[1]
STATIC_WARNING = "ignore:No directory at"
warnings.filterwarnings("ignore", "No directory at")


# --- Data -------------------------------------------------------------------------------------


def build(n_buyers: int, n_skus: int) -> dict:
    """Two live shops with stocked SKUs, buyers with an address and a token, the baseline's tables."""
    from rest_framework.authtoken.models import Token

    from bench.baseline.views import TABLES
    from catalog import services as catalog_services
    from catalog.models import Stock
    from tests.catalog.factories import live_merchant, product, warehouse
    from tests.factories import UserFactory
    from tests.orders.factories import address_for

    store = warehouse()
    shops = []
    for shop in range(2):
        merchant, (category,) = live_merchant()
        item = product(
            merchant, category, skus=[{"code": f"BENCH-{shop}-{i}", "price": "59.90"} for i in range(n_skus)]
        )
        skus = list(item.skus.order_by("pk"))
        for sku in skus:
            catalog_services.stock_receive(
                sku=sku, warehouse=store, quantity=UNITS, actor=merchant.owner, merchant=merchant
            )
        stock = dict(Stock.objects.filter(sku__in=skus).values_list("sku_id", "pk"))
        shops.append([(sku.pk, stock[sku.pk]) for sku in skus])
    buyers = []
    for _ in range(n_buyers):
        buyer = UserFactory()
        buyers.append({"token": Token.objects.create(user=buyer).key, "address": address_for(buyer).pk})
    with connection.cursor() as cursor:
        cursor.execute(TABLES)
    return {"shops": shops, "buyers": buyers}


def counts() -> tuple[int, int]:
    from orders.models import BuyerOrder

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_baseline_order")
        (baseline,) = cursor.fetchone()
    return BuyerOrder.objects.count(), baseline


def database_stats() -> tuple[float, int]:
    """This database's busy time in ms (pg_stat_database.active_time: statements running, lock
    waits included) and committed transactions, as the server counts them for all backends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT active_time, xact_commit FROM pg_stat_database WHERE datname = current_database()")
        active, commits = cursor.fetchone()
    return float(active), int(commits)


# --- Server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(workers: int):
    """gunicorn with production-like settings (DEBUG off) on the benchmark's database."""
    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    url = f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or 'localhost'}{port}/{db['NAME']}"
    listen = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SANDBOX_GATEWAY_SECRET": secrets.token_urlsafe(40),
        # The addresses were encrypted by this process: the server must read them with its keys.
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, no TLS proxy in front
        "THROTTLE_USER": os.environ.get("THROTTLE_USER", "1000000/min"),
        # gunicorn.conf.py logs every request to stdout in production; here it would drown the figures.
        "GUNICORN_ACCESS_LOG": "",
        # Static files are not collected for a benchmark (whitenoise would warn in every worker).
        "PYTHONWARNINGS": f"{STATIC_WARNING},{os.environ['PYTHONWARNINGS']}"
        if os.environ.get("PYTHONWARNINGS")
        else STATIC_WARNING,
    }
    command = [
        sys.executable, "-m", "gunicorn", "marketplace.wsgi:application",
        "--bind", f"127.0.0.1:{listen}", "--workers", str(workers), "--worker-class", "sync",
        "--timeout", "60", "--log-level", "warning",
    ]  # fmt: skip
    # Our own interpreter and fixed arguments: nothing from outside goes into the command.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    base = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or a worker still booting
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (exit {process.poll()})") from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- Client -------------------------------------------------------------------------------------


def product_order(session: requests.Session, base: str, buyer: dict, pair) -> tuple[int, str]:
    """2 cart adds and the checkout; (status of the first refusal or of the checkout, its number)."""
    (sku_a, _), (sku_b, _) = pair
    for sku in (sku_a, sku_b):
        answer = session.post(f"{base}{CART}", json={"sku": sku, "quantity": 1}, timeout=30)
        if answer.status_code != 201:
            return answer.status_code, ""
    answer = session.post(
        f"{base}{CHECKOUT}",
        json={"address": buyer["address"], "items": [{"sku": sku_a, "quantity": 1}, {"sku": sku_b, "quantity": 1}]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    return answer.status_code, answer.json().get("number", "") if answer.status_code == 201 else ""


def baseline_order(session: requests.Session, base: str, buyer: dict, pair) -> tuple[int, str]:
    answer = session.post(f"{base}{BASELINE}", json={"stocks": [pair[0][1], pair[1][1]]}, timeout=30)
    return answer.status_code, str(answer.json()["order"]) if answer.status_code == 201 else ""


def drive(place, base: str, data: dict, clients: int, seconds: float, seed: int) -> dict:
    """`clients` threads placing orders back to back for `seconds` (bench/driver.py); rate
    and latencies of the 201s, the slowest answer, and the numbers of the orders placed."""
    import random

    # Which SKUs each client orders: seeded per client, nothing secret.
    rngs = [random.Random(seed * 1000 + i) for i in range(clients)]  # noqa: S311

    def authenticate(session: requests.Session, i: int) -> None:
        session.headers["Authorization"] = f"Token {data['buyers'][i]['token']}"

    def order(session: requests.Session, i: int) -> tuple[int, str]:
        pair = (rngs[i].choice(data["shops"][0]), rngs[i].choice(data["shops"][1]))
        return place(session, base, data["buyers"][i], pair)

    outcome = driver.drive(order, clients, seconds, ok=201, session_setup=authenticate)
    return {
        **outcome,
        "refusals": outcome["failures"],
        "over_goal": sum(t > GOAL_ANSWER_S for t in outcome["answers"]),
        "placed": outcome["kept"],
    }


# --- In-process: queries and database time per order ------------------------------------------


@contextmanager
def timed_statements():
    """Captures the SQL statements and the time spent in each round trip to the database."""
    spent: list[float] = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - started)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(wrapper):
        yield captured, spent


def data_statements(queries) -> int:
    """Statements other than transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE …)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return sum(not q["sql"].lstrip().upper().startswith(control) for q in queries)


def in_process(data: dict) -> dict:
    buyer = data["buyers"][0]
    (sku_a, stock_a), (sku_b, stock_b) = data["shops"][0][0], data["shops"][1][0]
    client = Client(HTTP_AUTHORIZATION=f"Token {buyer['token']}")
    # Warm up (first-request imports and caches), then measure one order.
    for _ in range(2):
        with timed_statements() as (add_queries, add_time):
            for sku in (sku_a, sku_b):
                assert client.post(CART, {"sku": sku, "quantity": 1}, "application/json").status_code == 201
        with timed_statements() as (checkout_queries, checkout_time):
            answer = client.post(
                CHECKOUT,
                {"address": buyer["address"], "items": [{"sku": sku_a, "quantity": 1}, {"sku": sku_b, "quantity": 1}]},
                "application/json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
            assert answer.status_code == 201, answer.content
        with timed_statements() as (baseline_queries, baseline_time):
            answer = client.post(BASELINE, {"stocks": [stock_a, stock_b]}, "application/json")
            assert answer.status_code == 201, answer.content
    if os.environ.get("BENCH_SHOW_SQL"):
        for query in [*add_queries, *checkout_queries, *baseline_queries]:
            print("   ", query["sql"][:160])
    return {
        "add_queries": len(add_queries) / 2,
        "checkout_queries": len(checkout_queries),
        "order_queries": len(add_queries) + len(checkout_queries),
        "order_data": data_statements(add_queries) + data_statements(checkout_queries),
        "order_db_ms": (sum(add_time) + sum(checkout_time)) * 1000,
        "baseline_queries": len(baseline_queries),
        "baseline_db_ms": sum(baseline_time) * 1000,
    }


# What PostgreSQL itself spends on each statement: auto_explain (shipped with PostgreSQL,
# loaded into this session only; LOAD needs a superuser, as the dev and CI clusters give)
# reports every statement's executor time, triggers and foreign-key checks included, as a
# LOG message that client_min_messages sends to this client. Round trips and parsing are
# not in it; pg_stat_statements would need the server restarted with it preloaded. A SELECT
# inside a transaction is reported when its portal is closed, i.e. with the next statement.
_AUTO_EXPLAIN = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_timing = off",
    "SET client_min_messages = log",
)


def server_times(data: dict, orders: int) -> dict:
    """Median server time (ms) of each statement of an order (2 adds, checkout) and of the
    baseline's, over `orders` orders placed in this process after one unmeasured order."""
    import re
    import statistics

    buyer = data["buyers"][0]
    (sku_a, stock_a), (sku_b, stock_b) = data["shops"][0][0], data["shops"][1][0]
    client = Client(HTTP_AUTHORIZATION=f"Token {buyer['token']}")
    notices: list[str] = []
    watched = set()
    times: dict[tuple[str, int], tuple[str, list[float]]] = {}

    def watch() -> None:
        connection.ensure_connection()
        raw = connection.connection
        if id(raw) not in watched:  # a new connection after a request closed the last one
            raw.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
            with connection.cursor() as cursor:
                for statement in _AUTO_EXPLAIN:
                    cursor.execute(statement)
            watched.add(id(raw))

    def run(side: str, n: int, request) -> None:
        captured: list[tuple[str, float]] = []

        def wrapper(execute, sql, params, many, context):
            start = len(notices)
            try:
                return execute(sql, params, many, context)
            finally:
                found = [re.search(r"duration: ([\d.]+) ms", notice) for notice in notices[start:]]
                captured.append((sql, sum(float(m.group(1)) for m in found if m)))

        watch()
        with connection.execute_wrapper(wrapper):
            request()
        if n:
            for i, (sql, ms) in enumerate(captured):
                times.setdefault((side, i), (sql, []))[1].append(ms)

    def add():
        for sku in (sku_a, sku_b):
            assert client.post(CART, {"sku": sku, "quantity": 1}, "application/json").status_code == 201

    def checkout():
        items = [{"sku": sku_a, "quantity": 1}, {"sku": sku_b, "quantity": 1}]
        answer = client.post(
            CHECKOUT,
            {"address": buyer["address"], "items": items},
            "application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert answer.status_code == 201, answer.content

    def baseline():
        assert client.post(BASELINE, {"stocks": [stock_a, stock_b]}, "application/json").status_code == 201

    for n in range(orders + 1):
        for side, request in (("add", add), ("checkout", checkout), ("baseline", baseline)):
            run(side, n, request)
    with connection.cursor() as cursor:
        cursor.execute("RESET client_min_messages")
    rows = [
        (side, statistics.median(ms), re.sub(r"\s+", " ", sql).strip()[:110]) for (side, _i), (sql, ms) in times.items()
    ]
    return {
        "rows": rows,
        "totals": {side: sum(ms for s, ms, _sql in rows if s == side) for side in ("add", "checkout", "baseline")},
    }


def drop_task_queue() -> None:
    """Deletes the tasks the servers enqueued (order mails, stock alerts …): nothing runs them."""
    from marketplace.celery import app

    name = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_write() as broker:
        channel = broker.default_channel
        channel.queue_purge(name)
        # A fresh channel's queue_delete does not know the queue's bindings: drop kombu's sets too.
        channel.client.delete(f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


# --- Main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skus", type=int, default=20, help="SKUs per shop (2 shops)")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="ORDERS",
        help="Also print PostgreSQL's own time per statement (auto_explain), medians over ORDERS orders.",
    )
    # The suite runs this on a tiny scale to prove it still works; its figures mean nothing there.
    parser.add_argument("--smoke", action="store_true", help="2 clients, 2 s, 1 round, 2 workers, 2 SKUs a shop.")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.seconds, args.rounds, args.workers, args.skus = [2], 2.0, 1, 2, 2

    # Buyers' passwords are never used: a fast hasher keeps building the data quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False  # as in production, in this process too (no query log but the captured one)
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        started = time.perf_counter()
        data = build(max(args.clients), args.skus)
        print(
            f"checkout: 2 shops × {args.skus} SKUs, {max(args.clients)} buyers, built in "
            f"{time.perf_counter() - started:.0f} s; gunicorn {args.workers} sync workers, DEBUG off, "
            f"CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE', '600 (the production default)')}; "
            f"{args.rounds} round(s) of {args.seconds:g} s per side"
        )
        before = counts()
        results = []
        placed_product: list[str] = []
        placed_baseline = 0
        with server(args.workers) as base:
            # Warm up every worker (first-request imports and caches) on both sides, unmeasured.
            for place in (baseline_order, product_order):
                warm = drive(place, base, data, min(max(args.clients), 2 * args.workers), 1.0, seed=99)
                if place is product_order:
                    placed_product += warm["placed"]
                else:
                    placed_baseline += len(warm["placed"])
            for clients in args.clients:
                rounds = {"baseline": [], "product": []}
                for r in range(args.rounds):
                    for side, place in (("baseline", baseline_order), ("product", product_order)):
                        stats_before = database_stats()
                        outcome = drive(place, base, data, clients, args.seconds, seed=r)
                        # Backends report their statistics when they go idle or disconnect.
                        time.sleep(STATS_DELAY)
                        stats_after = database_stats()
                        n = max(len(outcome["placed"]), 1)
                        outcome["db_ms"] = (stats_after[0] - stats_before[0]) / n
                        outcome["commits"] = (stats_after[1] - stats_before[1]) / n
                        rounds[side].append(outcome)
                        if side == "product":
                            placed_product += outcome["placed"]
                        else:
                            placed_baseline += len(outcome["placed"])
                        print(
                            f"  {clients} clients, round {r + 1}, {side}: {outcome['rate']:.1f}/s, "
                            f"p50 {outcome['p50'] * 1000:.0f} ms, p99 {outcome['p99'] * 1000:.0f} ms, "
                            f"refused {outcome['refusals'] or 0}, slowest answer {outcome['slowest']:.1f} s "
                            f"({outcome['over_goal']} over {GOAL_ANSWER_S:g} s); database {outcome['db_ms']:.1f} ms and "
                            f"{outcome['commits']:.1f} commits per order"
                        )
                med = {
                    side: driver.medians(outcomes, ("rate", "p50", "p99", "db_ms")) for side, outcomes in rounds.items()
                }
                ratio = med["product"]["rate"] / med["baseline"]["rate"] if med["baseline"]["rate"] else 0.0
                results.append((clients, med, ratio))
                print(
                    f"{clients} clients: product {med['product']['rate']:.1f} orders/s "
                    f"(p50 {med['product']['p50'] * 1000:.0f} ms, p99 {med['product']['p99'] * 1000:.0f} ms); "
                    f"baseline {med['baseline']['rate']:.1f} tx/s "
                    f"(p50 {med['baseline']['p50'] * 1000:.0f} ms, p99 {med['baseline']['p99'] * 1000:.0f} ms); "
                    f"ratio {ratio:.3f} (goal ≥ {GOAL_RATIO}); database time per order under load "
                    f"{med['product']['db_ms']:.1f} ms vs {med['baseline']['db_ms']:.1f} ms "
                    f"(ratio {med['product']['db_ms'] / max(med['baseline']['db_ms'], 0.001):.1f}, goal ≤ 3)"
                )

        figures = in_process(data)
        print(
            f"queries: {figures['order_queries']} per order ({figures['order_data']} data statements; "
            f"{figures['add_queries']:g} per add-to-cart, {figures['checkout_queries']} in the checkout); "
            f"baseline {figures['baseline_queries']}"
        )
        db_ratio = figures["order_db_ms"] / figures["baseline_db_ms"]
        print(
            f"database round trips per order, one client alone: {figures['order_db_ms']:.1f} ms; baseline {figures['baseline_db_ms']:.1f} ms; "
            f"ratio {db_ratio:.1f} (goal ≤ 3)"
        )

        explained = 0
        if args.explain:
            measured = server_times(data, args.explain)
            explained = args.explain + 1
            print(
                f"PostgreSQL's time per statement (executor, triggers included; medians of {args.explain} orders; "
                "a SELECT inside a transaction ends, and is counted, with the next statement):"
            )
            for side, ms, sql in measured["rows"]:
                print(f"  {side:8} {ms:6.3f} ms  {sql}")
            totals = measured["totals"]
            print(
                f"per order: 2 adds {totals['add']:.2f} ms + checkout {totals['checkout']:.2f} ms = "
                f"{totals['add'] + totals['checkout']:.2f} ms; baseline {totals['baseline']:.2f} ms; ratio "
                f"{(totals['add'] + totals['checkout']) / max(totals['baseline'], 0.001):.1f}"
            )

        # Every order answered 201 exists, and nothing else was placed (the in-process orders aside).
        from orders.models import BuyerOrder

        after = counts()
        found = BuyerOrder.objects.filter(number__in=placed_product).count()
        assert found == len(set(placed_product)) == len(placed_product), (found, len(placed_product))
        in_process_orders = 2 + explained
        assert after == (
            before[0] + len(placed_product) + in_process_orders,
            before[1] + placed_baseline + in_process_orders,
        ), (before, after)
        print(f"orders: {len(placed_product)} product orders and {placed_baseline} baseline orders placed, all found")
        print(
            "checkout summary: "
            + ", ".join(
                f"{c} clients {m['product']['rate']:.1f} vs {m['baseline']['rate']:.1f}/s = {ratio:.3f} "
                f"(database {m['product']['db_ms']:.1f} vs {m['baseline']['db_ms']:.1f} ms per order)"
                for c, m, ratio in results
            )
            + f"; {figures['order_queries']} queries per order"
        )
    finally:
        drop_task_queue()
        connection.close()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
