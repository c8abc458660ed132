"""Stock levels: receipts, adjustments, reservations, releases, shipments, alerts.

Guarantees:
- available = on hand − reserved never goes below zero: rows are locked
  (`SELECT … FOR UPDATE`) in primary-key order, checked, then changed; the database
  constraints (reserved ≤ on hand, both ≥ 0) are the last line of defence;
- a waiter gives up after `STOCK_LOCK_TIMEOUT_MS` (lock_timeout) with a 409, it never hangs;
- a multi-line reservation is all or nothing;
- every change writes a `StockMovement` with the levels after it;
- after every change the stock alert of that SKU and warehouse is opened or closed
  (one open alert at most, database constraint).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.errors import NotFoundError

from ..choices import MovementKind
from ..errors import CatalogConflict, CatalogError, InsufficientStock
from ..models import SKU, Stock, StockAlert, StockMovement, Warehouse
from .listing import listing_stocks_changed


@dataclass(frozen=True)
class StockLine:
    sku_id: int
    warehouse_id: int
    quantity: int


def _set_lock_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = %s", [f"{int(settings.STOCK_LOCK_TIMEOUT_MS)}ms"])


def stock_lock_rows(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the stock rows of (sku, warehouse) pairs in primary-key order (no deadlocks)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    _set_lock_timeout()
    skus = {s for s, _w in wanted}
    warehouses = {w for _s, w in wanted}
    try:
        rows = list(
            Stock.objects.select_for_update().filter(sku_id__in=skus, warehouse_id__in=warehouses).order_by("pk")
        )
    except OperationalError as exc:  # lock_timeout
        raise CatalogConflict(
            "stock_busy", _("Stock is busy right now; please try again in a moment."), {"retry": True}
        ) from exc
    return {(r.sku_id, r.warehouse_id): r for r in rows if (r.sku_id, r.warehouse_id) in wanted}


#: On hand and reserved are PostgreSQL integers: a figure beyond this would fail in the
#: database (500), so every change of a stock row is checked against it first.
MAX_STOCK_UNITS = 2**31 - 1


def _write(stock: Stock, kind: str, *, on_hand_delta=0, reserved_delta=0, actor=None, reference="", reason="") -> None:
    if max(stock.on_hand + on_hand_delta, stock.reserved + reserved_delta) > MAX_STOCK_UNITS:
        raise CatalogError(
            "quantity_too_large",
            _("A stock figure cannot exceed %(max)d units.") % {"max": MAX_STOCK_UNITS},
            {"max": MAX_STOCK_UNITS},
        )
    stock.on_hand += on_hand_delta
    stock.reserved += reserved_delta
    stock.save(update_fields=["on_hand", "reserved"])
    listing_stocks_changed([(stock.sku_id, stock.available - on_hand_delta + reserved_delta, stock.available)])
    StockMovement.objects.create(
        stock=stock,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        on_hand_after=stock.on_hand,
        reserved_after=stock.reserved,
        reference=reference[:100],
        reason=reason[:200],
        actor=actor,
    )
    _sync_alert(stock)


def _sync_alert(stock: Stock) -> None:
    """Open an alert when available < reorder point; close the open one when it recovers."""
    if Stock._meta.get_field("sku").is_cached(stock):
        sku = stock.sku
    else:
        sku = SKU.objects.only("reorder_point", "merchant_id").get(pk=stock.sku_id)
    below = sku.reorder_point > 0 and stock.available < sku.reorder_point
    open_alert = StockAlert.objects.filter(stock=stock, closed_at__isnull=True).first()
    if below and open_alert is None:
        try:
            with transaction.atomic():
                StockAlert.objects.create(
                    stock=stock,
                    merchant_id=sku.merchant_id,
                    available_at_open=stock.available,
                    reorder_point=sku.reorder_point,
                )
        except IntegrityError:
            pass  # opened meanwhile by another transaction: one open alert is the rule
    elif not below and open_alert is not None:
        StockAlert.objects.filter(pk=open_alert.pk).update(closed_at=timezone.now())


def _positive(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise CatalogError("invalid_quantity", _("The quantity must be a whole number greater than zero."))
    return quantity


def _check_warehouse(sku: SKU, warehouse: Warehouse) -> None:
    if warehouse.merchant_id is not None and warehouse.merchant_id != sku.merchant_id:
        raise CatalogError("warehouse_not_yours", _("This warehouse belongs to another merchant."))
    if not warehouse.is_active:
        raise CatalogError("warehouse_inactive", _("This warehouse is closed."))


def skus_check_owner(merchant, skus: Iterable[SKU]) -> None:
    """Another merchant's SKU is not found (404): the stock of a SKU is its merchant's."""
    if merchant is None or any(sku.merchant_id != merchant.pk for sku in skus):
        raise NotFoundError(message=_("No such SKU."))


@transaction.atomic
def stock_receive(
    *, merchant, sku: SKU, warehouse: Warehouse, quantity: int, actor, reference: str = "", reason: str = ""
) -> Stock:
    """Goods of `merchant` arrived: on hand grows by `quantity` (the stock row is created if
    needed). Locks the stock row; the SKU is checked to be the merchant's under the lock."""
    quantity = _positive(quantity)
    _check_warehouse(sku, warehouse)
    Stock.objects.get_or_create(sku=sku, warehouse=warehouse)
    stock = stock_lock_rows([(sku.pk, warehouse.pk)])[(sku.pk, warehouse.pk)]
    skus_check_owner(merchant, [sku])
    stock.sku = sku
    _write(stock, MovementKind.RECEIPT, on_hand_delta=quantity, actor=actor, reference=reference, reason=reason)
    return stock


