"""Settings of the benchmark servers only: the product's settings, plus the bare Django
baseline's URL (bench/urls.py). Production never loads this module."""

from marketplace.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The servers' tasks go to a queue of the benchmark's own (nothing consumes it, as in a run
# without workers), which bench/checkout.py deletes at the end: they name rows of a database
# that is dropped, and a worker of the suite sharing the broker must never receive them.
CELERY_TASK_DEFAULT_QUEUE = env.str("BENCH_CELERY_QUEUE", default="bench")  # noqa: F405

# bench/pages.py collects the static files into a directory of its own (the pages' templates
# need the manifest with DEBUG off, as in production) rather than the project's STATIC_ROOT.
STATIC_ROOT = env.str("BENCH_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405

# bench/flash.py: a burst answers thousands of 409 refusals, each logged by Django as a warning
# (django.request); the figures are about answering them, not about writing the log.
if env.bool("BENCH_QUIET_REQUESTS", default=False):  # noqa: F405
    LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # noqa: F405
