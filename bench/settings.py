"""Settings of the benchmark servers only: the product's settings, plus the bare Django
baseline's URL (bench/urls.py). Production never loads this module."""

from marketplace.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
