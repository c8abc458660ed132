"""Fulfilment by the merchant: merging orders into one parcel, shipping a parcel, and
shipping many orders from a CSV file.

A *parcel* is a pending `Shipment`. Checkout makes one per merchant order and warehouse;
`shipment_merge` lets the merchant put the lines of several paid orders of the same buyer
into one parcel. From then on the orders travel together: shipping any of them ships all.

`shipment_merge` guarantees:
- it merges only the acting merchant's orders (another's is `not_found`, 404), each paid and waiting to ship (its lines all
  in pending parcels), of one buyer, one delivery address snapshot (recipient, phone, region
  and street address: the label on the parcel) and one warehouse; anything else is refused
  with a stable code (below) and nothing changes;
- every shipment line of the orders' pending parcels moves into the oldest of them and the
  emptied parcels are deleted. Quantities, order lines and stock reservations do not change
  (a reservation is per SKU and warehouse, and the warehouse is the same);
- each merged order gets an `OrderEvent` ("merge"), and the merge is audited.

`merchant_order_ship_parcel` ships an order and every order sharing a pending parcel with it,
all or none: each one goes through the `ship` transition (event row, 409 if one is not
paid), the reserved stock of each leaves its warehouse, and the parcels are marked shipped
with the carrier and tracking number. For an order with parcels of its own this is exactly
`lifecycle.merchant_order_ship`.

`parcels.shipment_detach` takes an order's lines out of a shared parcel into parcels of their own
(the other orders' goods stay waiting to ship); `merchant_order_cancel_by_buyer` does that
before `lifecycle.buyer_cancel`, whose cancellation would otherwise cancel the whole shared
parcel and strand the other orders' reserved stock.

`merchant_orders_ship_csv` ships every order of a CSV file (order_number, carrier,
tracking_number), all or none: every row is checked first (unknown or another merchant's
order, not waiting to ship, missing or too long fields, the same order twice, orders of one
parcel given different tracking numbers) and any problem refuses the whole file with every
error and its line number; a good file is applied in one transaction, and the states are
checked again under lock.

Locks: merchant orders by primary key, then their pending parcels by primary key, then stock
rows (through `catalog.services.stock_ship`): the same order as `lifecycle`. Errors:
`merge_needs_two_orders`, `not_found` (404: another merchant's order, checked under the
lock by every service here that takes the acting `merchant`), `merge_not_waiting_to_ship` (409),
`merge_buyer_differs`, `merge_address_differs`, `merge_warehouse_differs`, `already_merged`,
`tracking_required`, `carrier_too_long`, `tracking_number_too_long`, `invalid_transition`
(409), and for files `file_too_large`, `file_encoding`, `file_corrupt`, `import_empty`,
`import_columns_missing`, `import_too_many_rows`, `import_invalid` (400, every row error
`{line, code, message}` in `extra.errors`, with the codes `order_number_required`,
`carrier_required`, `tracking_number_required`, `carrier_too_long`,
`tracking_number_too_long`, `unknown_order`, `duplicate_order`, `not_waiting_to_ship`,
`parcel_tracking_differs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.services import stock_ship
from marketplace.audit import audit_record
from marketplace.csvfiles import read_csv
from marketplace.errors import NotFoundError

from ..choices import ShipmentStatus
from ..errors import OrderConflict, OrderError, OrderInvalidTransition
from ..models import TRANSITIONS, BuyerOrder, MerchantOrder, OrderEvent, Shipment, ShipmentLine
from ..selectors import parcel_groups, parcel_order_ids
from . import notices

# lifecycle's transition helper is shared on purpose: a parcel's orders must go through the
# very same state check and event row as a single order.
from .lifecycle import (
    buyer_cancel,
    merchant_order_reserved_lines,
    merchant_order_ship,
    merchant_order_transition,
    shipped_changes,
)
from .parcels import _lock_orders, _lock_parcel, _lock_parcels, shipment_detach

CARRIER_MAX = Shipment._meta.get_field("carrier").max_length
TRACKING_MAX = Shipment._meta.get_field("tracking_number").max_length
MAX_BYTES = 1024 * 1024
MAX_ROWS = 2_000
COLUMNS = ("order_number", "carrier", "tracking_number")


# --- Parcels --------------------------------------------------------------------------------


def _clean_tracking(carrier: str, tracking_number: str) -> tuple[str, str]:
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise OrderError("tracking_required", _("Give the carrier and the tracking number."))
    if len(carrier) > CARRIER_MAX:
        raise OrderError(
            "carrier_too_long",
            _("The carrier has at most %(n)d characters.") % {"n": CARRIER_MAX},
            {"max": CARRIER_MAX},
        )
    if len(tracking_number) > TRACKING_MAX:
        raise OrderError(
            "tracking_number_too_long",
            _("The tracking number has at most %(n)d characters.") % {"n": TRACKING_MAX},
            {"max": TRACKING_MAX},
        )
    return carrier, tracking_number


def _ship_locked(orders: list[MerchantOrder], *, actor, carrier: str, tracking_number: str) -> list[MerchantOrder]:
    """Ship a locked parcel group: the caller holds the locks of every order in it."""
    for order in orders:
        if not TRANSITIONS.can("ship", order):
            raise OrderInvalidTransition(
                message=_("Order %(number)s travels in the same parcel and is “%(status)s”: it cannot ship.")
                % {"number": order.number, "status": order.get_status_display()},
                extra={"status": order.status, "order": order.number, "action": "ship"},
            )
    # Read every order's reservations before any parcel is marked shipped: once it is, the
    # lines of the others no longer count as reserved.
    reserved = {order.pk: merchant_order_reserved_lines(order) for order in orders}
    note = f"{carrier} {tracking_number}"
    shipped = [
        merchant_order_transition(order, "ship", actor=actor, note=note, changes=shipped_changes(carrier))
        for order in orders
    ]
    for order in shipped:
        if reserved[order.pk]:
            stock_ship(lines=reserved[order.pk], reference=f"ship:{order.number}", actor=actor)
    Shipment.objects.filter(lines__order_line__merchant_order__in=shipped, status=ShipmentStatus.PENDING).update(
        status=ShipmentStatus.SHIPPED, carrier=carrier, tracking_number=tracking_number, shipped_at=timezone.now()
    )
    for order in shipped:
        notices.order_shipped(order, carrier=carrier, tracking_number=tracking_number)
    return shipped


def _check_owner(orders: Iterable[MerchantOrder], merchant) -> None:
    """Under the orders' locks: another merchant's order is not found (404)."""
    if merchant is None or any(o.merchant_id != merchant.pk for o in orders):
        raise NotFoundError(message=_("No such order."))


@transaction.atomic
def merchant_order_ship_parcel(
    *, order: MerchantOrder, merchant, actor, carrier: str, tracking_number: str
) -> list[MerchantOrder]:
    """`merchant` ships its `order` and every order merged into the same parcel; returns
    them, by id. Locks the parcel's orders by id (ownership checked under the locks)."""
    carrier, tracking_number = _clean_tracking(carrier, tracking_number)
    group = _lock_parcel(order)
    _check_owner(group, merchant)
    if len(group) == 1:
        return [
            merchant_order_ship(
                order=order, merchant=merchant, actor=actor, carrier=carrier, tracking_number=tracking_number
            )
        ]
    return _ship_locked(group, actor=actor, carrier=carrier, tracking_number=tracking_number)


