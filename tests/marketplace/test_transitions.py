"""marketplace.transitions: the one way a state moves (lock, check the table, one UPDATE,
event row, side effects after commit). Exercised on the kernel's own `JobFailure`, whose
`code` stands in for a state, so the kernel is tested without any domain app."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.audit import audit_record
from marketplace.errors import InvalidTransition
from marketplace.models import AuditLogEntry, JobFailure
from marketplace.transitions import Transitions, transition


class WidgetInvalidTransition(InvalidTransition):
    pass


TABLE = Transitions(
    {
        "start": ({"new"}, "running"),
        "finish": ({"running"}, "done"),
        "abandon": ({"new", "running"}, "abandoned"),
    },
    field="code",
    error=WidgetInvalidTransition,
    refusal="Not while it is “%(status)s”.",
    refusals={"finish": "Only a running one can finish."},
)


def _row(code="new") -> JobFailure:
    now = timezone.now()
    return JobFailure.objects.create(
        job="test.transitions",
        object_type="x",
        object_id=str(JobFailure.objects.count() + 1),
        code=code,
        first_seen=now,
        last_seen=now,
    )


def _record(row, previous):
    audit_record(action=f"test.{previous}->{row.code}", obj=row)


def test_the_table_answers_which_states_allow_an_action():
    assert TABLE["abandon"] == (frozenset({"new", "running"}), "abandoned")
    assert TABLE.sources("finish") == frozenset({"running"})
    assert TABLE.target("start") == "running"
    assert (TABLE.allows("start", "new"), TABLE.allows("start", "running")) == (True, False)
    allowed = TABLE.predicate("finish")
    assert (allowed(JobFailure(code="running")), allowed(JobFailure(code="new"))) == (True, False)
    assert TABLE.can("abandon", JobFailure(code="running")) is True
    assert sorted(TABLE) == ["abandon", "finish", "start"] and "start" in TABLE


@pytest.mark.django_db
def test_an_allowed_transition_writes_state_changes_and_event_in_one_update():
    row = _row()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        moved = transition(row, "start", table=TABLE, changes={"message": "started", "count": 2}, record=_record)
    assert (moved.code, moved.message, moved.count) == ("running", "started", 2)
    row.refresh_from_db()
    assert (row.code, row.message, row.count) == ("running", "started", 2)
    assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["test.new->running"]
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(s.startswith('UPDATE "marketplace_jobfailure"') for s in sql) == 1
    assert "FOR UPDATE" in sql[0]


@pytest.mark.django_db
def test_a_refused_transition_raises_the_tables_error_and_changes_nothing():
    row = _row(code="done")
    with transaction.atomic():
        with pytest.raises(WidgetInvalidTransition) as info:
            transition(row, "start", table=TABLE, changes={"message": "x"}, record=_record)
        effects: list[str] = []
        with pytest.raises(WidgetInvalidTransition) as other:
            transition(row, "finish", table=TABLE, on_commit=[lambda: effects.append("ran")])
    assert (info.value.status_code, info.value.code) == (409, "invalid_transition")
    assert str(info.value.message) == "Not while it is “done”."
    assert info.value.extra == {"status": "done", "action": "start"}
    assert str(other.value.message) == "Only a running one can finish."
    row.refresh_from_db()
    assert (row.code, row.message, AuditLogEntry.objects.count(), effects) == ("done", "", 0, [])


def test_the_refusal_can_leave_the_action_out_of_extra():
    table = Transitions({"start": ({"new"}, "running")}, field="code", extra_action=False)
    error = table.refuse(JobFailure(code="done"), "start")
    assert (error.code, error.extra) == ("invalid_transition", {"status": "done"})


@pytest.mark.django_db
def test_the_state_is_read_under_the_lock_not_from_the_stale_object():
    row = _row()
    JobFailure.objects.filter(pk=row.pk).update(code="done")  # changed since `row` was read
    with transaction.atomic(), pytest.raises(WidgetInvalidTransition):
        transition(row, "start", table=TABLE)
    assert JobFailure.objects.get(pk=row.pk).code == "done"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses_to_run():
    row = _row()
    with pytest.raises(TransactionManagementError):
        transition(row, "start", table=TABLE)
    assert JobFailure.objects.get(pk=row.pk).code == "new"


@pytest.mark.django_db
def test_side_effects_run_after_commit_and_never_after_a_rollback(django_capture_on_commit_callbacks):
    effects: list[str] = []
    committed = _row()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        transition(committed, "start", table=TABLE, on_commit=[lambda: effects.append("started")])
        assert effects == []  # not before commit
    assert (len(callbacks), effects) == (1, ["started"])

    rolled_back = _row()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        transition(rolled_back, "start", table=TABLE, on_commit=[lambda: effects.append("rolled back")])
        raise RuntimeError("the rest of the use case failed")
    assert (len(callbacks), effects) == (0, ["started"])
    assert JobFailure.objects.get(pk=rolled_back.pk).code == "new"


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_of_one_row_serialise():
    row = _row()
    # Each thread holds its own copy read before either moved it (both say "new").
    stale_first, stale_second = JobFailure.objects.get(pk=row.pk), JobFailure.objects.get(pk=row.pk)
    results: dict[str, str] = {}
    first_locked = threading.Event()

    def first():
        try:
            with transaction.atomic():
                transition(stale_first, "start", table=TABLE)
                first_locked.set()
                time.sleep(0.5)  # the second transition must wait for this commit
            results["first"] = "moved"
        finally:
            connection.close()

    def second():
        try:
            first_locked.wait(5)
            with transaction.atomic():
                transition(stale_second, "abandon", table=TABLE)
            results["second"] = "moved"
        except WidgetInvalidTransition:
            results["second"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # The second waited for the lock and then saw "running": abandon is allowed from there,
    # so it moved from the committed state, not from the stale "new" it was given.
    assert results == {"first": "moved", "second": "moved"}
    assert JobFailure.objects.get(pk=row.pk).code == "abandoned"

    again = _row()
    stale_first, stale_second = JobFailure.objects.get(pk=again.pk), JobFailure.objects.get(pk=again.pk)
    results.clear()
    first_locked.clear()

    def finisher():
        try:
            first_locked.wait(5)
            with transaction.atomic():
                transition(stale_second, "start", table=TABLE)  # its copy still says "new"
            results["second"] = "moved"
        except WidgetInvalidTransition:
            results["second"] = "refused"
        finally:
            connection.close()

    def starter():
        try:
            with transaction.atomic():
                transition(stale_first, "start", table=TABLE)
                first_locked.set()
                time.sleep(0.5)
            results["first"] = "moved"
        finally:
            connection.close()

    threads = [threading.Thread(target=starter), threading.Thread(target=finisher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"first": "moved", "second": "refused"}
    assert JobFailure.objects.get(pk=again.pk).code == "running"
