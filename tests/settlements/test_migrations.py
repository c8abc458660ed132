"""Migrations that convert stored rows, run on a database holding such rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from settlements.models import SettlementBatch

JSON_LIST = [("settlements", "0005_settlement_batch_rows")]
ARRAY = [("settlements", "0006_settlement_batch_merchant_ids_array")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _stored(apps):
    batch = apps.get_model("settlements", "SettlementBatch")
    return list(batch.objects.order_by("number").values_list("number", "merchant_ids", "merchant_count"))


@pytest.mark.django_db(transaction=True)
def test_batches_keep_their_merchants_when_the_json_list_becomes_an_array_and_back():
    expected = [(1, [3, 5, 9007199254740993], 3), (2, [], 0), (3, [42], 1)]
    try:
        apps = _migrate(JSON_LIST)
        run = apps.get_model("settlements", "SettlementRun").objects.create(period="2026-10")
        batch = apps.get_model("settlements", "SettlementBatch")
        for number, ids, count in expected:
            batch.objects.create(run=run, number=number, merchant_ids=ids, merchant_count=count)

        apps = _migrate(ARRAY)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT udt_name FROM information_schema.columns "
                "WHERE table_name = 'settlements_settlementbatch' AND column_name = 'merchant_ids'"
            )
            assert cursor.fetchall() == [("_int8",)]
        assert _stored(apps) == expected
        # The array filters by element, which the JSON list could not.
        assert list(SettlementBatch.objects.filter(merchant_ids__contains=[42]).values_list("number", flat=True)) == [3]

        apps = _migrate(JSON_LIST)
        assert _stored(apps) == expected
    finally:
        # Back to the latest migrations (not ARRAY's): later migrations' tables are needed by
        # the tests that run after this one.
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
