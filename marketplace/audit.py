"""The audit log service: records actions in a SHA-256 hash chain and verifies it.

Guarantees: entries get consecutive sequence numbers with no gaps; each entry's hash covers
the previous entry's hash and its own canonical content, so an edit, a deletion or a
reordering is detected by `audit_chain_verify`. Appends are serialised by a transaction-level
advisory lock, so concurrent writers cannot fork the chain. The entry is written in the caller's transaction: if the caller rolls back,
so does the entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditLogEntry

GENESIS_HASH = "0" * 64
# Any constant works; it only has to differ from other advisory locks of the project.
_ADVISORY_LOCK_KEY = 0x4D50_4155_4449_54  # "MPAUDIT"


def _normalise(data) -> dict:
    """JSON-safe copy (Decimals and dates as strings), equal to what the JSONField returns."""
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def canonical_content(entry: AuditLogEntry) -> str:
    """The exact bytes (as text) that an entry's hash covers."""
    payload = {
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "reason": entry.reason,
        "data": entry.data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(prev_hash: str, entry: AuditLogEntry) -> str:
    return hashlib.sha256((prev_hash + canonical_content(entry)).encode("utf-8")).hexdigest()


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def audit_record(*, action: str, actor=None, obj=None, reason: str = "", data: dict | None = None) -> AuditLogEntry:
    """Append one entry to the audit chain, inside the caller's transaction.

    `actor` is the user who acted (None for the system), `obj` the record acted on.
    Takes the audit advisory lock until the surrounding transaction ends.
    """
    object_type, object_id = _object_ref(obj)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
        last = AuditLogEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = AuditLogEntry(
            seq=(last.seq + 1) if last else 1,
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason or "",
            data=_normalise(data),
            prev_hash=last.hash if last else GENESIS_HASH,
        )
        entry.hash = compute_hash(entry.prev_hash, entry)
        entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: int
    problem: str

    def __str__(self):
        return f"entry #{self.seq} (id {self.entry_id}): {self.problem}"


def audit_chain_verify(batch_size: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first problem found, or None when intact.

    Detects an edited entry (its hash no longer matches its content), a deleted entry (a
    gap in the sequence, and the next entry's `prev_hash` no longer matches) and a
    re-linked chain. Deleting the newest entries leaves no trace by design of any hash
    chain; the nightly task records the head so such a truncation is visible in the log.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for entry in AuditLogEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return ChainProblem(entry.seq, entry.id, f"sequence gap: expected #{expected_seq}, an entry was deleted")
        if entry.prev_hash != expected_prev:
            return ChainProblem(
                entry.seq, entry.id, "previous-hash link broken: an earlier entry was changed or deleted"
            )
        if compute_hash(entry.prev_hash, entry) != entry.hash:
            return ChainProblem(entry.seq, entry.id, "content does not match its hash: the entry was edited")
        expected_prev = entry.hash
        expected_seq += 1
    return None
