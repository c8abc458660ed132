"""The audit log service: records actions in SHA-256 hash chains, one per stream, and verifies them.

Guarantees:
- Every entry belongs to one stream: the record it is about (`object_type:object_id`), or
  `action:<action>` for an entry about no record. Within a stream, entries are numbered
  1, 2, 3… with no gaps (`stream_seq`), and each entry's hash covers the previous entry's hash
  in its stream and its own canonical content (its global `seq` and stream position
  included). So an edit, a deletion or a re-linking is detected by `audit_chain_verify`,
  and so is cutting the newest entries off a stream: `AuditStreamHead` names each stream's
  newest entry, and the nightly check logs a digest of all heads.
- There is no platform-wide lock: an append locks only its stream's head row until the
  surrounding transaction ends, so two writes about different records never wait for each
  other, while two writes about the same record serialise and cannot fork its chain (the
  unique (stream, stream_seq) constraint is the second line of defence).
- `seq` (from a sequence, increasing, with gaps from rolled-back transactions) orders all
  entries for reading; a stream's entries have increasing `seq` too.
- The entry is written in the caller's transaction: if the caller rolls back, so does the
  entry, and the head row.
- One append costs one statement: an upsert locks and moves the stream head (creating the
  head of a new stream) with the entry's hash computed in PostgreSQL, and inserts the entry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from .models import AuditLogEntry, AuditStreamHead

GENESIS_HASH = "0" * 64
SEQUENCE = "marketplace_audit_seq"

_ENTRIES = AuditLogEntry._meta.db_table
_HEADS = AuditStreamHead._meta.db_table

# One round trip per append: the upsert locks the stream's head row (creating it for a new
# stream) and moves it, computing the entry's hash in PostgreSQL (sha256 over the previous
# hash and the canonical content, whose text Python sends in three parts around the two
# numbers only the database knows: the entry's `seq`, from the sequence, and its position in
# the stream); the INSERT of the entry reads the moved head. ON CONFLICT DO UPDATE waits for
# a concurrent appender of the same stream and then works on the row as that one committed
# it, whatever this statement's snapshot (a lock taken by a SELECT would read a head older
# than the lock). SET's right-hand sides read the row as it was: `prev_hash = head.hash`
# keeps the hash the entry links to, which RETURNING (new values only) could not give.
_APPEND_SQL = f"""
WITH number AS (SELECT nextval('{SEQUENCE}') AS seq),
head AS (
    INSERT INTO {_HEADS} AS head (stream, seq, prev_hash, hash)
    SELECT %(stream)s::text, 1, %(genesis)s::text,
           encode(sha256(convert_to(%(genesis)s::text || %(before_seq)s::text || number.seq || %(before_stream_seq)s::text || 1
                                    || %(after)s::text, 'UTF8')), 'hex')
      FROM number
    ON CONFLICT (stream) DO UPDATE SET
        seq = head.seq + 1,
        prev_hash = head.hash,
        hash = encode(sha256(convert_to(head.hash || %(before_seq)s::text || (SELECT seq FROM number)
                                        || %(before_stream_seq)s::text || (head.seq + 1) || %(after)s::text, 'UTF8')), 'hex')
    RETURNING head.seq, head.prev_hash, head.hash
)
INSERT INTO {_ENTRIES}
    (seq, stream, stream_seq, created_at, actor_id, action, object_type, object_id, reason, data, prev_hash, hash)
SELECT number.seq, %(stream)s::text, head.seq, %(created_at)s::timestamptz, %(actor_id)s::bigint, %(action)s::text, %(object_type)s::text, %(object_id)s::text,
       %(reason)s::text, %(data)s::jsonb, head.prev_hash, head.hash
  FROM number, head
RETURNING id, seq, stream_seq, prev_hash, hash
"""


def _normalise(data) -> dict:
    """JSON-safe copy (Decimals and dates as strings), equal to what the JSONField returns."""
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def stream_of(*, object_type: str, object_id: str, action: str) -> str:
    """The stream an entry belongs to: the record it is about, else its action."""
    if object_type:
        return f"{object_type}:{object_id}"
    return f"action:{action}"


def canonical_content(entry: AuditLogEntry) -> str:
    """The exact bytes (as text) that an entry's hash covers."""
    payload = {
        "seq": entry.seq,
        "stream": entry.stream,
        "stream_seq": entry.stream_seq,
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


def _canonical_parts(entry: AuditLogEntry) -> tuple[str, str, str]:
    """`canonical_content` of `entry` cut around its `seq` and `stream_seq` (not known before
    the database gives them): (text before seq, between seq and stream_seq, after stream_seq).
    The numbers are written as JSON writes integers (their decimal digits), as PostgreSQL
    writes a bigint as text."""
    marks = (f"seq-{secrets.token_hex(16)}", f"stream-seq-{secrets.token_hex(16)}")
    entry.seq, entry.stream_seq = marks
    try:
        text = canonical_content(entry)
    finally:
        entry.seq = entry.stream_seq = None
    before_seq, rest = text.split(json.dumps(marks[0]))
    between, after = rest.split(json.dumps(marks[1]))
    return before_seq, between, after


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def audit_record(*, action: str, actor=None, obj=None, reason: str = "", data: dict | None = None) -> AuditLogEntry:
    """Append one entry to the stream of `obj` (or of `action` without one), inside the
    caller's transaction.

    `actor` is the user who acted (None for the system), `obj` the record acted on.
    Locks the stream's head row until the surrounding transaction ends: only writers about
    the same record wait for each other. One statement, no savepoint. A transaction that
    audits several records locks their streams in the order it records them; services lock
    the records themselves first (in pk order, the house rule), which keeps two such
    transactions from taking the stream locks in opposite orders.
    """
    object_type, object_id = _object_ref(obj)
    entry = AuditLogEntry(
        stream=stream_of(object_type=object_type, object_id=object_id, action=action),
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        reason=reason or "",
        data=_normalise(data),
    )
    before_seq, before_stream_seq, after = _canonical_parts(entry)
    # One statement, no savepoint: if it fails, the caller's transaction is unusable anyway.
    # The head stays locked from the upsert to the end of the caller's transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_SQL,
            {
                "stream": entry.stream,
                "genesis": GENESIS_HASH,
                "before_seq": before_seq,
                "before_stream_seq": before_stream_seq,
                "after": after,
                "created_at": entry.created_at,
                "actor_id": entry.actor_id,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "reason": entry.reason,
                "data": json.dumps(entry.data),
            },
        )
        entry.id, entry.seq, entry.stream_seq, entry.prev_hash, entry.hash = cursor.fetchone()
    # The database computed the hash: the same canonical content hashed here must agree, or the
    # entry would never verify (a change of `canonical_content` not matched in the SQL).
    if compute_hash(entry.prev_hash, entry) != entry.hash:
        raise RuntimeError(f"audit entry {entry.id}: the database's hash differs from canonical_content's")
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


