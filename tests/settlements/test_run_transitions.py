"""Settlement runs and batches move through their transition tables (RUN_TRANSITIONS,
BATCH_TRANSITIONS) and the kernel's helper; a batch already finished is left as it is."""

import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from marketplace.errors import InvalidTransition
from marketplace.transitions import transition
from settlements import selectors, services
from settlements.models import (
    BATCH_TRANSITIONS,
    RUN_TRANSITIONS,
    SettlementBatch,
    SettlementRun,
    Statement,
)
from tests.settlements.test_worker import _three_shops

NOW = datetime.datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_tables_hold_the_rules():
    assert {a: (sorted(s), t) for a, (s, t) in RUN_TRANSITIONS.table.items()} == {
        "complete": (["running"], "completed"),
        "fail": (["running"], "failed"),
    }
    assert {a: (sorted(s), t) for a, (s, t) in BATCH_TRANSITIONS.table.items()} == {
        "settle": (["pending"], "done"),
        "fail": (["pending"], "failed"),
    }
    assert BATCH_TRANSITIONS.can("settle", SettlementBatch(status="pending"))
    assert not BATCH_TRANSITIONS.can("settle", SettlementBatch(status="failed"))
    assert not RUN_TRANSITIONS.can("fail", SettlementRun(status="completed"))


@pytest.mark.django_db
def test_a_run_with_nobody_to_settle_is_completed_at_once():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
    run.refresh_from_db()
    assert (run.status, run.finished_at, run.batches_total, run.batches_done) == ("completed", NOW, 0, 0)
    assert SettlementBatch.objects.filter(run=run).count() == 0


@pytest.mark.django_db
def test_a_finished_batch_or_run_is_refused_by_the_table_and_nothing_changes(settings):
    settings.SETTLEMENT_BATCH_SIZE = 3
    _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        (batch_id,) = selectors.run_batch_ids(run)
        assert services.settle_batch(batch_id=batch_id) == 3
    batch = SettlementBatch.objects.get(pk=batch_id)
    run.refresh_from_db()
    before = (batch.status, batch.statements_created, batch.finished_at, run.status, run.finished_at)
    assert before == ("done", 3, NOW, "completed", NOW)
    for obj, table, action in ((batch, BATCH_TRANSITIONS, "fail"), (run, RUN_TRANSITIONS, "fail")):
        with pytest.raises(InvalidTransition) as info, transaction.atomic():
            transition(obj, action, table=table, changes={"finished_at": None})
        assert (info.value.status_code, info.value.code) == (409, "invalid_transition")
        assert info.value.extra == {"status": obj.status, "action": "fail"}
    batch.refresh_from_db()
    run.refresh_from_db()
    assert (batch.status, batch.statements_created, batch.finished_at, run.status, run.finished_at) == before


@pytest.mark.django_db
def test_a_failed_batch_delivered_again_settles_nothing(settings):
    settings.SETTLEMENT_BATCH_SIZE = 3
    _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        (batch_id,) = selectors.run_batch_ids(run)
        services.record_batch_failure(batch_id=batch_id, error="boom")
        assert services.settle_batch(batch_id=batch_id) == 0
    run.refresh_from_db()
    batch = SettlementBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.statements_created, batch.error) == ("failed", 0, "boom")
    assert (run.status, run.batches_done, run.statements_created, run.finished_at) == ("failed", 1, 0, NOW)
    assert Statement.objects.count() == 0
