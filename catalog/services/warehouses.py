"""Staff's edits of warehouses, audited (`marketplace.edits`).

A warehouse's merchant matches its kind (a merchant warehouse has its merchant, a platform
one has none: `warehouse_merchant_required`, `warehouse_merchant_not_allowed`), and a
warehouse holding stock keeps its merchant (`warehouse_holds_stock`): these services refuse
otherwise, whoever asks; the database constraint checks the first rule again.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.edits import audited_create, audited_delete, audited_update, only_fields

from ..choices import WarehouseKind
from ..errors import CatalogConflict, CatalogError
from ..models import Stock, Warehouse

WAREHOUSE_FIELDS = ("code", "name", "kind", "region", "city", "merchant", "is_active")


def _refuse_a_merchant_that_does_not_match_the_kind(kind: str, merchant) -> None:
    """A merchant warehouse needs its merchant; a platform warehouse belongs to no merchant."""
    if kind == WarehouseKind.MERCHANT and merchant is None:
        raise CatalogError("warehouse_merchant_required", _("A merchant warehouse needs its merchant."), {"kind": kind})
    if kind != WarehouseKind.MERCHANT and merchant is not None:
        raise CatalogError(
            "warehouse_merchant_not_allowed",
            _("Platform warehouses (regional central, city cloud) belong to no merchant: leave it empty."),
            {"kind": kind},
        )


def _refuse_moving_stock_to_another_merchant(locked: Warehouse, merchant) -> None:
    """A warehouse holding stock keeps its merchant: its stock rows belong to SKUs of that
    merchant, and moving the warehouse would mix owners."""
    if getattr(merchant, "pk", None) != locked.merchant_id and Stock.objects.filter(warehouse=locked).exists():
        raise CatalogConflict(
            "warehouse_holds_stock",
            _("This warehouse holds stock: its merchant cannot change."),
            {"warehouse": locked.pk},
        )


@transaction.atomic
def warehouse_create(*, actor, **fields) -> Warehouse:
    """Create a warehouse with `fields` (`WAREHOUSE_FIELDS`); audited with their values.

    A merchant that does not match the kind is refused (400): nothing is created.
    """
    fields = only_fields(fields, WAREHOUSE_FIELDS)
    _refuse_a_merchant_that_does_not_match_the_kind(fields.get("kind"), fields.get("merchant"))
    return audited_create(Warehouse, action="catalog.warehouse_created", actor=actor, **fields)


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, actor, **changes) -> Warehouse:
    """Change the warehouse's `changes`; returns the row. Locks it; writes and audits only
    the fields that differ.

    The kind and merchant it would have are checked together (400 when they do not match);
    a new merchant for a warehouse holding stock is refused (409). Nothing changes then.
    """
    changes = only_fields(changes, WAREHOUSE_FIELDS)
    locked = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
    if "kind" in changes or "merchant" in changes:
        # Only whether there is a merchant matters here: the stored one by its id, no query.
        merchant = changes.get("merchant", locked.merchant_id)
        _refuse_a_merchant_that_does_not_match_the_kind(changes.get("kind", locked.kind), merchant)
    if "merchant" in changes:
        _refuse_moving_stock_to_another_merchant(locked, changes["merchant"])
    audited_update(locked, changes, action="catalog.warehouse_changed", actor=actor)
    return locked


@transaction.atomic
def warehouses_delete(*, warehouses, actor) -> int:
    """Delete these warehouses, each audited; returns how many. One that still holds stock
    is protected: nothing is deleted then."""
    return audited_delete(warehouses, action="catalog.warehouse_deleted", actor=actor)
