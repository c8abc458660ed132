"""The settlement dry run as a Celery job (issue #16): queued on commit, computed in batches
with its progress, its result paginated with totals and a CSV; a second dry run of the same
period joins the first; a failed job shows its error; nothing is written to statements."""

from __future__ import annotations

import csv
import io
import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import resolve

from marketplace.celery import app
from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from settlements import services
from settlements.models import (
    DryRun,
    DryRunRow,
    FrozenOrder,
    JournalEntry,
    Posting,
    SettledOrder,
    SettledRefund,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlements.tasks import dry_run_task
from tests.factories import UserFactory
from tests.settlements.test_admin import AFTER_OCTOBER, World, finance, finance_member, staff, url
from tests.settlements.test_runs import at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def after_october():
    with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
        yield


def settlement_tables() -> list:
    """Every table a real run writes: a dry run must leave them all as they were."""
    return [
        model.objects.count()
        for model in (
            SettlementRun,
            Statement,
            StatementLine,
            SettledOrder,
            SettledRefund,
            FrozenOrder,
            JournalEntry,
            Posting,
        )
    ]


def test_starting_queues_the_job_on_commit_and_the_task_stores_every_merchant(
    after_october, django_capture_on_commit_callbacks, settings
):
    settings.SETTLEMENT_DRY_RUN_BATCH_SIZE = 1
    world = World(settle=False)
    user = finance()
    before = settlement_tables()
    with django_capture_on_commit_callbacks() as callbacks:
        dry_run = services.dry_run_start(period="2026-10", actor=user)
    assert (dry_run.state, dry_run.started_by, dry_run.merchants_total) == ("queued", user, 0)
    assert len(callbacks) == 1
    with mock.patch.object(dry_run_task, "delay") as delay:
        callbacks[0]()
    delay.assert_called_once_with(dry_run.pk)

    assert dry_run_task(dry_run.pk) == 2  # the task, run in this process
    dry_run.refresh_from_db()
    assert (dry_run.state, dry_run.merchants_done, dry_run.merchants_total, dry_run.error) == ("completed", 2, 2, "")
    assert dry_run.started_at == AFTER_OCTOBER and dry_run.finished_at == AFTER_OCTOBER
    assert dry_run.totals == {
        "goods": "300.00",
        "platform_discounts": "0.00",
        "shipping": "16.00",
        "commission": "-15.00",
        "payable": "301.00",
    }
    rows = list(DryRunRow.objects.order_by("merchant_id").values_list("merchant_id", "frozen", "payable", "lines"))
    assert rows == [
        (
            world.a.merchant.pk,
            0,
            Decimal("103.00"),
            {"goods": "100.00", "platform_discounts": "0.00", "shipping": "8.00", "commission": "-5.00"},
        ),
        (
            world.b.merchant.pk,
            0,
            Decimal("198.00"),
            {"goods": "200.00", "platform_discounts": "0.00", "shipping": "8.00", "commission": "-10.00"},
        ),
    ]
    assert settlement_tables() == before  # nothing written to statements, source rows or the ledger
    # Delivered twice (acks_late): the second delivery finds it completed and does nothing.
    assert dry_run_task(dry_run.pk) == 0
    assert DryRunRow.objects.count() == 2


def test_a_second_dry_run_of_the_period_joins_the_first(after_october, django_capture_on_commit_callbacks):
    World(settle=False)
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.dry_run_start(period="2026-10", actor=finance())
        second = services.dry_run_start(period="2026-10", actor=finance())
    assert second.pk == first.pk
    assert (DryRun.objects.count(), len(callbacks)) == (1, 1)
    # Once it is over, a new one starts.
    dry_run_task(first.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        third = services.dry_run_start(period="2026-10")
    assert third.pk != first.pk and (DryRun.objects.count(), len(callbacks)) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_two_dry_runs_started_at_once_are_one_job():
    """Both requests may read "none going" before either inserts: the partial unique
    constraint refuses the second insert, which then joins the first."""
    World(settle=False)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def start():
        try:
            barrier.wait()
            results.append(services.dry_run_start(period="2026-10").pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # Patched once here, not in each thread (patches entered and left by threads at once can
    # leave the mock in place for the tests after).
    with (
        mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER),
        mock.patch("settlements.services.dryruns.enqueue_on_commit") as enqueue,
    ):
        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert len(results) == 4 and len(set(results)) == 1
    assert DryRun.objects.count() == 1
    enqueue.assert_called_once_with("settlements.tasks.dry_run_task", results[0])


def test_a_job_left_running_past_its_time_limit_no_longer_blocks(after_october):
    stale = DryRun.objects.create(period="2026-10", state="running", started_at=at(2026, 11, 2, 8))
    dry_run = services.dry_run_start(period="2026-10")
    stale.refresh_from_db()
    assert (stale.state, stale.error) == ("failed", "interrupted: the worker stopped")
    assert dry_run.pk != stale.pk and dry_run.state == "queued"


@pytest.mark.parametrize(
    ("period", "code", "field_error"),
    [
        ("2026-13", "invalid_period", "A period looks like 2026-10."),
        ("2026-11", "period_not_ended", "2026-11 has not ended yet; it can be settled from 2026-12-01."),
    ],
)
def test_a_bad_period_is_refused_and_nothing_is_queued(client, after_october, period, code, field_error):
    client.force_login(finance())
    with pytest.raises(services.SettlementError if code == "invalid_period" else services.SettlementConflict) as exc:
        services.dry_run_start(period=period)
    assert exc.value.code == code
    response = client.post(url("settlementrun_preview"), {"period": period})
    assert response.status_code == 400
    assert response.context["form"].errors == {"period": [field_error]}
    assert DryRun.objects.count() == 0


@pytest.mark.parametrize("period", ["2026-10\x00", "\x00", "abc", "2026-1000"])
def test_nul_bytes_and_garbage_periods_answer_400(client, after_october, period):
    client.force_login(finance())
    response = client.post(url("settlementrun_preview"), {"period": period})
    assert response.status_code == 400
    assert DryRun.objects.count() == 0


def test_a_failed_job_shows_its_error_and_keeps_nothing(client, after_october):
    World(settle=False)
    dry_run = services.dry_run_start(period="2026-10")
    before = settlement_tables()
    with (
        mock.patch("settlements.services.dryruns.compute_statements", side_effect=RuntimeError("disk on fire")),
        pytest.raises(RuntimeError),
    ):
        dry_run_task(dry_run.pk)
    dry_run.refresh_from_db()
    assert (dry_run.state, dry_run.error, dry_run.merchants_done) == ("failed", "disk on fire", 0)
    assert DryRunRow.objects.count() == 0 and settlement_tables() == before
    client.force_login(finance())
    page = client.get(url("settlementrun_dry_run", dry_run.pk)).content.decode()
    assert "The dry run failed: disk on fire" in page
    assert 'http-equiv="refresh"' not in page
    status = client.get(url("settlementrun_dry_run_status", dry_run.pk)).json()
    assert (status["state"], status["error"]) == ("failed", "disk on fire")
    assert client.get(url("settlementrun_dry_run_csv", dry_run.pk)).status_code == 404


def test_the_pages_follow_the_job_then_show_the_result_paginated_with_totals_and_a_csv(client, after_october):
    World(settle=False)
    client.force_login(finance())
    response = client.post(url("settlementrun_preview"), {"period": "2026-10"})
    dry_run = DryRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("settlementrun_dry_run", dry_run.pk)
    # Queued: the page refreshes itself (a meta refresh: the CSP allows no inline script).
    page = client.get(url("settlementrun_dry_run", dry_run.pk)).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page and "0 / 0 merchants" in page
    assert client.get(url("settlementrun_dry_run_status", dry_run.pk)).json() == {
        "id": dry_run.pk,
        "period": "2026-10",
        "state": "queued",
        "done": 0,
        "total": 0,
        "started_at": None,
        "finished_at": None,
        "error": "",
    }
    dry_run_task(dry_run.pk)
    with mock.patch("settlements.admin.runs.DRY_RUN_ROWS_PER_PAGE", 1):
        first = client.get(url("settlementrun_dry_run", dry_run.pk))
        second = client.get(url("settlementrun_dry_run", dry_run.pk), {"page": "2"})
    html = first.content.decode()
    assert 'http-equiv="refresh"' not in html and "2 / 2 merchants" in html
    assert "¥103.00" in html and "¥198.00" not in html
    for text in ("¥301.00", "-¥15.00", "Total (2)", "2026-10: 2 statements would be created", "Page 1 of 2"):
        assert text in html, text
    html = second.content.decode()
    assert "¥198.00" in html and "¥103.00" not in html and "Page 2 of 2" in html
    status = client.get(url("settlementrun_dry_run_status", dry_run.pk)).json()
    assert (status["state"], status["done"], status["total"]) == ("completed", 2, 2)

    response = client.get(url("settlementrun_dry_run_csv", dry_run.pk))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    merchants = sorted(DryRunRow.objects.values_list("merchant_id", "merchant"))
    assert rows == [
        [
            "Merchant ID",
            "Merchant",
            "Goods paid by buyers",
            "Platform discounts reimbursed",
            "Shipping fees",
            "Commission",
            "Frozen orders",
            "Payable",
        ],
        [str(merchants[0][0]), merchants[0][1], "100.00", "0.00", "8.00", "-5.00", "0", "103.00"],
        [str(merchants[1][0]), merchants[1][1], "200.00", "0.00", "8.00", "-10.00", "0", "198.00"],
        ["Total (2)", "", "300.00", "0.00", "16.00", "-15.00", "0", "301.00"],
    ]
    # The list of the latest dry runs links to it.
    assert url("settlementrun_dry_run", dry_run.pk) in client.get(url("settlementrun_preview")).content.decode()


def test_a_merchant_name_that_looks_like_a_formula_is_neutralised_in_the_csv(client, after_october):
    world = World(settle=False)
    type(world.a.merchant).objects.filter(pk=world.a.merchant.pk).update(shop_name="=HYPERLINK(1)")
    dry_run = services.dry_run_start(period="2026-10")
    dry_run_task(dry_run.pk)
    client.force_login(finance())
    text = b"".join(client.get(url("settlementrun_dry_run_csv", dry_run.pk)).streaming_content).decode()
    name = DryRunRow.objects.get(merchant_id=world.a.merchant.pk).merchant
    assert name.startswith("=")
    assert f"'{name}" in text and f",{name}" not in text


def test_dry_run_pages_by_identity(client, after_october):
    world = World(settle=False)
    dry_run = services.dry_run_start(period="2026-10")
    dry_run_task(dry_run.pk)
    pages = [
        url("settlementrun_preview"),
        url("settlementrun_dry_run", dry_run.pk),
        url("settlementrun_dry_run_status", dry_run.pk),
        url("settlementrun_dry_run_csv", dry_run.pk),
    ]
    superuser = UserFactory(is_staff=True, is_superuser=True)
    for user, expected in (
        (finance(), 200),
        (superuser, 200),
        (staff(groups=[OPERATIONS]), 403),
        (staff(groups=[REVIEWER]), 403),
        (staff(), 403),
    ):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == expected, (user, page)
        assert client.post(url("settlementrun_preview"), {"period": "2026-10"}).status_code == (
            302 if expected == 200 else 403
        )
    for user in (UserFactory(), world.a.merchant.owner, finance_member(world.a), None):
        client.logout()
        if user is not None:
            client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), page
        assert client.post(url("settlementrun_preview"), {"period": "2026-10"}).status_code == 302
    # Two finance users started it again after it completed; nobody else did.
    assert DryRun.objects.count() == 2
    assert Group.objects.filter(name=FINANCE).exists()


def test_an_unknown_dry_run_is_404(client):
    client.force_login(finance())
    for name in ("dry_run", "dry_run_status", "dry_run_csv"):
        assert client.get(url(f"settlementrun_{name}", 999999)).status_code == 404
    # A non-numeric id matches none of the dry run's routes (`<int:…>`): the admin's catch-all
    # takes it for a run's id, which does not exist.
    assert resolve("/admin/settlements/settlementrun/preview/abc/status/").kwargs == {"object_id": "preview/abc/status"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_dry_run_queued_on_commit(settings):
    settings.SETTLEMENT_DRY_RUN_BATCH_SIZE = 1
    app.conf.task_always_eager = False
    World(settle=False)
    before = settlement_tables()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with mock.patch("django.utils.timezone.now", return_value=AFTER_OCTOBER):
            dry_run = services.dry_run_start(period="2026-10")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dry_run.refresh_from_db()
            if dry_run.state in ("completed", "failed"):
                break
            time.sleep(0.2)
    assert (dry_run.state, dry_run.merchants_done, dry_run.merchants_total) == ("completed", 2, 2)
    assert dry_run.totals["payable"] == "301.00"
    assert sorted(DryRunRow.objects.values_list("payable", flat=True)) == [Decimal("103.00"), Decimal("198.00")]
    assert settlement_tables() == before
