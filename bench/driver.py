"""The benchmarks' client side: threads released together, a closed-loop HTTP driver, and
the statistics they print.

bench/checkout.py and bench/pages.py drive their servers with the same client (the issue
compares the product and its baseline "driven by the same client"), and bench/checkout_race.py
starts its buyers the same way; one copy here keeps them measuring alike.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterable

import requests


def released_together(
    work: Callable[[int], None],
    n: int,
    *,
    prepare: Callable[[int], None] | None = None,
    at_release: Callable[[], None] | None = None,
    join_timeout: float | None = None,
) -> None:
    """Run `work(i)` for i in 0..n-1 on n threads released at once by a barrier, once every
    thread exists (creating 64 threads takes long enough for the first ones to run ahead) and
    has run its `prepare(i)` (e.g. connecting to the database); `at_release` runs in this
    thread just before the release (e.g. to start the clock). Returns when every thread has
    finished (or after `join_timeout` each)."""
    barrier = threading.Barrier(n + 1)

    def run(i: int) -> None:
        if prepare is not None:
            prepare(i)
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    if at_release is not None:
        at_release()
    barrier.wait()
    for t in threads:
        t.join(timeout=join_timeout)


def p50(samples: Iterable[float]) -> float:
    """The median, NaN when there is no sample."""
    samples = list(samples)
    return statistics.median(samples) if samples else float("nan")


def p99(samples: Iterable[float]) -> float:
    """The 99th percentile within the data (inclusive quantiles), NaN with fewer than 2 samples."""
    samples = list(samples)
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) > 1 else float("nan")


def medians(outcomes: list[dict], keys: Iterable[str]) -> dict[str, float]:
    """The median of each of `keys` over the rounds' outcomes."""
    return {k: statistics.median(o[k] for o in outcomes) for k in keys}


#: One attempt of a client: (session, client index) -> (status code or error name, what to keep).
Attempt = Callable[[requests.Session, int], tuple[int | str, object]]


def drive(
    attempt: Attempt,
    clients: int,
    seconds: float,
    *,
    ok: int = 200,
    session_setup: Callable[[requests.Session, int], None] | None = None,
) -> dict:
    """`clients` threads, each with its own keep-alive session, repeating `attempt` back to
    back for `seconds` (a closed loop: a client sends its next request when the last one is
    answered).

    Returns the rate of the attempts answered `ok` per second of wall time, the p50 and p99 of
    their latencies, `failures` (the other answers by status code or exception name),
    `slowest` (of every answer, failed or not), `answers` (every latency) and `kept` (what
    the successful attempts returned, e.g. order numbers).
    """
    latencies: list[float] = []  # of the attempts answered `ok`
    answers: list[float] = []  # of every attempt
    failures: dict[str, int] = {}
    kept: list = []
    lock = threading.Lock()
    sessions = [requests.Session() for _ in range(clients)]
    for i, session in enumerate(sessions):
        if session_setup is not None:
            session_setup(session, i)
    clock = {"deadline": 0.0, "began": 0.0}

    def client(i: int) -> None:
        session = sessions[i]
        while time.perf_counter() < clock["deadline"]:
            started = time.perf_counter()
            try:
                code, value = attempt(session, i)
            except (requests.RequestException, ValueError) as error:  # no answer, or not the JSON expected
                code, value = type(error).__name__, None
            took = time.perf_counter() - started
            with lock:
                answers.append(took)
                if code == ok:
                    latencies.append(took)
                    kept.append(value)
                else:
                    failures[str(code)] = failures.get(str(code), 0) + 1

    def start_clock() -> None:
        clock["began"] = time.perf_counter()
        clock["deadline"] = clock["began"] + seconds

    try:
        released_together(client, clients, at_release=start_clock)
    finally:
        for session in sessions:
            session.close()
    wall = time.perf_counter() - clock["began"]
    return {
        "rate": len(latencies) / wall,
        "p50": p50(latencies),
        "p99": p99(latencies),
        "failures": failures,
        "slowest": max(answers, default=float("nan")),
        "answers": answers,
        "kept": kept,
    }
