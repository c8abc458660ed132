"""Staff's edits of reference data (categories, tags, warehouses, tiers, holidays), audited.

The services of each app call these inside their transaction: a create, a change of only the
fields that differ, or a delete, each with its audit row, so every such edit leaves the same
trace however many models use it.
"""

from __future__ import annotations

from django.db import models

from .audit import audit_record


def _plain(value):
    """A value as the audit row keeps it: a related row by its id."""
    return value.pk if isinstance(value, models.Model) else value


def only_fields(fields: dict, allowed: tuple[str, ...]) -> dict:
    """`fields`, refused (TypeError, a programming error) when one is not among `allowed`:
    a service names what staff may set, so a form cannot write a field it should not."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Fields that may not be set here: {sorted(unknown)}")
    return fields


def changed_fields(obj: models.Model, changes: dict) -> dict:
    """The entries of `changes` that differ from `obj` (a related row compares by its id)."""
    changed = {}
    for name, value in changes.items():
        field = obj._meta.get_field(name)
        if getattr(obj, field.attname) != _plain(value):
            changed[name] = value
    return changed


def audited_create(model: type[models.Model], *, action: str, actor, **fields) -> models.Model:
    """Create a `model` row with `fields` and audit it with their values. Call inside a transaction."""
    obj = model.objects.create(**fields)
    audit_record(action=action, actor=actor, obj=obj, data={name: _plain(value) for name, value in fields.items()})
    return obj


def audited_update(locked: models.Model, changes: dict, *, action: str, actor) -> list[str]:
    """Write the `changes` that differ from `locked` (a row the caller locked) in one UPDATE
    and audit their names; nothing at all when nothing differs. Returns the changed names."""
    changed = changed_fields(locked, changes)
    if not changed:
        return []
    for name, value in changed.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(changed))
    audit_record(action=action, actor=actor, obj=locked, data={"fields": sorted(changed)})
    return sorted(changed)


def audited_delete(objs, *, action: str, actor) -> int:
    """Delete these rows, each with an audit row naming it; returns how many. Call inside a
    transaction: a row still referenced (PROTECT) refuses the whole delete."""
    objs = list(objs)
    for obj in objs:
        audit_record(action=action, actor=actor, obj=obj, data={"name": str(obj)})
    for obj in objs:
        obj.delete()
    return len(objs)
