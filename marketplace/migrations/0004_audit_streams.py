"""Issue #12: the audit log becomes one hash chain per stream (the audited record), so appends
no longer queue on one platform-wide lock.

Existing entries are assigned their stream and re-chained in it (their `seq` order kept), and
each stream gets its head row: a database whose single chain verified before verifies after.
`seq` values come from a sequence from now on, starting after the highest one. The hashing
of both layouts is copied here, so this migration keeps meaning what it meant when the code
moves on. Reversing rebuilds the single global chain (renumbering `seq` without gaps).
"""

import hashlib
import json
from datetime import UTC

from django.db import migrations, models

from marketplace.numbers import create_sequence

GENESIS_HASH = "0" * 64
SEQUENCE = "marketplace_audit_seq"
BATCH = 2000


def _digest(prev_hash, payload):
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def _content(entry):
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "reason": entry.reason,
        "data": entry.data,
    }


def stream_hash(prev_hash, entry):
    return _digest(prev_hash, {**_content(entry), "stream": entry.stream, "stream_seq": entry.stream_seq})


def global_hash(prev_hash, entry):
    return _digest(prev_hash, _content(entry))


def _in_seq_order(model):
    after = 0
    while True:
        batch = list(model.objects.filter(seq__gt=after).order_by("seq")[:BATCH])
        if not batch:
            return
        yield batch
        after = batch[-1].seq


def chain_per_stream(apps, schema_editor):
    entry_model = apps.get_model("marketplace", "AuditLogEntry")
    head_model = apps.get_model("marketplace", "AuditStreamHead")
    heads = {}  # stream → (seq, hash) of its newest entry so far
    for batch in _in_seq_order(entry_model):
        for entry in batch:
            if entry.object_type:
                entry.stream = f"{entry.object_type}:{entry.object_id}"
            else:
                entry.stream = f"action:{entry.action}"
            last_seq, last_hash = heads.get(entry.stream, (0, GENESIS_HASH))
            entry.stream_seq = last_seq + 1
            entry.prev_hash = last_hash
            entry.hash = stream_hash(last_hash, entry)
            heads[entry.stream] = (entry.stream_seq, entry.hash)
        entry_model.objects.bulk_update(batch, ["stream", "stream_seq", "prev_hash", "hash"])
    head_model.objects.bulk_create(
        [head_model(stream=stream, seq=seq, hash=hash_) for stream, (seq, hash_) in heads.items()],
        batch_size=BATCH,
    )
    with schema_editor.connection.cursor() as cursor:
        # setval's third argument false: the next value is this one (1 on an empty log).
        cursor.execute(
            "SELECT setval(%s, COALESCE(MAX(seq), 0) + 1, false) FROM marketplace_auditlogentry", [SEQUENCE]
        )


def chain_globally(apps, schema_editor):
    entry_model = apps.get_model("marketplace", "AuditLogEntry")
    prev_hash, seq = GENESIS_HASH, 0
    for batch in _in_seq_order(entry_model):
        for entry in batch:
            # One by one in ascending order: each new `seq` is free (never above the old one).
            seq += 1
            entry.seq = seq
            entry.prev_hash = prev_hash
            entry.hash = prev_hash = global_hash(prev_hash, entry)
            entry_model.objects.filter(pk=entry.pk).update(seq=entry.seq, prev_hash=entry.prev_hash, hash=entry.hash)
    head_model = apps.get_model("marketplace", "AuditStreamHead")
    head_model.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0003_job_failure"),
    ]

    operations = [
        create_sequence(SEQUENCE),
        migrations.CreateModel(
            name="AuditStreamHead",
            fields=[
                (
                    "stream",
                    models.CharField(
                        db_collation="C", max_length=200, primary_key=True, serialize=False, verbose_name="stream"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField(verbose_name="number of the newest entry")),
                ("hash", models.CharField(max_length=64, verbose_name="hash of the newest entry")),
            ],
            options={
                "verbose_name": "audit stream head",
                "verbose_name_plural": "audit stream heads",
                "ordering": ["stream"],
            },
        ),
        migrations.AddField(
            model_name="auditlogentry",
            name="stream",
            field=models.CharField(db_collation="C", default="", editable=False, max_length=200, verbose_name="stream"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditlogentry",
            name="stream_seq",
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name="number in stream"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_per_stream, chain_globally),
        migrations.AddConstraint(
            model_name="auditlogentry",
            constraint=models.UniqueConstraint(fields=("stream", "stream_seq"), name="audit_entry_unique_stream_seq"),
        ),
    ]
