"""Migrations that convert stored rows, run on a database holding such rows."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from marketplace.audit import GENESIS_HASH, audit_chain_check, audit_record
from marketplace.models import AuditLogEntry, AuditStreamHead
from tests.factories import UserFactory

SINGLE_CHAIN = [("marketplace", "0003_job_failure")]
STREAMS = [("marketplace", "0004_audit_streams")]
streams_migration = importlib.import_module("marketplace.migrations.0004_audit_streams")


def _latest():
    """The newest marketplace migration: the service (`audit_record`) writes today's columns."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes("marketplace")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _single_chain_is_intact(apps):
    """The verification of the single global chain, as it was before the streams."""
    prev_hash = GENESIS_HASH
    entries = apps.get_model("marketplace", "AuditLogEntry").objects.order_by("seq")
    for expected_seq, entry in enumerate(entries, start=1):
        if (entry.seq, entry.prev_hash) != (expected_seq, prev_hash):
            return False
        if streams_migration.global_hash(entry.prev_hash, entry) != entry.hash:
            return False
        prev_hash = entry.hash
    return True


@pytest.mark.django_db(transaction=True)
def test_an_intact_single_chain_verifies_after_becoming_streams_and_back():
    alice, bob = UserFactory(), UserFactory()
    try:
        apps = _migrate(SINGLE_CHAIN)
        entry_model = apps.get_model("marketplace", "AuditLogEntry")
        prev_hash = GENESIS_HASH
        written = [
            ("user.note", alice, "", {"n": 1}),
            ("test.event", None, "", {}),
            ("user.note", bob, "why", {"amount": "1.50"}),
            ("user.note", alice, "", {"n": 2}),
            ("test.event", None, "again", {"n": 3}),
        ]
        for seq, (action, obj, reason, data) in enumerate(written, start=1):
            entry = entry_model(
                seq=seq,
                created_at="2026-12-01T10:00:00.123456+00:00",
                actor_id=alice.pk,
                action=action,
                object_type="marketplace.user" if obj else "",
                object_id=str(obj.pk) if obj else "",
                reason=reason,
                data=data,
                prev_hash=prev_hash,
            )
            entry.save()
            entry.refresh_from_db()  # created_at as a datetime, as the old service hashed it
            entry.hash = prev_hash = streams_migration.global_hash(prev_hash, entry)
            entry.save()
        assert _single_chain_is_intact(apps)

        _migrate(STREAMS)
        report = audit_chain_check(batch_size=2)
        assert (report.problem, report.entries, report.streams) == (None, 5, 3)
        alice_stream, bob_stream = f"marketplace.user:{alice.pk}", f"marketplace.user:{bob.pk}"
        assert list(AuditLogEntry.objects.order_by("seq").values_list("seq", "stream", "stream_seq")) == [
            (1, alice_stream, 1),
            (2, "action:test.event", 1),
            (3, bob_stream, 1),
            (4, alice_stream, 2),
            (5, "action:test.event", 2),
        ]
        assert dict(AuditStreamHead.objects.values_list("stream", "seq")) == {
            alice_stream: 2,
            bob_stream: 1,
            "action:test.event": 2,
        }
        # New entries continue the streams and the global order.
        _migrate(_latest())
        appended = audit_record(action="user.note", obj=alice)
        assert (appended.seq, appended.stream_seq) == (6, 3)
        assert appended.prev_hash == AuditLogEntry.objects.get(seq=4).hash
        assert audit_chain_check().problem is None

        apps = _migrate(SINGLE_CHAIN)
        assert apps.get_model("marketplace", "AuditLogEntry").objects.count() == 6
        assert _single_chain_is_intact(apps)
    finally:
        _migrate(_latest())
