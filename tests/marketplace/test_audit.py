import hashlib
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from marketplace.audit import GENESIS_HASH, audit_chain_check, audit_chain_verify, audit_record, compute_hash
from marketplace.models import AppendOnlyError, AuditLogEntry, AuditStreamHead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _three_entries(actor=None):
    actor = actor or UserFactory()
    return [
        audit_record(action="merchant.submitted", actor=actor, obj=actor, data={"n": 1}),
        audit_record(
            action="merchant.approved", actor=actor, obj=actor, reason="documents fine", data={"tier": "core"}
        ),
        audit_record(action="merchant.live", actor=None, obj=actor, data={"amount": "50000.00"}),
    ]


def _tamper(sql, params=()):
    with connection.cursor() as cursor:  # tampering bypasses the model, as an attacker would
        cursor.execute(sql, params)


def _digest(*heads):
    return hashlib.sha256("".join(f"{s}\t{n}\t{h}\n" for s, n, h in heads).encode()).hexdigest()


def test_entries_about_one_record_are_chained_by_sha256_in_its_stream():
    actor = UserFactory()
    first, second, third = _three_entries(actor)
    stream = f"marketplace.user:{actor.pk}"
    assert [(e.stream, e.stream_seq) for e in (first, second, third)] == [(stream, 1), (stream, 2), (stream, 3)]
    assert first.seq < second.seq < third.seq
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    stored = AuditLogEntry.objects.get(pk=second.pk)
    assert (stored.seq, stored.stream, stored.stream_seq, stored.hash) == (second.seq, stream, 2, second.hash)
    assert compute_hash(stored.prev_hash, stored) == stored.hash
    assert stored.object_type == "marketplace.user"
    assert stored.reason == "documents fine"
    assert list(AuditStreamHead.objects.values_list("stream", "seq", "hash")) == [(stream, 3, third.hash)]
    assert audit_chain_verify() is None


def test_each_record_and_each_action_without_a_record_has_its_own_stream():
    alice, bob = UserFactory(), UserFactory()
    a1 = audit_record(action="user.note", obj=alice)
    b1 = audit_record(action="user.note", obj=bob)
    s1 = audit_record(action="test.event")
    a2 = audit_record(action="user.note", obj=alice)
    s2 = audit_record(action="test.event")
    other = audit_record(action="test.other")
    assert [(e.stream, e.stream_seq, e.prev_hash) for e in (a1, b1, s1, a2, s2, other)] == [
        (f"marketplace.user:{alice.pk}", 1, GENESIS_HASH),
        (f"marketplace.user:{bob.pk}", 1, GENESIS_HASH),
        ("action:test.event", 1, GENESIS_HASH),
        (f"marketplace.user:{alice.pk}", 2, a1.hash),
        ("action:test.event", 2, s1.hash),
        ("action:test.other", 1, GENESIS_HASH),
    ]
    report = audit_chain_check()
    assert (report.problem, report.entries, report.streams) == (None, 6, 4)
    heads = sorted(
        [
            (f"marketplace.user:{alice.pk}", 2, a2.hash),
            (f"marketplace.user:{bob.pk}", 1, b1.hash),
            ("action:test.event", 2, s2.hash),
            ("action:test.other", 1, other.hash),
        ]
    )
    assert report.heads_digest == _digest(*heads)


def test_one_append_is_one_statement_without_a_savepoint_and_its_hash_is_canonical():
    actor = UserFactory()
    audit_record(action="user.note", obj=actor)  # the stream exists: the common case
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        second = audit_record(action="user.note", obj=actor, reason='说明 "quoted"', data={"n": Decimal("1.50")})
        new = audit_record(action="user.note", obj=UserFactory.build(pk=10**9))  # a new stream: still one
    assert len(queries) == 2
    assert not any("SAVEPOINT" in q["sql"] for q in queries)
    # The hash PostgreSQL computed is the one Python computes over the stored entry.
    stored = AuditLogEntry.objects.get(pk=second.pk)
    first = AuditLogEntry.objects.get(stream=stored.stream, stream_seq=1)
    assert (stored.stream_seq, stored.prev_hash, stored.hash) == (2, first.hash, compute_hash(first.hash, stored))
    assert (second.seq, second.stream_seq, second.prev_hash, second.hash) == (
        stored.seq,
        2,
        first.hash,
        stored.hash,
    )
    stored_new = AuditLogEntry.objects.get(pk=new.pk)
    assert (stored_new.stream_seq, stored_new.prev_hash) == (1, GENESIS_HASH)
    assert stored_new.hash == compute_hash(GENESIS_HASH, stored_new)
    assert AuditStreamHead.objects.get(stream=stored.stream).hash == stored.hash
    assert audit_chain_verify() is None


def test_verifying_walks_the_streams_in_batches():
    users = UserFactory.create_batch(3)
    for user in users:
        _three_entries(user)
    for batch_size in (1, 2, 4, 5000):
        report = audit_chain_check(batch_size=batch_size)
        assert (report.problem, report.entries, report.streams) == (None, 9, 3)
    # A problem past the first batch is still found.
    _tamper(
        "UPDATE marketplace_auditlogentry SET reason = 'x' WHERE stream = %s AND stream_seq = 3",
        [f"marketplace.user:{users[2].pk}"],
    )
    problem = audit_chain_verify(batch_size=2)
    assert (problem.stream, problem.stream_seq) == (f"marketplace.user:{users[2].pk}", 3)