@dataclass(frozen=True)
class ChainProblem:
    stream: str
    stream_seq: int
    entry_id: int | None
    problem: str

    def __str__(self):
        return f"stream {self.stream}, entry #{self.stream_seq} (id {self.entry_id}): {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """What `audit_chain_check` found: the first problem (None when intact), and what it walked."""

    problem: ChainProblem | None
    entries: int
    streams: int
    heads_digest: str  # SHA-256 over every stream's head, in stream order


def audit_chain_verify(batch_size: int = 5000) -> ChainProblem | None:
    """The first problem of any stream's chain, or None when all are intact (see `audit_chain_check`)."""
    return audit_chain_check(batch_size).problem


def audit_chain_check(batch_size: int = 5000) -> ChainReport:
    """Walk every stream's chain, then every stream's head; report the first problem found.

    Detects an edited entry (its hash no longer matches its content), a deleted entry (a gap
    in its stream's numbering, and the next entry's `prev_hash` no longer matches), a
    re-linked chain, and a stream cut short (its head names an entry that is gone, or its
    entries go past the head). Deleting a stream's newest entries and rewinding its head too
    leaves no trace in the database by design of any hash chain: the nightly task logs the
    digest of all heads, so such a truncation is visible outside it.

    Reads in batches of `batch_size` by the (stream, stream_seq) index, each batch its own
    query: memory stays flat however long the log, and no long-lived cursor is kept (safe
    behind PgBouncer). Concurrent appends cause no false alarm: an entry and its head are
    committed together, and every query sees both or neither.
    """
    problem, entries, streams = _check_entries(batch_size)
    if problem is not None:
        return ChainReport(problem, entries, streams, "")
    problem, heads_digest = _check_heads(batch_size)
    return ChainReport(problem, entries, streams, heads_digest)


def _check_entries(batch_size: int) -> tuple[ChainProblem | None, int, int]:
    entries = streams = 0
    after_stream, after_seq = "", 0
    stream, expected_seq, expected_prev = None, 1, GENESIS_HASH
    while True:
        batch = list(
            AuditLogEntry.objects.raw(
                f"SELECT e.*, h.seq AS head_seq FROM {_ENTRIES} e LEFT JOIN {_HEADS} h ON h.stream = e.stream "
                "WHERE (e.stream, e.stream_seq) > (%s, %s) ORDER BY e.stream, e.stream_seq LIMIT %s",
                [after_stream, after_seq, batch_size],
            )
        )
        for entry in batch:
            if entry.stream != stream:
                stream, expected_seq, expected_prev = entry.stream, 1, GENESIS_HASH
                streams += 1
            entries += 1

            def problem(text, entry=entry):
                return ChainProblem(entry.stream, entry.stream_seq, entry.id, text)

            if entry.stream_seq != expected_seq:
                return problem(f"sequence gap: expected #{expected_seq}, an entry was deleted"), entries, streams
            if entry.prev_hash != expected_prev:
                return (
                    problem("previous-hash link broken: an earlier entry was changed or deleted"),
                    entries,
                    streams,
                )
            if compute_hash(entry.prev_hash, entry) != entry.hash:
                return problem("content does not match its hash: the entry was edited"), entries, streams
            if entry.head_seq is None or entry.head_seq < entry.stream_seq:
                return problem("the entry is past its stream's head: the head was changed"), entries, streams
            expected_seq += 1
            expected_prev = entry.hash
        if len(batch) < batch_size:
            return None, entries, streams
        after_stream, after_seq = batch[-1].stream, batch[-1].stream_seq


def _check_heads(batch_size: int) -> tuple[ChainProblem | None, str]:
    digest = hashlib.sha256()
    after = ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT h.stream, h.seq, h.hash, e.id, e.hash FROM {_HEADS} h "
                f"LEFT JOIN {_ENTRIES} e ON e.stream = h.stream AND e.stream_seq = h.seq "
                "WHERE h.stream > %s ORDER BY h.stream LIMIT %s",
                [after, batch_size],
            )
            rows = cursor.fetchall()
        for stream, seq, head_hash, entry_id, entry_hash in rows:
            if entry_id is None:
                return ChainProblem(stream, seq, None, "the stream's newest entry is missing: the stream was cut"), ""
            if entry_hash != head_hash:
                return ChainProblem(stream, seq, entry_id, "the stream's head does not match its newest entry"), ""
            digest.update(f"{stream}\t{seq}\t{head_hash}\n".encode())
        if len(rows) < batch_size:
            return None, digest.hexdigest()
        after = rows[-1][0]
