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

Cost: a batch of changes is a constant number of statements whatever its number of rows
(one locking SELECT that also brings the reorder point and whether an alert is open, one
statement that UPDATEs the rows and INSERTs the movements; the alerts table is written only when a row crosses its
reorder point). `stock_allocate_and_reserve`, the checkout's path, first reads the available
units without a lock (`stock_check_available`, which a checkout may also call before doing
any work) and refuses at once when they are already too few: a buyer racing for a sold-out
SKU is answered without queueing behind the lock holders; the locked check stays the one
that decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.compiled import CompiledRead, id_markers
from marketplace.errors import NotFoundError

from ..choices import MovementKind
from ..errors import CatalogConflict, CatalogError, InsufficientStock
from ..models import SKU, Stock, StockAlert, StockMovement, Warehouse
from ..pagecache import stock_pages_changed
from . import notices
from .listing import listing_stocks_changed


@dataclass(frozen=True)
class StockLine:
    sku_id: int
    warehouse_id: int
    quantity: int


def _set_lock_timeout() -> None:
    """Bound the wait for stock locks. Skipped (one statement less per checkout) when the
    connection already has a bound at least as short: the web's DB_LOCK_TIMEOUT_MS, sent when
    the connection opens (marketplace/settings.py). Celery workers and commands have none."""
    if 0 < settings.DB_LOCK_TIMEOUT_MS <= settings.STOCK_LOCK_TIMEOUT_MS:
        return
    with connection.cursor() as cursor:
        # Formatted, not bound: SET takes no parameters with server-side binding (an int is safe).
        cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.STOCK_LOCK_TIMEOUT_MS)}ms'")


def _locking_queryset():
    """Stock rows to lock (`FOR UPDATE` of the stock rows only, primary-key order), each with
    what the alert sync needs so that a write asks nothing more: the SKU's reorder point and
    merchant, and whether an alert is open (read in the statement's snapshot; see `_sync_alerts`)."""
    return (
        Stock.objects.select_for_update(of=("self",))
        .annotate(
            sku_reorder_point=F("sku__reorder_point"),
            sku_merchant_id=F("sku__merchant_id"),
            has_open_alert=Exists(StockAlert.objects.filter(stock=OuterRef("pk"), closed_at__isnull=True)),
        )
        .order_by("pk")
    )


def _locked(queryset) -> list[Stock]:
    try:
        return list(queryset)
    except OperationalError as exc:  # lock_timeout
        raise CatalogConflict(
            "stock_busy", _("Stock is busy right now; please try again in a moment."), {"retry": True}
        ) from exc


def _reserving_rows(*, ids):
    return _locking_queryset().filter(sku_id__in=ids, warehouse__is_active=True).select_related("warehouse")


# The locking read of `stock_allocate_and_reserve` (every checkout, every buyer of a race who
# passed the plain read) compiled once per number of SKUs (marketplace/compiled.py): building
# and compiling it cost more CPU than running it. Only the SKU ids change between calls.
_RESERVING_ROWS = CompiledRead(_reserving_rows)


