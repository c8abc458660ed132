"""The kernel's append-only guard: `AppendOnlyModel` refuses to save a stored row or delete
one, `AppendOnlyQuerySet` refuses bulk updates and deletes; every append-only model uses them."""

from pathlib import Path

import pytest
from django.db import models

from marketplace.audit import audit_record
from marketplace.models import AppendOnlyError, AppendOnlyModel, AppendOnlyQuerySet, AuditLogEntry
from merchants.models import DepositEntry
from settlements.models import JournalEntry
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_stored_row_cannot_be_saved_deleted_or_changed_in_bulk():
    actor = UserFactory()
    entry = audit_record(action="merchant.submit", actor=actor, obj=actor, data={"n": 1})
    message = "The audit log is append-only: entries cannot be changed or deleted."
    entry.reason = "changed"
    with pytest.raises(AppendOnlyError) as saved:
        entry.save()
    with pytest.raises(AppendOnlyError) as deleted:
        entry.delete()
    with pytest.raises(AppendOnlyError) as updated:
        AuditLogEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(AppendOnlyError) as bulk_deleted:
        AuditLogEntry.objects.all().delete()
    assert [str(e.value) for e in (saved, deleted, updated, bulk_deleted)] == [message] * 4
    assert list(AuditLogEntry.objects.values_list("pk", "reason")) == [(entry.pk, "")]


@pytest.mark.django_db
def test_a_new_row_is_written():
    actor = UserFactory()
    entry = audit_record(action="merchant.submit", actor=actor, obj=actor)
    assert AuditLogEntry.objects.get().pk == entry.pk


@pytest.mark.parametrize(
    ("model", "message", "bulk_guarded"),
    [
        (AuditLogEntry, "The audit log is append-only: entries cannot be changed or deleted.", True),
        (DepositEntry, "Deposit entries are append-only.", True),
        (JournalEntry, "Journal entries are append-only; post a correcting entry.", False),
    ],
)
def test_every_append_only_model_uses_the_kernel_guard(model, message, bulk_guarded):
    assert issubclass(model, AppendOnlyModel)
    assert model.append_only_message == message
    assert isinstance(model.objects.all(), AppendOnlyQuerySet) is bulk_guarded
    # Before models.Model, or Model.save() would run first and the guard never.
    assert model.__mro__.index(AppendOnlyModel) < model.__mro__.index(models.Model)


def test_no_app_writes_its_own_append_only_guard():
    """The refusal lives once, in the kernel: no other module raises AppendOnlyError itself."""
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("marketplace", "merchants", "catalog", "promotions", "orders", "settlements", "risk")
        for path in sorted((ROOT / app).rglob("*.py"))
        if "raise AppendOnlyError" in path.read_text(encoding="utf-8") and path != ROOT / "marketplace" / "models.py"
    ]
    assert offenders == []
