"""Benchmark: a flash sale's burst of buyers, and admission throughput against a bare Django view.

    DEBUG=1 bin/with-services .venv/bin/python bench/flash.py [--buyers 2000] [--units 100] [--clients 64]
                                                              [--seconds 10] [--rounds 3] [--workers 4]

It creates its own test database (as bench/checkout.py does, whose server-starting code and
task-queue cleanup it reuses), with one live shop, one SKU stocked well above the sale, a flash
sale of `--units` units on now (1 per buyer) and `--buyers` buyers, each with an API token.
The flash sale's Redis keys get a prefix of this run's own (FLASH_SALE_KEY_PREFIX), deleted at
the end, so the suite's keys on the same Redis are never touched.

One gunicorn (bench.settings, DEBUG off, `--workers` sync workers) serves:
1. the burst: every buyer sends `POST /api/v1/promotions/flash-sales/<id>/admit/` at once (one
   asyncio client, a connection per request, as sync workers close them): exactly `--units`
   must be admitted (201) and the rest refused `sold_out` (409); the database then holds
   exactly `--units` reservations. The admitted buyers then check out (in this process,
   through `orders.services.checkout_place`): the sale has sold exactly `--units`, held none,
   and one more admission is refused `sold_out`;
2. throughput: `--clients` concurrent clients send admissions back to back for `--seconds`
   (refusals: the sale is sold out, the common answer of a burst) against the baseline, the
   bare Django JSON view of bench/baseline/views.py (`GET /bench/baseline/page/`, behind the
   product's middleware), rounds interleaved; medians of `--rounds` printed with the ratio, the
   goal (≥ 1,000 admissions/s, p99 < 200 ms) beside them. The machine is shared: throughput
   figures are noisy, the in-process ones below are not.
Then, in this process: the queries of one admission and of one refusal, and the median time
of a refusal through the production WSGI application (`marketplace.wsgi`: the lean handler of
marketplace/lean.py) with the token cached (the admission's authentication) and with the
caches emptied before each call (DRF's token lookup in the database), of the same refusal
through every middleware and the DRF view (Django's test client), and of the baseline view.
The server's listen queue is gunicorn.conf.py's (`GUNICORN_BACKLOG`, 64 per worker);
`--backlog N` gives it N places, e.g. 2048 so that a burst of 2,000 connections waits in the
queue instead of having its SYNs dropped and retried by the client 1 s, 3 s, 7 s… later.
`--smoke` (the suite's run): 40 buyers for 5 units, 8 clients, one 1 s round, 2 workers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# This run's own flash-sale keys in Redis, inherited by the servers; deleted at the end.
os.environ["FLASH_SALE_KEY_PREFIX"] = f"bench-flash-{os.getpid()}"
# Every refusal is a 409, which Django logs as a warning: thousands of lines in a burst
# (bench/settings.py silences them, here and in the servers).
os.environ["BENCH_QUIET_REQUESTS"] = "1"

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases

from bench import checkout as bench_checkout

BASELINE = "/bench/baseline/page/"
GOAL_RATE = 1000
GOAL_P99_MS = 200


def admit_path(sale_id: int) -> str:
    return f"/api/v1/promotions/flash-sales/{sale_id}/admit/"


# --- Data -------------------------------------------------------------------------------------


def build(n_buyers: int, units: int) -> dict:
    """A live shop's SKU, a sale of `units` on now (1 per buyer), buyers with a token and an address."""
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from catalog import services as catalog_services
    from marketplace.models import User
    from orders.models import Address
    from promotions.services import flash
    from tests.catalog.factories import live_merchant, product, warehouse

    merchant, (category,) = live_merchant()
    item = product(merchant, category, skus=[{"code": "BENCH-FLASH", "price": "199.00"}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        sku=sku, warehouse=warehouse(), quantity=units * 10, actor=merchant.owner, merchant=merchant
    )
    now = timezone.now()
    sale = flash.flash_sale_create(
        merchant=merchant,
        actor=merchant.owner,
        sku=sku,
        special_price="99.00",
        quantity=units,
        per_buyer_limit=1,
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(hours=2),
        now=now,
    )
    time.sleep(1)  # the sale has started
    # Thousands of buyers: inserted in bulk (their passwords are never used).
    users = User.objects.bulk_create(
        [User(email=f"flash-buyer-{i}@example.com", password="!") for i in range(n_buyers)]  # noqa: S106
    )
    tokens = Token.objects.bulk_create([Token(user=user, key=Token.generate_key()) for user in users])
    Address.objects.bulk_create(
        [
            Address(
                buyer=user,
                recipient="王伟",
                phone="13800000000",
                region="east",
                province="上海市",
                city="上海市",
                district="浦东新区",
                line="世纪大道 100 号",
                postcode="200120",
                is_default=True,
            )
            for user in users
        ]
    )
    return {"sale": sale.pk, "sku": sku.pk, "buyers": [(u.pk, t.key) for u, t in zip(users, tokens, strict=True)]}


def drop_flash_keys() -> None:
    from promotions import flash_redis

    client = flash_redis.client()
    for key in client.scan_iter(f"{settings.FLASH_SALE_KEY_PREFIX}:*"):
        client.delete(key)


# --- Client (asyncio, one connection per request: sync workers close them) ----------------------


async def call(port: int, method: str, path: str, token: str | None = None) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    body = b"{}" if method == "POST" else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAccept-Language: en\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + (f"Authorization: Token {token}\r\n" if token else "")
        + "\r\n"
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await reader.read()
        writer.close()
    except OSError:
        return 0, b"", time.perf_counter() - started
    status = int(answer[9:12]) if answer[:5] == b"HTTP/" else 0
    return status, answer.partition(b"\r\n\r\n")[2], time.perf_counter() - started


RETRIES = [0]


async def burst(port: int, sale_id: int, buyers: list) -> list[tuple[int, bytes, float]]:
    """Every buyer at once; a connection the server's queue refused is tried again (as a
    buyer presses again), so every buyer gets an answer: its time counts from the first try."""
    start = asyncio.Event()

    async def one(token: str):
        await start.wait()
        began = time.perf_counter()
        while True:
            status, body, _took = await call(port, "POST", admit_path(sale_id), token)
            if status:
                return status, body, time.perf_counter() - began
            RETRIES[0] += 1
            await asyncio.sleep(0.05)

    tasks = [asyncio.ensure_future(one(token)) for _pk, token in buyers]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)