def stock_lock_rows(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the stock rows of (sku, warehouse) pairs in primary-key order (no deadlocks)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    _set_lock_timeout()
    skus = {s for s, _w in wanted}
    warehouses = {w for _s, w in wanted}
    rows = _locked(_locking_queryset().filter(sku_id__in=skus, warehouse_id__in=warehouses))
    return {(r.sku_id, r.warehouse_id): r for r in rows if (r.sku_id, r.warehouse_id) in wanted}


#: On hand and reserved are PostgreSQL integers: a figure beyond this would fail in the
#: database (500), so every change of a stock row is checked against it first.
MAX_STOCK_UNITS = 2**31 - 1


@dataclass(frozen=True)
class _Change:
    """One change of a locked stock row (a row of `_locking_queryset`)."""

    stock: Stock
    kind: str
    on_hand_delta: int = 0
    reserved_delta: int = 0


def _write(changes: list[_Change], *, actor=None, reference="", reason="") -> None:
    """Apply `changes` to their locked rows, all rows' UPDATE and all movements' INSERT in one
    statement, then `_stocks_written`. One change per row (callers merge their lines first)."""
    if not changes:
        return
    for change in changes:
        stock = change.stock
        if max(stock.on_hand + change.on_hand_delta, stock.reserved + change.reserved_delta) > MAX_STOCK_UNITS:
            raise CatalogError(
                "quantity_too_large",
                _("A stock figure cannot exceed %(max)d units.") % {"max": MAX_STOCK_UNITS},
                {"max": MAX_STOCK_UNITS},
            )
    for change in changes:
        stock = change.stock
        stock.available_before = stock.available
        stock.on_hand += change.on_hand_delta
        stock.reserved += change.reserved_delta
    movements = [
        StockMovement(
            stock=change.stock,
            kind=change.kind,
            on_hand_delta=change.on_hand_delta,
            reserved_delta=change.reserved_delta,
            on_hand_after=change.stock.on_hand,
            reserved_after=change.stock.reserved,
            reference=reference[:100],
            reason=reason[:200],
            actor=actor,
        )
        for change in changes
    ]
    _update_levels_and_move([change.stock for change in changes], movements)
    _stocks_written([change.stock for change in changes])


# A movement's columns come from the model (a column a later migration adds is written as
# Django would write it).
_MOVEMENT_FIELDS = [field for field in StockMovement._meta.concrete_fields if not field.primary_key]


def _update_levels_and_move(stocks: list[Stock], movements: list[StockMovement], batch_size: int = 1000) -> None:
    """Write on hand and reserved of the locked `stocks` and insert their `movements`: one
    statement per `batch_size` rows, `WITH … UPDATE … FROM (VALUES …)` and the movements'
    INSERT (a data-modifying WITH runs whether or not the INSERT reads it). Measured for 2 rows:
    the UPDATE as `UPDATE … FROM (VALUES …)` 0.55 ms against 2.1 ms for `bulk_update`, whose
    CASE WHEN expressions the ORM builds and compiles row by row; both writes in one statement
    save the movements' round trip on every stock change (the checkout's among them).
    The movements' ids are not read back (nothing uses them)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _MOVEMENT_FIELDS)
    movement_row = f"({', '.join(['%s'] * len(_MOVEMENT_FIELDS))})"
    for start in range(0, len(stocks), batch_size):
        batch = stocks[start : start + batch_size]
        moved = movements[start : start + batch_size]
        levels = ", ".join(["(%s::bigint, %s::integer, %s::integer)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH levels AS (UPDATE {quote(Stock._meta.db_table)} AS stock "
                "SET on_hand = v.on_hand, reserved = v.reserved "
                f"FROM (VALUES {levels}) AS v (id, on_hand, reserved) WHERE stock.id = v.id) "
                f"INSERT INTO {quote(StockMovement._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([movement_row] * len(moved))}",
                [
                    *(figure for stock in batch for figure in (stock.pk, stock.on_hand, stock.reserved)),
                    *(
                        field.get_db_prep_save(field.pre_save(movement, True), connection)
                        for movement in moved
                        for field in _MOVEMENT_FIELDS
                    ),
                ],
            )


def _stocks_written(stocks: list[Stock]) -> None:
    """Everything that follows a batch of stock writes, called once per batch with the written
    rows (their levels are the new ones, `available_before` the old available figure): today
    the stock alerts, the product's listing flag (`in_stock`: a query only when a row goes
    between "some" and "none") and the cached storefront pages that show these rows'
    availability; the place to hook anything else that depends on stock levels."""
    _sync_alerts(stocks)
    listing_stocks_changed([(stock.sku_id, stock.available_before, stock.available) for stock in stocks])
    stock_pages_changed(stocks)


def _sync_alerts(stocks: list[Stock]) -> None:
    """Open an alert when available < reorder point; close the open one when it recovers.

    Decided in Python from the locked rows; the alerts table is written only when needed. Whether
    an alert is open (`has_open_alert`) comes from the locking statement's snapshot, which may
    predate a writer that held the lock before us (it re-reads the stock row, not the alerts):
    so a row that crossed its reorder point is acted on whatever that flag says (opening is then
    guarded by the one-open-alert constraint, closing matches no row), and the flag alone covers
    a row that was already on one side (e.g. after its reorder point was changed)."""
    to_open, to_close = [], []
    for stock in stocks:
        point = stock.sku_reorder_point
        below = point > 0 and stock.available < point
        was_below = point > 0 and stock.available_before < point
        if below and (not stock.has_open_alert or not was_below):
            to_open.append(stock)
        elif not below and (stock.has_open_alert or was_below):
            to_close.append(stock.pk)
    # ON CONFLICT DO NOTHING: an alert opened meanwhile stays the one open alert (the rule).
    StockAlert.objects.bulk_create(
        [
            StockAlert(
                stock=stock,
                merchant_id=stock.sku_merchant_id,
                available_at_open=stock.available,
                reorder_point=stock.sku_reorder_point,
            )
            for stock in to_open
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    for stock in to_open:
        stock.has_open_alert = True
    notices.low_stock(to_open)
    if to_close:
        StockAlert.objects.filter(stock_id__in=to_close, closed_at__isnull=True).update(closed_at=timezone.now())
        for stock in stocks:
            if stock.pk in to_close:
                stock.has_open_alert = False


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
    _write(
        [_Change(stock, MovementKind.RECEIPT, on_hand_delta=quantity)], actor=actor, reference=reference, reason=reason
    )
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
        _write(
            [_Change(stock, MovementKind.ADJUSTMENT, on_hand_delta=delta)],
            actor=actor,
            reference=reference,
            reason=reason.strip(),
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
    _write(
        [
            _Change(rows[key], MovementKind.RESERVATION, reserved_delta=quantity)
            for key, quantity in sorted(merged.items())
        ],
        actor=actor,
        reference=reference,
    )


@transaction.atomic
def stock_release(*, lines: Iterable[StockLine], reference: str, actor=None) -> None:
    """Give reserved units back (cancelled or expired orders)."""
    merged = _merge(lines)
    rows = stock_lock_rows(merged)
    for key, quantity in sorted(merged.items()):
        row = rows.get(key)
        if row is None or row.reserved < quantity:
            raise CatalogConflict("release_exceeds_reserved", _("Cannot release more than is reserved."), {"line": key})
    _write(
        [
            _Change(rows[key], MovementKind.RELEASE, reserved_delta=-quantity)
            for key, quantity in sorted(merged.items())
        ],
        actor=actor,
        reference=reference,
    )


@transaction.atomic
def stock_ship(*, lines: Iterable[StockLine], reference: str, actor=None) -> None:
    """Reserved units leave the warehouse: on hand and reserved both go down."""
    merged = _merge(lines)
    rows = stock_lock_rows(merged)
    for key, quantity in sorted(merged.items()):
        row = rows.get(key)
        if row is None or row.reserved < quantity:
            raise CatalogConflict("ship_exceeds_reserved", _("Cannot ship more than is reserved."), {"line": key})
    _write(
        [
            _Change(rows[key], MovementKind.SHIPMENT, on_hand_delta=-quantity, reserved_delta=-quantity)
            for key, quantity in sorted(merged.items())
        ],
        actor=actor,
        reference=reference,
    )


@dataclass(frozen=True)
class Allocation:
    sku_id: int
    warehouse_id: int
    quantity: int


def _wanted(items: Iterable[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for sku_id, quantity in items:
        wanted[sku_id] = wanted.get(sku_id, 0) + _positive(quantity)
    return wanted


def stock_check_available(*, items: Iterable[tuple[int, int]]) -> None:
    """Refuse `(sku_id, quantity)` items that a plain read (no lock, no wait) already shows
    short: `InsufficientStock` listing them, as `stock_allocate_and_reserve` would. Writes
    nothing; one SELECT. Passing it guarantees nothing (only the locked figures reserve): it
    lets a checkout refuse a sold-out SKU before doing any work and without queueing behind
    the buyers who hold its stock rows."""
    wanted = _wanted(items)
    if not wanted:
        return
    units = dict(
        Stock.objects.filter(sku_id__in=wanted, warehouse__is_active=True)
        .order_by()
        .values("sku_id")
        .annotate(units=Sum(F("on_hand") - F("reserved")))
        .values_list("sku_id", "units")
    )
    stock_refuse_short(items=wanted.items(), units=units)


def stock_refuse_short(*, items: Iterable[tuple[int, int]], units: dict[int, int | None]) -> None:
    """`stock_check_available` on figures the caller read itself (`units`: available units by
    SKU id, as `catalog.selectors.sku_available_units` gives them, e.g. in the query that
    loads the SKUs: one statement less). The same refusal; writes and reads nothing."""
    wanted = _wanted(items)
    short = [
        {"sku": sku_id, "requested": quantity, "available": units.get(sku_id) or 0}
        for sku_id, quantity in sorted(wanted.items())
        if (units.get(sku_id) or 0) < quantity
    ]
    if short:
        raise InsufficientStock(message=_("Not enough stock for some items."), extra={"lines": short})


def stock_allocate_and_reserve(
    *,
    items: Iterable[tuple[int, int]],
    region: str,
    reference: str,
    actor=None,
    precheck: bool = True,
    optional: Iterable[tuple[int, int]] = (),
) -> list[Allocation]:
    """Reserve `(sku_id, quantity)` items from the warehouses that hold them, all or nothing.

    Every stock row of the SKUs is locked first (primary-key order), so the choice of
    warehouses is made on figures no one else can change: warehouses of the buyer's
    `region` first (city cloud before regional central), then the others by code; a line
    may split over several warehouses. Raises `InsufficientStock` listing the short SKUs —
    at once, without waiting for the locks, when a plain read already shows too few units
    (`stock_check_available`; `precheck=False` when the caller has just made it).
    Statements, whatever the number of items: the read, `SET LOCAL lock_timeout`, the locking
    SELECT, one UPDATE of the rows with the INSERT of the movements (and an alert write when a row crosses
    its reorder point).

    `optional` `(sku_id, quantity)` items (a promotion's gift) are locked with the others, in
    the same primary-key order, and reserved whole from what the required items leave, or
    not at all: they never refuse. The allocations (one per stock row) then cover the
    required units and the optional ones reserved; the caller tells which by the units.
    """
    wanted = _wanted(items)
    extra = _wanted(optional)
    if not wanted:
        return []
    if precheck:
        stock_check_available(items=wanted.items())
    short = []

    # No savepoint (two statements fewer): nothing is written before the locked check, so a
    # refusal leaves the block first and is raised after it, and the caller's transaction stays
    # usable; any error inside (a lock timeout, a failed write) rolls back the caller's whole
    # transaction, which is what all or nothing asks.
    with transaction.atomic(savepoint=False):
        _set_lock_timeout()
        ids = sorted(wanted.keys() | extra.keys())
        rows = _locked(_RESERVING_ROWS.queryset(len(ids), markers={"ids": id_markers(len(ids))}, values={"ids": ids}))

        def preference(row: Stock):
            w = row.warehouse
            return (w.region != region, w.kind != "city_cloud", w.code)

        # Units planned per locked row (insertion order: the allocations' order).
        plan: dict[Stock, int] = {}

        def picks(sku_id: int, quantity: int) -> tuple[list[tuple[Stock, int]], int]:
            chosen, remaining = [], quantity
            for row in sorted((r for r in rows if r.sku_id == sku_id), key=preference):
                if remaining == 0:
                    break
                take = min(row.available - plan.get(row, 0), remaining)
                if take > 0:
                    chosen.append((row, take))
                    remaining -= take
            return chosen, remaining

        for sku_id, quantity in sorted(wanted.items()):
            chosen, remaining = picks(sku_id, quantity)
            if remaining:
                available = sum(r.available for r in rows if r.sku_id == sku_id)
                short.append({"sku": sku_id, "requested": quantity, "available": available})
            for row, take in chosen:
                plan[row] = plan.get(row, 0) + take
        for sku_id, quantity in sorted(extra.items()):
            chosen, remaining = picks(sku_id, quantity)
            for row, take in chosen if not remaining else ():
                plan[row] = plan.get(row, 0) + take
        if not short:
            _write(
                [_Change(row, MovementKind.RESERVATION, reserved_delta=take) for row, take in plan.items()],
                actor=actor,
                reference=reference,
            )
    if short:
        raise InsufficientStock(message=_("Not enough stock for some items."), extra={"lines": short})
    return [Allocation(row.sku_id, row.warehouse_id, take) for row, take in plan.items()]


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
    changes = []
    for key, (_sku, _warehouse, on_hand) in wanted.items():
        row = rows[key]
        delta = on_hand - row.on_hand
        if not delta:
            continue
        changed[key] = (row.on_hand, on_hand)
        kind = MovementKind.RECEIPT if row.on_hand == 0 else MovementKind.ADJUSTMENT
        changes.append(_Change(row, kind, on_hand_delta=delta))
    _write(changes, actor=actor, reference=reference, reason=reason)
    return changed
