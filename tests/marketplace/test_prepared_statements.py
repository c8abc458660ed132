"""Statements are bound server-side, so a reused connection prepares its hot statements once
and PostgreSQL stops parsing and planning them on every request (issue #12, database time)."""

import pytest
from django.db import connection

from marketplace.numbers import sequence_next
from orders.services.checkout import NUMBER_SEQUENCE

pytestmark = pytest.mark.django_db


def _prepared(fragment: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{fragment}%"])
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_binds_parameters_on_the_server():
    # Django's default (client-side binding) interpolates parameters into the text and can
    # never prepare: the option must reach the connection.
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    with connection.cursor() as cursor:
        assert type(cursor.cursor).__name__ == "ServerSideBindingCursor"


def test_a_statement_run_again_and_again_is_prepared_once_on_the_connection():
    values = [sequence_next(NUMBER_SEQUENCE) for _ in range(connection.connection.prepare_threshold + 1)]
    assert values == list(range(values[0], values[0] + len(values)))
    assert _prepared("SELECT nextval($1)") == ["SELECT nextval($1)"]


def test_a_bounded_stock_lock_wait_is_set_without_a_parameter(settings):
    # SET cannot take a bound parameter ("syntax error at or near $1"): the stock service
    # writes its bound into the statement.
    from catalog.services.stock import _set_lock_timeout

    settings.DB_LOCK_TIMEOUT_MS = 0
    settings.STOCK_LOCK_TIMEOUT_MS = 1234
    _set_lock_timeout()
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("1234ms",)
