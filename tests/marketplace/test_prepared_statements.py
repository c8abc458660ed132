"""DATABASE_SERVER_SIDE_BINDING=1 (opt-in, marketplace/settings.py): statements are bound server-side,
so a reused connection prepares its hot statements once and PostgreSQL stops parsing and
planning them on every request (issue #12, database time per order)."""

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def bound_server_side():
    """A second psycopg connection to the test database, opened by Django's backend as the
    opt-in configures it (its cursor class, its prepare threshold)."""
    options = {**connection.settings_dict["OPTIONS"], "server_side_binding": True, "prepare_threshold": 5}
    wrapper = type(connections["default"])(
        {**connection.settings_dict, "OPTIONS": options}, alias="server_side_binding"
    )
    raw = wrapper.get_new_connection(wrapper.get_connection_params())
    raw.autocommit = True
    yield raw
    raw.close()


def test_a_statement_run_again_and_again_is_prepared_once_on_the_connection(bound_server_side):
    with bound_server_side.cursor() as cursor:
        assert type(cursor).__name__ == "ServerBindingCursor"
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM catalog_sku WHERE id = %s", [0])
            assert cursor.fetchone() == (0,)
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        assert [row[0] for row in cursor.fetchall()] == ["SELECT count(*) FROM catalog_sku WHERE id = $1"]


@pytest.mark.skipif(
    connection.settings_dict["OPTIONS"].get("server_side_binding") is True, reason="the opt-in is on in this run"
)
def test_django_default_client_side_binding_never_prepares():
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM catalog_sku WHERE id = %s", [0])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)


def test_a_bounded_stock_lock_wait_is_set_without_a_parameter(bound_server_side, settings, monkeypatch):
    # SET takes no bound parameter ("syntax error at or near $1" with server-side binding): the
    # stock service writes its bound into the statement.
    from catalog.services import stock

    settings.DB_LOCK_TIMEOUT_MS = 0
    settings.STOCK_LOCK_TIMEOUT_MS = 1234
    monkeypatch.setattr(stock, "connection", bound_server_side)  # its .cursor() as Django's
    with bound_server_side.cursor() as cursor:
        cursor.execute("BEGIN")
        stock._set_lock_timeout()
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("1234ms",)
        cursor.execute("ROLLBACK")
