"""Celery against the real Redis broker, with an in-process worker."""

import hashlib

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from marketplace.audit import audit_record
from marketplace.celery import app
from marketplace.tasks import audit_chain_verify_task


@pytest.fixture(scope="module")
def celery_worker():
    assert not app.conf.task_always_eager, "the suite runs tasks through the real broker"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_and_returns_its_result(celery_worker):
    entry = audit_record(action="test.event", data={"n": 1})
    result = audit_chain_verify_task.delay()
    digest = hashlib.sha256(f"action:test.event\t1\t{entry.hash}\n".encode()).hexdigest()
    assert result.get(timeout=30) == {"ok": True, "entries": 1, "streams": 1, "heads_digest": digest}
    assert result.status == "SUCCESS"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_tasks_enqueued_in_a_transaction_wait_for_the_commit(celery_worker):
    enqueued = []
    with transaction.atomic():
        audit_record(action="test.event")
        audit_chain_verify_task.delay_on_commit()
        enqueued.append("inside")
        # Nothing was sent yet: the callback runs only after COMMIT.
        assert len(transaction.get_connection().run_on_commit) == 1
    assert len(transaction.get_connection().run_on_commit) == 0
    assert enqueued == ["inside"]


def test_every_periodic_task_is_registered_and_time_limited(settings):
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = app.tasks[entry["task"]]
        assert task.time_limit, name