def test_verify_command_says_ok(capsys):
    actor = UserFactory()
    *_, third = _three_entries(actor)
    call_command("verify_audit_chain")
    digest = _digest((f"marketplace.user:{actor.pk}", 3, third.hash))
    assert capsys.readouterr().out.strip() == f"ok (3 entries in 1 streams, heads digest {digest})"


def test_an_edited_entry_is_reported(capsys):
    _, second, _ = _three_entries()
    _tamper("UPDATE marketplace_auditlogentry SET reason = 'nothing to see' WHERE id = %s", [second.pk])
    problem = audit_chain_verify()
    assert (problem.stream, problem.stream_seq, problem.entry_id, problem.problem) == (
        second.stream,
        2,
        second.pk,
        "content does not match its hash: the entry was edited",
    )
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain")
    assert exit_info.value.code == 1
    assert f"stream {second.stream}, entry #2 (id {second.pk})" in capsys.readouterr().err


def test_an_entry_moved_to_another_stream_is_reported():
    _, second, _ = _three_entries()
    _tamper("UPDATE marketplace_auditlogentry SET stream = 'action:x', stream_seq = 1 WHERE id = %s", [second.pk])
    problem = audit_chain_verify()  # "action:x" sorts first: its only entry does not start a chain
    assert (problem.stream, problem.stream_seq, problem.entry_id, problem.problem) == (
        "action:x",
        1,
        second.pk,
        "previous-hash link broken: an earlier entry was changed or deleted",
    )


def test_a_deleted_entry_is_reported():
    _, second, third = _three_entries()
    _tamper("DELETE FROM marketplace_auditlogentry WHERE id = %s", [second.pk])
    problem = audit_chain_verify()
    assert (problem.stream_seq, problem.entry_id) == (3, third.pk)
    assert problem.problem == "sequence gap: expected #2, an entry was deleted"


def test_a_relinked_chain_is_reported():
    """Deleting an entry and renumbering the rest still breaks the previous-hash link."""
    _, second, third = _three_entries()
    _tamper("DELETE FROM marketplace_auditlogentry WHERE id = %s", [second.pk])
    _tamper("UPDATE marketplace_auditlogentry SET stream_seq = 2 WHERE id = %s", [third.pk])
    problem = audit_chain_verify()
    assert (problem.stream_seq, problem.entry_id, problem.problem) == (
        2,
        third.pk,
        "previous-hash link broken: an earlier entry was changed or deleted",
    )


def test_a_stream_cut_short_is_reported():
    """The newest entry leaves no gap behind it: the stream's head still names it."""
    *_, third = _three_entries()
    _tamper("DELETE FROM marketplace_auditlogentry WHERE id = %s", [third.pk])
    problem = audit_chain_verify()
    assert (problem.stream, problem.stream_seq, problem.entry_id, problem.problem) == (
        third.stream,
        3,
        None,
        "the stream's newest entry is missing: the stream was cut",
    )


def test_a_changed_head_is_reported():
    _three_entries()
    _tamper("UPDATE marketplace_auditstreamhead SET hash = %s", [GENESIS_HASH])
    assert audit_chain_verify().problem == "the stream's head does not match its newest entry"
    _tamper("DELETE FROM marketplace_auditstreamhead")
    problem = audit_chain_verify()
    assert (problem.stream_seq, problem.problem) == (1, "the entry is past its stream's head: the head was changed")


def test_a_stream_cut_with_its_head_rewound_changes_the_heads_digest():
    """What no hash chain can show by itself is visible against the digest recorded before."""
    _, second, third = _three_entries()
    before = audit_chain_check().heads_digest
    _tamper("DELETE FROM marketplace_auditlogentry WHERE id = %s", [third.pk])
    _tamper("UPDATE marketplace_auditstreamhead SET seq = 2, hash = %s", [second.hash])
    report = audit_chain_check()
    assert report.problem is None
    assert report.heads_digest != before


def test_the_log_is_append_only_through_the_orm():
    first, *_ = _three_entries()
    first.reason = "changed"
    with pytest.raises(AppendOnlyError):
        first.save()
    with pytest.raises(AppendOnlyError):
        first.delete()
    with pytest.raises(AppendOnlyError):
        AuditLogEntry.objects.filter(pk=first.pk).update(reason="changed")
    with pytest.raises(AppendOnlyError):
        AuditLogEntry.objects.all().delete()
    assert AuditLogEntry.objects.get(pk=first.pk).reason == ""
    assert AuditLogEntry.objects.count() == 3


def test_an_entry_rolls_back_with_the_callers_transaction():
    actor = UserFactory()
    kept = audit_record(action="user.note", obj=actor)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="user.note", obj=actor)
        audit_record(action="user.note", obj=UserFactory())
        raise RuntimeError
    assert list(AuditLogEntry.objects.values_list("id", flat=True)) == [kept.id]
    assert list(AuditStreamHead.objects.values_list("stream", "seq", "hash")) == [(kept.stream, 1, kept.hash)]
    assert audit_record(action="user.note", obj=actor).prev_hash == kept.hash