@transaction.atomic
def stock_adjust(
    *, merchant, sku: SKU, warehouse: Warehouse, on_hand: int, actor, reason: str, reference: str = ""
) -> Stock:
    """`merchant` sets on hand of its SKU to a counted figure (stocktake, damage); never
    below what is reserved. Locks the stock row; ownership is checked under the lock."""
    if not isinstance(on_hand, int) or on_hand < 0:
        raise CatalogError("invalid_quantity", _("On hand must be a whole number, 0 or more."))
    if not (reason or "").strip():
        raise CatalogError("reason_required", _("Say why the stock is adjusted."))
    _check_warehouse(sku, warehouse)
    Stock.objects.get_or_create(sku=sku, warehouse=warehouse)
    stock = stock_lock_rows([(sku.pk, warehouse.pk)])[(sku.pk, warehouse.pk)]
    skus_check_owner(merchant, [sku])
    if on_hand < stock.reserved:
        raise CatalogConflict(
            "below_reserved",
            _("%(n)d units are reserved for orders; on hand cannot go below that.") % {"n": stock.reserved},
            {"reserved": stock.reserved},
        )
    delta = on_hand - stock.on_hand
    if delta:
        stock.sku = sku
        _write(
            stock, MovementKind.ADJUSTMENT, on_hand_delta=delta, actor=actor, reference=reference, reason=reason.strip()
        )
    return stock


def _merge(lines: Iterable[StockLine]) -> dict[tuple[int, int], int]:
    merged: dict[tuple[int, int], int] = {}
    for line in lines:
        key = (line.sku_id, line.warehouse_id)
        merged[key] = merged.get(key, 0) + _positive(line.quantity)
    return merged


@transaction.atomic
def stock_reserve(*, lines: Iterable[StockLine], reference: str, actor=None) -> None:
    """Reserve every line or none: 409 `insufficient_stock` naming the short lines."""
    merged = _merge(lines)
    rows = stock_lock_rows(merged)
    short = []
    for key, quantity in sorted(merged.items()):
        row = rows.get(key)
        available = row.available if row else 0
        if available < quantity:
            short.append({"sku": key[0], "warehouse": key[1], "requested": quantity, "available": available})
    if short:
        raise InsufficientStock(message=_("Not enough stock for some items."), extra={"lines": short})
    for key, quantity in sorted(merged.items()):
        _write(rows[key], MovementKind.RESERVATION, reserved_delta=quantity, actor=actor, reference=reference)


