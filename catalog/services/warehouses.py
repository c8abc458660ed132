"""Staff's edits of warehouses, audited (`marketplace.edits`).

The form on the admin page checks the merchant/kind rule and that a warehouse holding stock
keeps its merchant; the database constraints check the first again.
"""

from __future__ import annotations

from django.db import transaction

from marketplace.edits import audited_create, audited_delete, audited_update, only_fields

from ..models import Warehouse

WAREHOUSE_FIELDS = ("code", "name", "kind", "region", "city", "merchant", "is_active")


@transaction.atomic
def warehouse_create(*, actor, **fields) -> Warehouse:
    """Create a warehouse with `fields` (`WAREHOUSE_FIELDS`); audited with their values."""
    return audited_create(
        Warehouse, action="catalog.warehouse_created", actor=actor, **only_fields(fields, WAREHOUSE_FIELDS)
    )


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, actor, **changes) -> Warehouse:
    """Change the warehouse's `changes`; returns the row. Locks it; writes and audits only
    the fields that differ."""
    locked = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
    audited_update(locked, only_fields(changes, WAREHOUSE_FIELDS), action="catalog.warehouse_changed", actor=actor)
    return locked


@transaction.atomic
def warehouses_delete(*, warehouses, actor) -> int:
    """Delete these warehouses, each audited; returns how many. One that still holds stock
    is protected: nothing is deleted then."""
    return audited_delete(warehouses, action="catalog.warehouse_deleted", actor=actor)
