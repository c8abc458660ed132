import pytest
from django.core.management import call_command
from django.db import connection

from marketplace.audit import GENESIS_HASH, audit_chain_verify, audit_record, compute_hash
from marketplace.models import AppendOnlyError, AuditLogEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _three_entries():
    actor = UserFactory()
    return [
        audit_record(action="merchant.submitted", actor=actor, obj=actor, data={"n": 1}),
        audit_record(
            action="merchant.approved", actor=actor, obj=actor, reason="documents fine", data={"tier": "core"}
        ),
        audit_record(action="merchant.live", actor=None, obj=actor, data={"amount": "50000.00"}),
    ]


def test_entries_are_chained_by_sha256():
    first, second, third = _three_entries()
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    stored = AuditLogEntry.objects.get(seq=2)
    assert compute_hash(stored.prev_hash, stored) == stored.hash
    assert stored.object_type == "marketplace.user"
    assert stored.reason == "documents fine"
    assert audit_chain_verify() is None


def test_verify_command_says_ok(capsys):
    _three_entries()
    call_command("verify_audit_chain")
    assert capsys.readouterr().out.strip() == "ok (3 entries)"


def test_an_edited_entry_is_reported(capsys):
    _three_entries()
    with connection.cursor() as cursor:  # tampering bypasses the model, as an attacker would
        cursor.execute("UPDATE marketplace_auditlogentry SET reason = 'nothing to see' WHERE seq = 2")
    problem = audit_chain_verify()
    assert (problem.seq, problem.problem) == (2, "content does not match its hash: the entry was edited")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain")
    assert exit_info.value.code == 1
    assert "entry #2" in capsys.readouterr().err


def test_a_deleted_entry_is_reported():
    _three_entries()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM marketplace_auditlogentry WHERE seq = 2")
    problem = audit_chain_verify()
    assert problem.seq == 3
    assert problem.problem.startswith("sequence gap")


def test_a_relinked_chain_is_reported():
    """Deleting an entry and renumbering the rest still breaks the previous-hash link."""
    _three_entries()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM marketplace_auditlogentry WHERE seq = 2")
        cursor.execute("UPDATE marketplace_auditlogentry SET seq = 2 WHERE seq = 3")
    problem = audit_chain_verify()
    assert (problem.seq, problem.problem) == (
        2,
        "previous-hash link broken: an earlier entry was changed or deleted",
    )


def test_the_log_is_append_only_through_the_orm():
    first, *_ = _three_entries()
    first.reason = "changed"
    with pytest.raises(AppendOnlyError):
        first.save()
    with pytest.raises(AppendOnlyError):
        first.delete()
    with pytest.raises(AppendOnlyError):
        AuditLogEntry.objects.filter(seq=1).update(reason="changed")
    with pytest.raises(AppendOnlyError):
        AuditLogEntry.objects.all().delete()
    assert AuditLogEntry.objects.get(seq=1).reason == ""
    assert AuditLogEntry.objects.count() == 3
