"""The health check of reused database connections (CONN_HEALTH_CHECKS; the backend's
`is_usable`, marketplace/db/postgresql): a connection whose server process is gone (a database
restart, a failover) is replaced at the request's first query, so the first request after a
restart does not fail; the check is an empty query, which PostgreSQL answers without a
transaction."""

from __future__ import annotations

import psycopg
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections
from django.db.utils import Error as DjangoDatabaseError
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from marketplace.wsgi import application
from orders.models import CartItem
from tests.factories import UserFactory
from tests.orders.test_lean_checkout import stocked_sku

pytestmark = pytest.mark.django_db


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"}}
    )


def _terminate(pid: int) -> None:
    """Ends the server process `pid` as a restart does, and waits until it is gone."""
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() != (0,):
            admin.execute("SELECT pg_sleep(0.01)")


@pytest.fixture
def reused():
    """A second connection to the test database, configured as production's: kept for reuse
    (never closed for its age) and health-checked."""
    # The alias of the test's connection: what runs when a connection opens looks it up by it.
    wrapper = type(connections["default"])(
        {**connection.settings_dict, "CONN_MAX_AGE": None, "CONN_HEALTH_CHECKS": True}, alias="default"
    )
    yield wrapper
    wrapper.close()


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_check_tells_a_live_connection_from_a_dead_one(reused):
    assert reused.is_usable() is False  # not connected yet
    pid = _backend_pid(reused)
    assert reused.is_usable() is True
    assert reused.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing left open
    _terminate(pid)
    assert reused.is_usable() is False


def test_a_request_after_a_restart_gets_a_new_connection(reused):
    pid = _backend_pid(reused)
    _terminate(pid)
    # What Django does around a request (close_old_connections), then the request's first query.
    reused.close_if_unusable_or_obsolete()
    assert _backend_pid(reused) != pid
    assert reused.health_check_done is True


def test_without_the_check_the_first_query_after_a_restart_fails(reused):
    """The control: what the check prevents."""
    pid = _backend_pid(reused)
    reused.health_check_enabled = False
    _terminate(pid)
    reused.close_if_unusable_or_obsolete()
    with pytest.raises(DjangoDatabaseError):
        _backend_pid(reused)


@pytest.mark.django_db(transaction=True)
def test_the_first_add_to_cart_after_a_restart_is_answered():
    """Through the production WSGI application (the lean add-to-cart), on the test's own
    connection kept as production keeps it."""
    sku = stocked_sku()
    buyer = UserFactory()
    token = Token.objects.create(user=buyer).key
    connection.ensure_connection()
    connection.close_at = None  # CONN_MAX_AGE=None, as in production (tests run with 0)
    assert connection.health_check_enabled is True
    pid = _backend_pid(connection)
    _terminate(pid)
    environ = (
        RequestFactory()
        .post(
            "/api/v1/orders/cart/items/",
            f'{{"sku": {sku.pk}}}',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        .environ
    )
    started = {}
    assert close_old_connections in request_started._live_receivers(None)[0]  # Django's, connected
    chunks = application(environ, lambda status, headers, exc_info=None: started.update(status=status))
    b"".join(chunks)
    chunks.close()  # request_finished
    assert started["status"].startswith("201")
    assert CartItem.objects.get(cart__buyer=buyer).quantity == 1
    assert _backend_pid(connection) != pid
    assert close_old_connections in request_finished._live_receivers(None)[0]
