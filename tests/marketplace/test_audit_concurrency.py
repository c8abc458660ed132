"""The audit log has no platform-wide lock: writers about different records never wait for
each other, writers about one record serialise. Real transactions on separate connections."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from marketplace.audit import GENESIS_HASH, audit_chain_check, audit_record
from marketplace.models import AuditLogEntry, AuditStreamHead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_open_after_recording(obj, recorded: threading.Event, release: threading.Event, out: dict):
    """In a thread: record about `obj`, then keep the transaction (and its locks) open."""
    try:
        with transaction.atomic():
            out["held"] = audit_record(action="user.note", obj=obj)
            recorded.set()
            release.wait(10)
    finally:
        connection.close()


def _record_with_lock_timeout(obj, milliseconds=300):
    """Record about `obj`, refusing to wait more than `milliseconds` for any lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(milliseconds)}")
        return audit_record(action="user.note", obj=obj)


def test_two_unrelated_writes_do_not_wait_for_each_other():
    alice, bob = UserFactory(), UserFactory()
    recorded, release, out = threading.Event(), threading.Event(), {}
    holder = threading.Thread(target=_hold_open_after_recording, args=(alice, recorded, release, out))
    holder.start()
    try:
        assert recorded.wait(10)
        # The first transaction is still open: a write about another record goes through.
        entry = _record_with_lock_timeout(bob)
        assert (entry.stream, entry.stream_seq, entry.prev_hash) == (f"marketplace.user:{bob.pk}", 1, GENESIS_HASH)
    finally:
        release.set()
        holder.join(10)
    assert AuditLogEntry.objects.count() == 2
    assert audit_chain_check().problem is None


def test_two_writes_about_one_record_serialise_and_link():
    alice = UserFactory()
    recorded, release, out = threading.Event(), threading.Event(), {}
    holder = threading.Thread(target=_hold_open_after_recording, args=(alice, recorded, release, out))
    holder.start()
    try:
        assert recorded.wait(10)
        with pytest.raises(OperationalError) as waited:
            _record_with_lock_timeout(alice)  # the same stream: it must wait for the first
        assert waited.value.__cause__.sqlstate == "55P03"  # lock_not_available
        assert AuditLogEntry.objects.count() == 0  # the first is not committed, the second rolled back
    finally:
        release.set()
        holder.join(10)
    second = _record_with_lock_timeout(alice)
    assert (second.stream_seq, second.prev_hash) == (2, out["held"].hash)
    assert second.seq > out["held"].seq
    assert list(AuditStreamHead.objects.values_list("seq", "hash")) == [(2, second.hash)]
    assert audit_chain_check().problem is None


def test_many_concurrent_writers_to_shared_and_own_streams_keep_every_chain_intact():
    shared, *own = UserFactory.create_batch(9)  # eight writers, each with its own record too
    start = threading.Barrier(8)
    errors = []

    def writer(user):
        try:
            start.wait(10)
            for n in range(5):
                with transaction.atomic():
                    audit_record(action="user.note", obj=shared, data={"n": n})
                    audit_record(action="user.note", obj=user, data={"n": n})
                audit_record(action="test.event", data={"n": n})  # one stream for all, in autocommit
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(user,)) for user in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    report = audit_chain_check(batch_size=7)
    assert (report.problem, report.entries, report.streams) == (None, 8 * 5 * 3, 1 + 8 + 1)
    assert dict(AuditStreamHead.objects.values_list("stream", "seq")) == {
        f"marketplace.user:{shared.pk}": 40,
        "action:test.event": 40,
        **{f"marketplace.user:{user.pk}": 5 for user in own},
    }
