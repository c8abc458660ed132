"""Suite-wide fixtures. The suite runs on PostgreSQL and Redis only (make test starts them)."""

from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from marketplace.celery import app
from tests.factories import UserFactory


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "marketplace.db.postgresql":
        raise pytest.UsageError(
            f"The test suite runs on PostgreSQL, not {engine}. Use `make test`, or set DATABASE_URL "
            "(and REDIS_URL) to a PostgreSQL database and a Redis server."
        )
    if not settings.REDIS_URL:
        raise pytest.UsageError("The test suite needs Redis: use `make test` or set REDIS_URL.")


@pytest.fixture(autouse=True)
def _isolated_cache():
    # The cache (Redis) outlives a test: throttling counters and lockouts must not leak.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _page_cache(request, settings):
    # A cached page goes stale when a change commits (catalog.pagecache bumps on commit); a test
    # inside one transaction never commits, so it would be served its first rendering of a page
    # ever after. The page cache is on where commits happen (transactional and browser tests)
    # and in tests marked `page_cache`, which run their on-commit callbacks themselves.
    db = request.node.get_closest_marker("django_db")
    committing = (db is not None and db.kwargs.get("transaction")) or {"live_server", "transactional_db"} & set(
        request.fixturenames
    )
    if request.node.get_closest_marker("page_cache") is None and not committing:
        settings.PAGE_CACHE_TTL = 0


#: The folders whose tests write uploads to a throwaway folder and run Celery tasks in-process
#: (notification e-mails into the locmem outbox). The others keep their own: tests/marketplace
#: sends tasks through the real broker, whose wiring it tests, and the access matrix builds one
#: world (with its files) for the whole module.
DOMAIN_FOLDERS = frozenset(
    {"browser", "catalog", "e2e", "merchants", "notifications", "orders", "promotions", "risk", "settlements"}
)
TESTS = Path(__file__).resolve().parent


def _in_domain_folder(request) -> bool:
    return Path(request.path).resolve().relative_to(TESTS).parts[0] in DOMAIN_FOLDERS


@pytest.fixture(autouse=True)
def _media_root(request):
    if _in_domain_folder(request):
        request.getfixturevalue("settings").MEDIA_ROOT = request.getfixturevalue("tmp_path") / "media"


@pytest.fixture(autouse=True)
def _eager_tasks(request):
    if not _in_domain_folder(request):
        yield
        return
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is for production; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com")


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True)
