"""Settlement runs through a real Celery worker on the Redis broker, crashes and resumes."""

import datetime
from decimal import Decimal
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from marketplace.celery import app
from settlements import services
from settlements.models import SettledOrder, SettlementRun, Statement
from settlements.periods import Period
from settlements.services.runs import merchants_to_settle
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
        services.settle_batch(run_id=run.pk, merchant_ids=[merchant_ids[0]])
        # The worker dies while settling the second batch: its transaction rolls back.
        with (
            mock.patch("settlements.services.runs._ladder_lines", side_effect=RuntimeError("killed")),
            pytest.raises(RuntimeError),
        ):
            services.settle_batch(run_id=run.pk, merchant_ids=[merchant_ids[1]])
        assert Statement.objects.count() == 1
        assert merchants_to_settle(period) == merchant_ids[1:]
        # The redelivered batch, and a whole new run, finish the job without duplicates.
        services.settle_batch(run_id=run.pk, merchant_ids=[merchant_ids[1]])
        resumed = services.run_start(period="2026-10", enqueue=False)
        services.settle_batch(run_id=resumed.pk, merchant_ids=merchants_to_settle(period))
    payables = dict(Statement.objects.values_list("merchant_id", "payable"))
    assert payables == {
        merchant_ids[0]: Decimal("17.50"),
        merchant_ids[1]: Decimal("46.00"),
        merchant_ids[2]: Decimal("93.50"),
    }
    assert SettledOrder.objects.count() == 3
    assert SettlementRun.objects.count() == 2


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
