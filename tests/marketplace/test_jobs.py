"""marketplace.jobs.run_each: each item in its own transaction, failures recorded and the
loop goes on."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from marketplace.errors import DomainError
from marketplace.jobs import job_failure_record, run_each
from marketplace.models import JobFailure, User

pytestmark = pytest.mark.django_db


def _handle(pk):
    User.objects.create_user(email=f"partial{pk}@example.com")
    if pk == 2:
        User.objects.create_user(email="taken@example.com")  # unique email: the database refuses
    if pk == 3:
        raise DomainError("not_today", "Not today.")
    return pk != 4


def test_a_failing_item_is_rolled_back_recorded_and_the_loop_goes_on():
    User.objects.create_user(email="taken@example.com")
    run = run_each(job="test.job", object_type="marketplace.user", ids=[1, 2, 3, 4, 5], handle=_handle)
    assert (run.done, run.skipped, run.failed) == (2, 1, 2)
    assert sorted(User.objects.filter(email__startswith="partial").values_list("email", flat=True)) == [
        "partial1@example.com",
        "partial4@example.com",
        "partial5@example.com",
    ]
    rows = list(JobFailure.objects.order_by("object_id").values_list("job", "object_id", "code", "count"))
    assert rows == [("test.job", "2", "marketplace_user_email_key", 1), ("test.job", "3", "not_today", 1)]
    assert JobFailure.objects.get(object_id="3").message == "Not today."


def test_the_same_failure_is_counted_on_one_row_and_resolved_by_a_success():
    first = job_failure_record(job="test.job", object_type="x", object_id=7, exc=DomainError("a", "A"))
    job_failure_record(job="test.job", object_type="x", object_id=7, exc=DomainError("b", "B"))
    first.refresh_from_db()
    assert (JobFailure.objects.count(), first.count, first.code, first.message) == (1, 2, "b", "B")
    run = run_each(job="test.job", object_type="x", ids=[7], handle=lambda pk: True)
    assert run.done == 1
    first.refresh_from_db()
    assert first.resolved_at is not None
    # Failing again reopens the row.
    job_failure_record(job="test.job", object_type="x", object_id=7, exc=DomainError("a", "A"))
    first.refresh_from_db()
    assert (first.count, first.resolved_at) == (3, None)


def test_a_soft_time_limit_stops_the_job():
    def handle(pk):
        raise SoftTimeLimitExceeded()

    with pytest.raises(SoftTimeLimitExceeded):
        run_each(job="test.job", object_type="x", ids=[1, 2], handle=handle)
    assert JobFailure.objects.count() == 0


def test_staff_see_failures_read_only_in_the_admin(admin_client):
    job_failure_record(job="test.job", object_type="x", object_id=1, exc=DomainError("a", "Broken"))
    listing = admin_client.get("/admin/marketplace/jobfailure/?state=open")
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset.values_list("code", flat=True)) == ["a"]
    failure = JobFailure.objects.get()
    assert admin_client.get(f"/admin/marketplace/jobfailure/{failure.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/marketplace/jobfailure/{failure.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/marketplace/jobfailure/add/").status_code == 403


@pytest.mark.django_db
def test_enqueue_on_commit_sends_the_named_task_only_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    from celery import current_app

    from marketplace.jobs import _registered_task, enqueue_on_commit

    task = _registered_task("marketplace.tasks.audit_chain_verify_task")
    assert task is current_app.tasks["marketplace.tasks.audit_chain_verify_task"]
    sent = []
    monkeypatch.setattr(task, "delay", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit("marketplace.tasks.audit_chain_verify_task", 7, flag=True)
    assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [((7,), {"flag": True})]


@pytest.mark.django_db
def test_enqueue_on_commit_of_an_unknown_task_fails_when_the_transaction_commits(django_capture_on_commit_callbacks):
    from marketplace.jobs import enqueue_on_commit

    with pytest.raises(KeyError), django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit("marketplace.tasks.no_such_task")