@transaction.atomic
def stock_release(*, lines: Iterable[StockLine], reference: str, actor=None) -> None:
    """Give reserved units back (cancelled or expired orders)."""
    merged = _merge(lines)
    rows = stock_lock_rows(merged)
    for key, quantity in sorted(merged.items()):
        row = rows.get(key)
        if row is None or row.reserved < quantity:
            raise CatalogConflict("release_exceeds_reserved", _("Cannot release more than is reserved."), {"line": key})
    for key, quantity in sorted(merged.items()):
        _write(rows[key], MovementKind.RELEASE, reserved_delta=-quantity, actor=actor, reference=reference)


@transaction.atomic
def stock_ship(*, lines: Iterable[StockLine], reference: str, actor=None) -> None:
    """Reserved units leave the warehouse: on hand and reserved both go down."""
    merged = _merge(lines)
    rows = stock_lock_rows(merged)
    for key, quantity in sorted(merged.items()):
        row = rows.get(key)
        if row is None or row.reserved < quantity:
            raise CatalogConflict("ship_exceeds_reserved", _("Cannot ship more than is reserved."), {"line": key})
    for key, quantity in sorted(merged.items()):
        _write(
            rows[key],
            MovementKind.SHIPMENT,
            on_hand_delta=-quantity,
            reserved_delta=-quantity,
            actor=actor,
            reference=reference,
        )


@dataclass(frozen=True)
class Allocation:
    sku_id: int
    warehouse_id: int
    quantity: int


@transaction.atomic
def stock_allocate_and_reserve(
    *, items: Iterable[tuple[int, int]], region: str, reference: str, actor=None
) -> list[Allocation]:
    """Reserve `(sku_id, quantity)` items from the warehouses that hold them, all or nothing.

    Every stock row of the SKUs is locked first (primary-key order), so the choice of
    warehouses is made on figures no one else can change: warehouses of the buyer's
    `region` first (city cloud before regional central), then the others by code; a line
    may split over several warehouses. Raises `InsufficientStock` listing the short SKUs.
    """
    wanted: dict[int, int] = {}
    for sku_id, quantity in items:
        wanted[sku_id] = wanted.get(sku_id, 0) + _positive(quantity)
    if not wanted:
        return []
    _set_lock_timeout()
    try:
        rows = list(
            Stock.objects.select_for_update(of=("self",))
            .filter(sku_id__in=wanted, warehouse__is_active=True)
            .select_related("warehouse")
            .order_by("pk")
        )
    except OperationalError as exc:
        raise CatalogConflict(
            "stock_busy", _("Stock is busy right now; please try again in a moment."), {"retry": True}
        ) from exc

    def preference(row: Stock):
        w = row.warehouse
        return (w.region != region, w.kind != "city_cloud", w.code)

    plan: list[tuple[Stock, int]] = []
    short = []
    for sku_id, quantity in sorted(wanted.items()):
        remaining = quantity
        for row in sorted((r for r in rows if r.sku_id == sku_id), key=preference):
            if remaining == 0:
                break
            take = min(row.available, remaining)
            if take > 0:
                plan.append((row, take))
                remaining -= take
        if remaining:
            available = sum(r.available for r in rows if r.sku_id == sku_id)
            short.append({"sku": sku_id, "requested": quantity, "available": available})
    if short:
        raise InsufficientStock(message=_("Not enough stock for some items."), extra={"lines": short})
    for row, take in plan:
        _write(row, MovementKind.RESERVATION, reserved_delta=take, actor=actor, reference=reference)
    return [Allocation(row.sku_id, row.warehouse_id, take) for row, take in plan]


