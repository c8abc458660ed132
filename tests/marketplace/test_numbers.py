"""marketplace.numbers: values from a PostgreSQL sequence, unique even across rollbacks and
concurrent transactions, with no lock that others wait for."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from marketplace.numbers import create_sequence, sequence_next

SEQUENCE = "test_marketplace_numbers_seq"


@pytest.fixture
def sequence(django_db_blocker):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(create_sequence(SEQUENCE).sql)
    yield SEQUENCE
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(create_sequence(SEQUENCE).reverse_sql)
    connection.close()


@pytest.mark.django_db
def test_values_increase_and_a_rolled_back_value_is_never_handed_out_again(sequence):
    first = sequence_next(sequence)
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = sequence_next(sequence)
        raise RuntimeError
    after = sequence_next(sequence)
    assert (rolled_back, after) == (first + 1, first + 2)


@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_holding_a_value_does_not_make_another_wait(sequence):
    """Two unrelated writers: the second gets its value while the first has not committed."""
    held = threading.Event()
    release = threading.Event()
    values: list[int] = []

    def holder():
        try:
            with transaction.atomic():
                values.append(sequence_next(sequence))
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Would raise (lock timeout) if nextval queued behind the open transaction.
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            values.append(sequence_next(sequence))
    finally:
        release.set()
        thread.join(10)
    assert sorted(values) == [values[0], values[0] + 1]


def test_the_migration_operation_creates_and_drops_the_named_sequence():
    operation = create_sequence("orders_buyer_order_number_seq")
    assert (operation.sql, operation.reverse_sql) == (
        'CREATE SEQUENCE IF NOT EXISTS "orders_buyer_order_number_seq" AS bigint START 1',
        'DROP SEQUENCE IF EXISTS "orders_buyer_order_number_seq"',
    )