async def load(port: int, clients: int, seconds: float, request) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client(i: int):
        n = 0
        while time.perf_counter() < deadline:
            status, _body, took = await request(i, n)
            n += 1
            latencies.append(took)
            statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - began
    return {
        "rate": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": statistics.quantiles(latencies, n=100, method="inclusive")[98] * 1000,
        "statuses": statuses,
    }


# --- In process -------------------------------------------------------------------------------


def median_ms(run, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def wsgi_call(environ: dict) -> int:
    """One request through the production WSGI application (marketplace.wsgi: the lean handler
    for a token admission), as gunicorn calls it; the connection kept as CONN_MAX_AGE keeps it."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from marketplace.wsgi import application

    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"] = status

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(started["status"][:3])


def in_process(data: dict, runs: int) -> dict:
    from django.core.cache import cache
    from django.test import RequestFactory

    from promotions.api import flash_tokens
    from promotions.api.flash_tokens import token_cache_key
    from promotions.models import FlashSale

    sale_id = data["sale"]
    token = data["buyers"][0][1]
    token2 = next(t for pk, t in data["buyers"] if pk not in set(data["admitted"]))
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="en")
    factory = RequestFactory()

    def environ(key: str) -> dict:
        return factory.post(
            admit_path(sale_id), b"{}", "application/json", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="en"
        ).environ

    def refuse():
        assert wsgi_call(environ(token)) == 409

    def refuse_full_stack():
        # The same request through every middleware and the DRF view (Django's test client).
        answer = client.post(admit_path(sale_id), {}, "application/json")
        assert answer.status_code == 409, answer.content

    def refuse_cold():
        # As DRF's TokenAuthentication alone: the token looked up in the database every time.
        cache.delete(token_cache_key(token))
        flash_tokens.local.entries.clear()
        refuse()

    def baseline():
        assert client.get(BASELINE).status_code == 200

    refuse()  # warm: imports, the token cached
    refuse_full_stack()
    with CaptureQueriesContext(connection) as refusal_queries:
        refuse()
    # One admission, its queries: a unit put back for it (then the sale is as it was).
    FlashSale.objects.filter(pk=sale_id).update(quantity=data["units"] + 1)
    from promotions.services import flash

    flash.flash_sale_rebuild(sale_id=sale_id, force=True)
    with CaptureQueriesContext(connection) as admission_queries:
        status = wsgi_call(environ(token2))
    assert status == 201, status
    return {
        "refusal_queries": len(refusal_queries),
        "admission_queries": len(admission_queries),
        "admission_status": status,
        "refusal_ms": median_ms(refuse, runs),
        "refusal_full_ms": median_ms(refuse_full_stack, runs),
        "refusal_cold_ms": median_ms(refuse_cold, runs),
        "baseline_ms": median_ms(baseline, runs),
    }


# --- Main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=None, help="The server's listen queue (GUNICORN_BACKLOG).")
    parser.add_argument("--smoke", action="store_true", help="40 buyers, 5 units, 8 clients, one 1 s round, 2 workers.")
    args = parser.parse_args()
    if args.smoke:
        args.buyers, args.units, args.clients, args.seconds, args.rounds, args.workers = 40, 5, 8, 1.0, 1, 2
    if args.backlog:
        os.environ["GUNICORN_BACKLOG"] = str(args.backlog)  # the server inherits it (gunicorn.conf.py)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        drop_flash_keys()
        started = time.perf_counter()
        data = build(args.buyers, args.units)
        data["units"] = args.units
        print(
            f"flash: {args.buyers} buyers for {args.units} units, built in {time.perf_counter() - started:.0f} s; "
            f"gunicorn {args.workers} sync workers, listen queue "
            f"{os.environ.get('GUNICORN_BACKLOG') or 'of gunicorn.conf.py'}, DEBUG off; "
            "the machine is shared: throughput is noisy"
        )
        with bench_checkout.server(args.workers) as base:
            port = int(base.rsplit(":", 1)[1])
            for _ in range(2 * args.workers):  # warm every worker, unmeasured
                asyncio.run(call(port, "GET", BASELINE))
            results = asyncio.run(burst(port, data["sale"], data["buyers"]))
            statuses: dict[int, int] = {}
            for status, _body, _took in results:
                statuses[status] = statuses.get(status, 0) + 1
            codes = {}
            for status, body, _took in results:
                if status == 409:
                    code = body.split(b'"code":"', 1)[1].split(b'"', 1)[0].decode()
                    codes[code] = codes.get(code, 0) + 1
            admitted = [pk for (pk, _t), (status, _b, _s) in zip(data["buyers"], results, strict=True) if status == 201]
            slowest = max(took for _s, _b, took in results)
            print(
                f"burst: {len(results)} admissions at once → {statuses.get(201, 0)} admitted, refused {codes}, "
                f"other answers {({s: n for s, n in statuses.items() if s not in (201, 409)}) or 'none'}; "
                f"slowest answer {slowest * 1000:.0f} ms, median {statistics.median(t for *_r, t in results) * 1000:.0f} ms; "
                f"{RETRIES[0]} connections refused by the server's queue and tried again"
            )
            assert statuses.get(201, 0) == args.units, statuses
            assert codes == {"sold_out": args.buyers - args.units}, codes
            data["admitted"] = admitted
            sold = checkout_admitted(data, admitted)
            print(f"sold: {sold['orders']} orders checked out; {sold['state']}")

            rounds = {"baseline": [], "admission": []}
            tokens = [token for _pk, token in data["buyers"]]

            def admission(i, n):
                return call(port, "POST", admit_path(data["sale"]), tokens[(i * 7919 + n) % len(tokens)])

            def page(i, n):
                return call(port, "GET", BASELINE)

            for r in range(args.rounds):
                for side, request in (("baseline", page), ("admission", admission)):
                    outcome = asyncio.run(load(port, args.clients, args.seconds, request))
                    rounds[side].append(outcome)
                    print(
                        f"  {args.clients} clients, round {r + 1}, {side}: {outcome['rate']:.0f}/s, "
                        f"p50 {outcome['p50']:.0f} ms, p99 {outcome['p99']:.0f} ms, answers {outcome['statuses']}"
                    )
            med = {
                side: {k: statistics.median(o[k] for o in outcomes) for k in ("rate", "p50", "p99")}
                for side, outcomes in rounds.items()
            }
            ratio = med["admission"]["rate"] / med["baseline"]["rate"] if med["baseline"]["rate"] else 0.0
            print(
                f"admission: {med['admission']['rate']:.0f} requests/s (p50 {med['admission']['p50']:.0f} ms, "
                f"p99 {med['admission']['p99']:.0f} ms; goal ≥ {GOAL_RATE}/s, p99 < {GOAL_P99_MS} ms); "
                f"baseline {med['baseline']['rate']:.0f}/s (p99 {med['baseline']['p99']:.0f} ms); ratio {ratio:.2f}"
            )
        figures = in_process(data, runs=50 if not args.smoke else 5)
        print(
            f"queries: {figures['refusal_queries']} per refused admission, {figures['admission_queries']} per "
            f"admission (answered {figures['admission_status']}); in process, median of repeated calls: refusal "
            f"{figures['refusal_ms']:.2f} ms (lean handler, token cached), {figures['refusal_cold_ms']:.2f} ms with "
            f"DRF's token lookup in the database, {figures['refusal_full_ms']:.2f} ms through every middleware and "
            f"the DRF view; bare Django view {figures['baseline_ms']:.2f} ms (ratio "
            f"{figures['refusal_ms'] / figures['baseline_ms']:.2f})"
        )
        print(
            f"flash summary: exactly {args.units} of {args.units} sold to {args.buyers} buyers; admission "
            f"{med['admission']['rate']:.0f}/s p99 {med['admission']['p99']:.0f} ms vs baseline "
            f"{med['baseline']['rate']:.0f}/s = {ratio:.2f}"
        )
    finally:
        drop_flash_keys()
        bench_checkout.drop_task_queue()
        connection.close()
        teardown_databases(old_config, verbosity=0)
    return 0


def checkout_admitted(data: dict, admitted: list[int]) -> dict:
    """The admitted buyers check out their unit (in this process): the sale then has sold
    exactly its quantity, holds nothing, and refuses one more admission (sold out)."""
    from marketplace.models import User
    from orders import services as order_services
    from orders.models import Address
    from promotions.errors import FlashSaleConflict
    from promotions.models import FlashReservation, FlashSale
    from promotions.services import flash

    for user in User.objects.filter(pk__in=admitted).order_by("pk"):
        order_services.checkout_place(
            buyer=user,
            address=Address.objects.get(buyer=user),
            items=[order_services.CheckoutItem(data["sku"], 1)],
        )
    sale = FlashSale.objects.get(pk=data["sale"])
    assert (sale.sold_units, sale.reserved_units) == (data["units"], 0), (sale.sold_units, sale.reserved_units)
    assert FlashReservation.objects.filter(sale=sale, status="consumed").count() == data["units"]
    latecomer = next(pk for pk, _token in data["buyers"] if pk not in set(admitted))
    try:
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=latecomer)
        refused = "admitted (wrong)"
    except FlashSaleConflict as error:
        refused = error.code
    assert refused == "sold_out", refused
    return {
        "orders": len(admitted),
        "state": f"the sale sold {sale.sold_units} of {sale.quantity}, holds {sale.reserved_units}; "
        f"one more admission: {refused}",
    }


if __name__ == "__main__":
    sys.exit(main())
