"""Gunicorn settings for production: the Dockerfile's CMD and docker-compose's `web` read
this file (gunicorn loads ./gunicorn.conf.py by default); the environment may override.

Issue #12 measured the product with these settings (4 sync workers on 2 cores, persistent
database connections), so the figures in the README are what this configuration serves.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Sync workers, one request at a time each, two per core: a request is mostly Python (CPU,
# under the GIL) with short waits on PostgreSQL and Redis, so a second process per core keeps
# the core busy while the first waits; more only adds memory and connections. Threads would
# not add CPU (the GIL), and each thread would hold its own database connection.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
threads = 1

# With CONN_MAX_AGE each worker keeps one PostgreSQL connection open: the server's
# max_connections must cover workers × web containers + Celery's processes (README).

# An overloaded server answers within 3 s, with a code, never hangs (issue #12). Three bounds:
# 1. The database: requests queue on hot rows (stock, a stream of the audit log) and, once
#    the CPU is saturated, on everything. The web's connections give up a lock wait after 2 s
#    and a statement after 5 s (marketplace/settings.py reads these); the request then answers
#    503 `server_busy` with Retry-After, its transaction rolled back. Only the web reads this
#    file: Celery workers and management commands keep unbounded statements. The environment
#    overrides them (0 turns a bound off).
os.environ.setdefault("DB_LOCK_TIMEOUT_MS", "2000")
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "5000")
# 2. The listen queue: a request waits there for a free worker, unseen by any timeout. At the
#    measured 20-50 ms per request a sync worker serves 20-50 requests/s, so 64 waiting per
#    worker is about 1.5-3 s of queue; beyond that the kernel refuses the connection at once
#    (a proxy in front answers 502), which beats accepting it to answer long after the client
#    gave up. 64 per worker still takes the 200 buyers of the stock race on 4 workers at once.
#    A flash sale's burst is the exception (issue #13): thousands of buyers connect within a
#    second for an admission answered in about a millisecond (marketplace/lean.py). With 256
#    places, the connections past them have their SYN dropped (tcp_abort_on_overflow is 0 on
#    Linux by default) and the buyer's system retries 1 s, 3 s, 7 s… later, while the workers
#    sit idle: bench/flash.py's 2,000 buyers waited up to 116 s on a loaded machine, against
#    45 s with GUNICORN_BACKLOG=2048 (every connection queued, none dropped). For a flash
#    sale, set it to the expected burst (the kernel caps it at net.core.somaxconn).
#    Sync workers still: an admission is Python under the GIL plus one Redis round trip, so
#    threads would add no CPU to the two cores the workers already keep busy.
backlog = int(os.environ.get("GUNICORN_BACKLOG", 64 * workers))
# 3. The worker: a sync worker silent this long is killed and replaced. Above the statement
#    bound, so a request stuck in the database answers its 503 first; the kill is only for a
#    worker stuck elsewhere. gunicorn's 30 s, not less: some staff pages still do long work in
#    the request (the settlement dry run over every merchant, large CSV exports) as a sequence
#    of short statements, and killing them half-way would help no one.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# To stdout by default; GUNICORN_ACCESS_LOG="" turns it off (a benchmark need not log every request).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
