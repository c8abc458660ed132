"""Settlement runs through a real Celery worker on the Redis broker, crashes and resumes."""

import datetime
import threading
from decimal import Decimal
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.db import connection

from marketplace.celery import app
from settlements import selectors, services
from settlements.models import SettledOrder, SettlementBatch, SettlementRun, Statement
from settlements.periods import Period
from settlements.services.runs import merchants_to_settle
from settlements.tasks import settle_batch_task
from tests.settlements.test_runs import Shop, at

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 2, 9, tzinfo=SH)


def _three_shops():
    figures = {}
    for n, price in enumerate(["10.00", "20.00", "30.00"]):
        shop = Shop()
        shop.completed_order([(price, n + 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
        figures[shop.merchant.pk] = None
    return sorted(figures)


@pytest.fixture
def worker(settings):
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as w:
        yield w


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_split_into_batches_is_done_by_a_real_worker(worker, settings, django_capture_on_commit_callbacks):
    settings.SETTLEMENT_BATCH_SIZE = 1
    merchant_ids = _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10")
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != "running":
            break
        time.sleep(0.2)
    assert (run.status, run.batches_total, run.batches_done, run.statements_created) == ("completed", 3, 3, 3)
    payables = dict(Statement.objects.values_list("merchant_id", "payable"))
    # 1×10, 2×20, 3×30 with ¥8 shipping and 5 % commission (launch policy).
    assert payables == {
        merchant_ids[0]: Decimal("17.50"),
        merchant_ids[1]: Decimal("46.00"),
        merchant_ids[2]: Decimal("93.50"),
    }


@pytest.mark.django_db
def test_a_worker_killed_mid_run_then_resumed_gives_the_same_result(settings):
    settings.SETTLEMENT_BATCH_SIZE = 1
    merchant_ids = _three_shops()
    period = Period.parse("2026-10")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        first, second, _third = selectors.run_batch_ids(run)
        services.settle_batch(batch_id=first)
        # The worker dies while settling the second batch: its transaction rolls back.
        with (
            mock.patch("settlements.services.computation._ladder_lines", side_effect=RuntimeError("killed")),
            pytest.raises(RuntimeError),
        ):
            services.settle_batch(batch_id=second)
        assert Statement.objects.count() == 1
        assert SettlementBatch.objects.get(pk=second).status == "pending"
        assert merchants_to_settle(period) == merchant_ids[1:]
        # The redelivered batch, and a whole new run, finish the job without duplicates.
        services.settle_batch(batch_id=second)
        resumed = services.run_start(period="2026-10", enqueue=False)
        (only,) = selectors.run_batch_ids(resumed)
        services.settle_batch(batch_id=only)
    payables = dict(Statement.objects.values_list("merchant_id", "payable"))
    assert payables == {
        merchant_ids[0]: Decimal("17.50"),
        merchant_ids[1]: Decimal("46.00"),
        merchant_ids[2]: Decimal("93.50"),
    }
    assert SettledOrder.objects.count() == 3
    assert SettlementRun.objects.count() == 2


def _progress(run):
    run.refresh_from_db()
    return (run.status, run.batches_done, run.merchants_done, run.statements_created)


@pytest.mark.django_db
def test_a_batch_delivered_twice_counts_once_and_the_run_waits_for_every_batch(settings):
    settings.SETTLEMENT_BATCH_SIZE = 1
    merchant_ids = _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        first, second, third = selectors.run_batch_ids(run)
        assert list(SettlementBatch.objects.filter(run=run).values_list("number", "merchant_ids", "status")) == [
            (1, [merchant_ids[0]], "pending"),
            (2, [merchant_ids[1]], "pending"),
            (3, [merchant_ids[2]], "pending"),
        ]
        assert settle_batch_task.apply(args=[first]).get() == 1
        # acks_late: the same message delivered again settles and counts nothing.
        assert settle_batch_task.apply(args=[first]).get() == 0
        assert _progress(run) == ("running", 1, 1, 1)
        assert services.settle_batch(batch_id=second) == 1
        assert services.settle_batch(batch_id=second) == 0
        # Four deliveries for three batches: the third batch is still outstanding.
        assert _progress(run) == ("running", 2, 2, 2)
        assert Statement.objects.count() == 2
        assert services.settle_batch(batch_id=third) == 1
    assert _progress(run) == ("completed", 3, 3, 3)
    assert run.finished_at == NOW
    assert list(SettlementBatch.objects.filter(run=run).values_list("status", "statements_created")) == [
        ("done", 1),
        ("done", 1),
        ("done", 1),
    ]
    assert Statement.objects.count() == 3 and SettledOrder.objects.count() == 3


@pytest.mark.django_db
def test_a_failed_batch_fails_the_run_only_once_no_batch_is_pending(settings):
    settings.SETTLEMENT_BATCH_SIZE = 1
    merchant_ids = _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        first, second, third = selectors.run_batch_ids(run)
        services.record_batch_failure(batch_id=second, error="boom")
        # Reported twice (a redelivered failure): recorded once.
        services.record_batch_failure(batch_id=second, error="boom again")
        assert _progress(run) == ("running", 1, 0, 0)
        assert run.failures == [{"merchants": [merchant_ids[1], merchant_ids[1]], "error": "boom"}]
        services.settle_batch(batch_id=first)
        assert _progress(run) == ("running", 2, 1, 1)
        # A failure reported for a batch that is done leaves it done.
        services.record_batch_failure(batch_id=first, error="late")
        services.settle_batch(batch_id=third)
    assert _progress(run) == ("failed", 3, 2, 2)
    assert len(run.failures) == 1
    assert list(SettlementBatch.objects.filter(run=run).values_list("status", "error")) == [
        ("done", ""),
        ("failed", "boom"),
        ("done", ""),
    ]
    assert sorted(Statement.objects.values_list("merchant_id", flat=True)) == [merchant_ids[0], merchant_ids[2]]


@pytest.mark.django_db
def test_a_batch_locks_its_own_row_not_the_run_while_it_computes(settings):
    """Workers settle batches side by side: the long lock is the batch row's; the run row is
    locked only by the short recount at the end."""
    from django.test.utils import CaptureQueriesContext

    settings.SETTLEMENT_BATCH_SIZE = 2
    _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
        first, _second = selectors.run_batch_ids(run)
        with CaptureQueriesContext(connection) as queries:
            services.settle_batch(batch_id=first)
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert locks[0].endswith('FOR UPDATE OF "settlements_settlementbatch"')
    assert 'FROM "settlements_settlementrun"' in locks[-1] and locks[-1].endswith("FOR UPDATE")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_delivered_to_two_workers_at_once_is_settled_and_counted_once(settings):
    settings.SETTLEMENT_BATCH_SIZE = 2
    _three_shops()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        run = services.run_start(period="2026-10", enqueue=False)
    first, second = selectors.run_batch_ids(run)
    barrier = threading.Barrier(2)
    results = []

    def deliver():
        try:
            barrier.wait()
            with mock.patch("django.utils.timezone.now", return_value=NOW):
                results.append(services.settle_batch(batch_id=first))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [0, 2]
    assert _progress(run) == ("running", 1, 2, 2)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        services.settle_batch(batch_id=second)
    assert _progress(run) == ("completed", 2, 3, 3)
    assert Statement.objects.count() == 3


@pytest.mark.django_db
def test_the_command_dry_run_and_real_run(settings):
    _three_shops()
    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("run_settlement", "--period", "2026-10", "--dry-run", stdout=out)
        assert Statement.objects.count() == 0
        assert "Dry run of 2026-10: 3 statement(s)" in out.getvalue()
        assert "¥157.00" in out.getvalue()
        out = StringIO()
        call_command("run_settlement", "--period", "2026-10", "--sync", stdout=out)
    assert Statement.objects.count() == 3
    assert "completed" in out.getvalue()
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("ok")