def _address(order: MerchantOrder) -> tuple[str, str, str, str]:
    bo: BuyerOrder = order.buyer_order
    return bo.recipient, bo.phone, bo.region, bo.address


@transaction.atomic
def shipment_merge(*, merchant, orders: Iterable[MerchantOrder], actor) -> Shipment:
    """Merge the pending parcels of `orders` (and of orders already merged with them) into one."""
    wanted = {o.pk for o in orders}
    if len(wanted) < 2:
        raise OrderError("merge_needs_two_orders", _("Choose at least two orders to ship together."))
    ids = parcel_order_ids(wanted)
    locked = _lock_orders(ids)
    ids = parcel_order_ids(ids)  # under the locks, no merge or cancel can change the group now
    if len(ids) > len(locked):
        locked = _lock_orders(ids)
    _check_owner(locked, merchant)
    for order in locked:
        left_parcel = (
            ShipmentLine.objects.filter(order_line__merchant_order=order)
            .exclude(shipment__status=ShipmentStatus.PENDING)
            .exists()
        )
        if not TRANSITIONS.can("ship", order) or left_parcel:
            raise OrderConflict(
                "merge_not_waiting_to_ship",
                _("Order %(number)s is not waiting to ship; only paid orders not yet shipped can be merged.")
                % {"number": order.number},
                {"order": order.number, "status": order.status},
            )
    first = locked[0]
    if any(o.buyer_order.buyer_id != first.buyer_order.buyer_id for o in locked):
        raise OrderError("merge_buyer_differs", _("Only orders of the same buyer can travel in one parcel."))
    if any(_address(o) != _address(first) for o in locked):
        raise OrderError(
            "merge_address_differs", _("Only orders going to the same recipient and address can travel in one parcel.")
        )
    parcels = _lock_parcels(ShipmentLine.objects.filter(order_line__merchant_order__in=locked))
    if len({p.warehouse_id for p in parcels}) > 1:
        raise OrderError(
            "merge_warehouse_differs", _("Only goods waiting in the same warehouse can travel in one parcel.")
        )
    if len(parcels) == 1:
        raise OrderError("already_merged", _("These orders already travel in one parcel."))
    target, others = parcels[0], parcels[1:]
    ShipmentLine.objects.filter(shipment__in=others).update(shipment=target)
    Shipment.objects.filter(pk__in=[p.pk for p in others]).delete()
    numbers = [o.number for o in locked]
    for order in locked:
        OrderEvent.objects.create(
            merchant_order=order,
            action="merge",
            from_status=order.status,
            to_status=order.status,
            actor=actor,
            note=" ".join(n for n in numbers if n != order.number),
        )
    audit_record(
        action="orders.shipments_merged",
        actor=actor,
        obj=target,
        data={"orders": numbers, "removed_shipments": [p.pk for p in others]},
    )
    return target


