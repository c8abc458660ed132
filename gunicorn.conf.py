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
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# To stdout by default; GUNICORN_ACCESS_LOG="" turns it off (a benchmark need not log every request).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