@transaction.atomic
def stock_set_levels(
    *, merchant, levels: Iterable[tuple[SKU, Warehouse, int]], actor, reason: str, reference: str = ""
) -> dict:
    """`merchant` sets on hand of many (SKU, warehouse) pairs at once, all or none — for
    imports. Every SKU must be the merchant's (else `not_found`, checked under the locks).

    Same guarantees as `stock_receive`/`stock_adjust` row by row (never below reserved, a
    movement per change, alerts opened or closed), with a constant number of queries: rows
    are created if missing, locked once in primary-key order, and written in bulk.
    Returns {(sku_id, warehouse_id): (before, after)} for the pairs that changed.
    """
    wanted: dict[tuple[int, int], tuple[SKU, Warehouse, int]] = {}
    for sku, warehouse, on_hand in levels:
        if not isinstance(on_hand, int) or on_hand < 0:
            raise CatalogError("invalid_quantity", _("On hand must be a whole number, 0 or more."))
        _check_warehouse(sku, warehouse)
        wanted[(sku.pk, warehouse.pk)] = (sku, warehouse, on_hand)
    if not wanted:
        return {}
    existing = set(
        Stock.objects.filter(sku_id__in={s for s, _w in wanted}, warehouse_id__in={w for _s, w in wanted}).values_list(
            "sku_id", "warehouse_id"
        )
    )
    # A zero level where nothing was ever stocked changes nothing: no empty row for it.
    wanted = {key: value for key, value in wanted.items() if key in existing or value[2] > 0}
    Stock.objects.bulk_create(
        [Stock(sku_id=s, warehouse_id=w) for s, w in wanted if (s, w) not in existing],
        ignore_conflicts=True,
        batch_size=1000,
    )
    rows = stock_lock_rows(wanted)
    skus_check_owner(merchant, (sku for sku, _w, _n in wanted.values()))
    short = [
        {"sku": key[0], "warehouse": key[1], "reserved": rows[key].reserved}
        for key, (_s, _w, on_hand) in wanted.items()
        if on_hand < rows[key].reserved
    ]
    if short:
        raise CatalogConflict(
            "below_reserved", _("On hand cannot go below what is reserved for orders."), {"lines": short}
        )
    changed: dict[tuple[int, int], tuple[int, int]] = {}
    movements = []
    for key, (_sku, _warehouse, on_hand) in wanted.items():
        row = rows[key]
        delta = on_hand - row.on_hand
        if not delta:
            continue
        changed[key] = (row.on_hand, on_hand)
        row.on_hand = on_hand
        movements.append(
            StockMovement(
                stock=row,
                kind=MovementKind.RECEIPT if changed[key][0] == 0 else MovementKind.ADJUSTMENT,
                on_hand_delta=delta,
                reserved_delta=0,
                on_hand_after=row.on_hand,
                reserved_after=row.reserved,
                reference=reference[:100],
                reason=reason[:200],
                actor=actor,
            )
        )
    touched = [rows[key] for key in changed]
    Stock.objects.bulk_update(touched, ["on_hand"], batch_size=1000)
    StockMovement.objects.bulk_create(movements, batch_size=1000)
    _sync_alerts_bulk(touched, {key: wanted[key][0] for key in changed})
    listing_stocks_changed(
        (s, old - rows[s, w].reserved, new - rows[s, w].reserved) for (s, w), (old, new) in changed.items()
    )
    return changed


def _sync_alerts_bulk(stocks: list[Stock], skus: dict[tuple[int, int], SKU]) -> None:
    if not stocks:
        return
    open_alerts = set(
        StockAlert.objects.filter(stock__in=stocks, closed_at__isnull=True).values_list("stock_id", flat=True)
    )
    to_open, to_close = [], []
    for stock in stocks:
        sku = skus[(stock.sku_id, stock.warehouse_id)]
        below = sku.reorder_point > 0 and stock.available < sku.reorder_point
        if below and stock.pk not in open_alerts:
            to_open.append(
                StockAlert(
                    stock=stock,
                    merchant_id=sku.merchant_id,
                    available_at_open=stock.available,
                    reorder_point=sku.reorder_point,
                )
            )
        elif not below and stock.pk in open_alerts:
            to_close.append(stock.pk)
    StockAlert.objects.bulk_create(to_open, ignore_conflicts=True)
    if to_close:
        StockAlert.objects.filter(stock_id__in=to_close, closed_at__isnull=True).update(closed_at=timezone.now())