@transaction.atomic
def merchant_order_cancel_by_buyer(*, order: MerchantOrder, buyer, reason: str = "") -> MerchantOrder:
    """`lifecycle.buyer_cancel`, once the order is out of any parcel it shares (`shipment_detach`):
    cancelling a merged order must not cancel the parcel of the orders it travelled with.
    Locks the buyer order first, as `buyer_cancel` does."""
    buyer_order = BuyerOrder.objects.select_for_update().get(pk=order.buyer_order_id)
    if buyer_order.buyer_id != buyer.pk:
        raise OrderError("not_your_order", _("This is not your order."))
    shipment_detach(order=order, actor=buyer)
    return buyer_cancel(order=order, buyer=buyer, reason=reason)


# --- Shipping from a CSV file -----------------------------------------------------------------


@dataclass(frozen=True)
class ShipRow:
    line: int
    order: MerchantOrder
    carrier: str
    tracking_number: str


@dataclass
class ShipSummary:
    rows: int = 0
    shipped: int = 0
    lines: list[dict] = field(default_factory=list)


def _row_error(line: int, code: str, message: str) -> dict:
    return {"line": line, "code": code, "message": message}


def ship_csv_read(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every non-blank data row; file-level problems raise
    `OrderError`."""
    return read_csv(data, columns=COLUMNS, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, error=OrderError)


def _field_problems(values: dict[str, str]) -> list[tuple[str, str]]:
    problems = []
    if not values["order_number"]:
        problems.append(("order_number_required", _("The order number is empty.")))
    if not values["carrier"]:
        problems.append(("carrier_required", _("The carrier is empty.")))
    elif len(values["carrier"]) > CARRIER_MAX:
        problems.append(("carrier_too_long", _("The carrier has at most %(n)d characters.") % {"n": CARRIER_MAX}))
    if not values["tracking_number"]:
        problems.append(("tracking_number_required", _("The tracking number is empty.")))
    elif len(values["tracking_number"]) > TRACKING_MAX:
        problems.append(
            ("tracking_number_too_long", _("The tracking number has at most %(n)d characters.") % {"n": TRACKING_MAX})
        )
    return problems


def _state_problem(order: MerchantOrder) -> tuple[str, str] | None:
    if TRANSITIONS.can("ship", order):
        return None
    return (
        "not_waiting_to_ship",
        _("Order %(number)s is “%(status)s”: only paid orders waiting to ship can be shipped.")
        % {"number": order.number, "status": order.get_status_display()},
    )


def ship_csv_validate(*, merchant, rows) -> tuple[list[ShipRow], list[dict]]:
    """Check every row against the merchant's orders; returns the plan and every error (reads only)."""
    numbers = {values["order_number"] for _line, values in rows if values["order_number"]}
    # Another merchant's order reads as unknown: numbers cannot be probed.
    orders = {o.number: o for o in MerchantOrder.objects.filter(merchant=merchant, number__in=numbers)}
    groups = parcel_groups(o.pk for o in orders.values())
    plan: list[ShipRow] = []
    errors: list[dict] = []
    first_line: dict[str, int] = {}
    parcel_row: dict[frozenset, tuple[int, str, str, str]] = {}
    for line, values in rows:
        number = values["order_number"]
        problems = _field_problems(values)
        order = orders.get(number)
        if number and order is None:
            problems.append(("unknown_order", _("You have no order numbered “%(number)s”.") % {"number": number}))
        if number in first_line:
            problems.append(
                ("duplicate_order", _("This order is already on line %(line)d.") % {"line": first_line[number]})
            )
        elif number:
            first_line[number] = line
        if order is not None:
            state = _state_problem(order)
            if state:
                problems.append(state)
            group = groups[order.pk]
            tracking = (values["carrier"], values["tracking_number"])
            earlier = parcel_row.get(group)
            if earlier is not None and earlier[1] != number and earlier[2:] != tracking:
                problems.append(
                    (
                        "parcel_tracking_differs",
                        _(
                            "This order travels in one parcel with order %(number)s (line %(line)d): "
                            "give the same carrier and tracking number."
                        )
                        % {"number": earlier[1], "line": earlier[0]},
                    )
                )
            elif earlier is None:
                parcel_row[group] = (line, number, *tracking)
        if problems:
            errors.extend(_row_error(line, code, message) for code, message in problems)
        else:
            plan.append(ShipRow(line, order, values["carrier"], values["tracking_number"]))
    return plan, errors


def _refuse(errors: list[dict]) -> OrderError:
    return OrderError(
        "import_invalid",
        _("Nothing was shipped: %(n)d problem(s) found. Correct the file and upload it again.") % {"n": len(errors)},
        {"errors": errors},
    )


@transaction.atomic
def ship_csv_apply(*, plan: list[ShipRow], merchant, actor) -> ShipSummary:
    """`merchant` ships every planned row (and the orders merged with them) in this one
    transaction; every order is checked to be theirs under its lock."""
    ids = parcel_order_ids(row.order.pk for row in plan)
    locked = {o.pk: o for o in _lock_orders(ids)}
    groups = parcel_groups(ids)  # under the locks: no merge or cancel can change them now
    if set(groups) - set(locked):
        locked = {o.pk: o for o in _lock_orders(groups)}
    _check_owner(locked.values(), merchant)
    late = [
        _row_error(row.line, *_state_problem(locked[row.order.pk]))
        for row in plan
        if _state_problem(locked[row.order.pk])
    ]
    if late:
        raise _refuse(late)
    summary = ShipSummary(rows=len(plan))
    in_file = {row.order.pk for row in plan}
    shipped_ids: set[int] = set()
    for row in plan:
        group = groups[row.order.pk]
        if row.order.pk not in shipped_ids:
            shipped = _ship_locked(
                [locked[pk] for pk in sorted(group)],
                actor=actor,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
            )
            shipped_ids.update(o.pk for o in shipped)
        summary.lines.append(
            {
                "line": row.line,
                "order": row.order.number,
                "carrier": row.carrier,
                "tracking_number": row.tracking_number,
                # Orders not in the file that left in this row's parcel.
                "with": sorted(locked[pk].number for pk in group if pk not in in_file),
            }
        )
    summary.shipped = len(shipped_ids)
    return summary


def merchant_orders_ship_csv(*, merchant, actor, data: bytes) -> ShipSummary:
    """Read, check and ship a CSV file of orders: every row, or none (see the module)."""
    rows = ship_csv_read(data)
    plan, errors = ship_csv_validate(merchant=merchant, rows=rows)
    if errors:
        raise _refuse(errors)
    return ship_csv_apply(plan=plan, merchant=merchant, actor=actor)
