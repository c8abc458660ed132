"""A database wait bound that fires answers 503 `server_busy` with Retry-After, fast, and
leaves nothing half-written; the bounds are set for the web only."""

import os
import runpy
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from psycopg import errors as pg_errors
from rest_framework.test import APIClient

from marketplace.middleware import is_server_busy
from marketplace.models import JobFailure
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BUSY = {"code": "server_busy", "message": "The server is busy. Please try again in a moment."}


@contextmanager
def _bounds(lock_ms=300, statement_ms=0):
    """Bound this test's connection (the test client's requests use it) as the web's are."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {int(lock_ms)}")
        cursor.execute(f"SET statement_timeout = {int(statement_ms)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("RESET statement_timeout")


@contextmanager
def _held_by_another_connection(sql, params=()):
    """Another connection runs `sql` (taking locks) in a transaction kept open meanwhile."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        other = connection.copy()
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(sql, params)
                taken.set()
                release.wait(10)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        yield
    finally:
        release.set()
        holder.join(10)


@pytest.mark.urls("tests.marketplace.busy_urls")
def test_a_lock_wait_past_the_bound_answers_503_in_the_api_and_writes_nothing():
    user = UserFactory()
    with (
        _held_by_another_connection("SELECT id FROM marketplace_user WHERE id = %s FOR UPDATE", [user.pk]),
        _bounds(lock_ms=300),
    ):
        response = APIClient().post(f"/api/busy/?wait=lock&user={user.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response.json() == {**BUSY, "extra": {"retry_after_seconds": 1}}
    assert response["Retry-After"] == "1"
    # No time is measured: the holder keeps its lock until this block ends, so only the bound
    # could have answered (without it the request would wait forever).
    assert JobFailure.objects.count() == 0  # the row written before the wait rolled back


@pytest.mark.urls("tests.marketplace.busy_urls")
def test_a_statement_past_the_bound_answers_503_in_the_api_and_writes_nothing():
    with _bounds(statement_ms=300):
        response = APIClient().post("/api/busy/?wait=sleep", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response.json() == {**BUSY, "extra": {"retry_after_seconds": 1}}
    assert response["Retry-After"] == "1"
    # The 503 itself shows the statement was cancelled: run to its end, it answers 200.
    assert JobFailure.objects.count() == 0


@pytest.mark.urls("tests.marketplace.busy_urls")
@pytest.mark.parametrize("wait", ["lock", "sleep"])
def test_a_page_past_a_bound_answers_the_busy_page_and_writes_nothing(client, wait):
    user = UserFactory()
    with (
        _held_by_another_connection("SELECT id FROM marketplace_user WHERE id = %s FOR UPDATE", [user.pk]),
        _bounds(lock_ms=300, statement_ms=300),
    ):
        response = client.get(f"/busy/?wait={wait}&user={user.pk}", HTTP_ACCEPT_LANGUAGE="en")
        api_route = client.get(f"/api/plain-busy/?wait={wait}&user={user.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("text/html")
    assert "503" in response.text
    assert "The site is busy right now" in response.text
    # A route under /api/ that is no DRF view still answers in the API's shape.
    assert (api_route.status_code, api_route["Retry-After"]) == (503, "1")
    assert api_route.json() == {**BUSY, "extra": {"retry_after_seconds": 1}}
    assert JobFailure.objects.count() == 0


def test_a_real_api_list_and_page_waiting_on_a_locked_table_answer_503(client):
    buyer = UserFactory()
    api = APIClient()
    api.force_authenticate(buyer)
    client.force_login(buyer)
    with (
        _held_by_another_connection("LOCK TABLE orders_buyerorder IN ACCESS EXCLUSIVE MODE"),
        _bounds(lock_ms=300),
    ):
        listed = api.get("/api/v1/orders/orders/")
        page = client.get("/orders/")
    assert (listed.status_code, listed.json()["code"], listed["Retry-After"]) == (503, "server_busy", "1")
    assert (page.status_code, page["Retry-After"]) == (503, "1")
    # Once the lock is gone, the same requests answer.
    assert api.get("/api/v1/orders/orders/").status_code == 200
    assert client.get("/orders/").status_code == 200


def test_other_database_errors_are_not_called_busy():
    """A deadlock (the services lock in pk order to avoid them) or a lost server is a fault."""
    for cause in (pg_errors.DeadlockDetected(), pg_errors.AdminShutdown()):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        assert not is_server_busy(error)
    busy = OperationalError("canceling statement due to statement timeout")
    busy.__cause__ = pg_errors.QueryCanceled()
    assert is_server_busy(busy)
    assert not is_server_busy(RuntimeError("busy"))


def _connection_options(overrides):
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'marketplace.settings'); django.setup();"
        "from django.conf import settings as s; print(repr(s.DATABASES['default']['OPTIONS'].get('options')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    env.update(overrides)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bounds_are_startup_options_set_only_when_asked():
    assert _connection_options({}) == "None"  # Celery workers and commands: unbounded
    both = {"DB_LOCK_TIMEOUT_MS": "2000", "DB_STATEMENT_TIMEOUT_MS": "5000"}
    assert _connection_options(both) == "'-c lock_timeout=2000 -c statement_timeout=5000'"
    assert _connection_options({**both, "DB_STATEMENT_TIMEOUT_MS": "0"}) == "'-c lock_timeout=2000'"


def test_postgresql_applies_the_startup_options_to_the_connection():
    bounded = connection.copy()
    bounded.settings_dict["OPTIONS"]["options"] = "-c lock_timeout=2000 -c statement_timeout=5000"
    try:
        with bounded.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
            assert cursor.fetchone() == ("2s", "5s")
    finally:
        bounded.close()


def test_gunicorn_bounds_the_webs_waits_and_leaves_the_environment_the_last_word(monkeypatch):
    for name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS", "WEB_CONCURRENCY", "GUNICORN_BACKLOG"):
        monkeypatch.setenv(name, "1")  # so that monkeypatch restores the variable's absence
        monkeypatch.delenv(name)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (os.environ["DB_LOCK_TIMEOUT_MS"], os.environ["DB_STATEMENT_TIMEOUT_MS"]) == ("2000", "5000")
    assert (config["backlog"], config["timeout"]) == (256, 30)
    monkeypatch.setenv("DB_LOCK_TIMEOUT_MS", "500")
    monkeypatch.setenv("GUNICORN_BACKLOG", "100")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (os.environ["DB_LOCK_TIMEOUT_MS"], config["backlog"]) == ("500", 100)
