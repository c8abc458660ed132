"""Parcel locks and taking an order out of a shared parcel.

Below both `lifecycle` (cancelling an order first takes it out of a shared parcel) and
`fulfilment` (merging and shipping parcels), so that each imports this module and neither
imports the other's functions from inside its own.

Locks: merchant orders by primary key, then their pending parcels by primary key (the order
`fulfilment` and `lifecycle` keep).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from ..choices import ShipmentStatus
from ..models import MerchantOrder, OrderEvent, Shipment, ShipmentLine
from ..selectors import parcel_order_ids


def _lock_orders(order_ids: Iterable[int]) -> list[MerchantOrder]:
    # Only the merchant orders: locking the joined buyer orders here would take them after
    # their merchant orders, the reverse of lifecycle's order (buyer order first).
    return list(
        MerchantOrder.objects.select_for_update(of=("self",))
        .filter(pk__in=set(order_ids))
        .select_related("buyer_order")
        .order_by("pk")
    )


def _lock_parcel(order: MerchantOrder) -> list[MerchantOrder]:
    """Lock the order's parcel group; a merge finishing just before may have grown it, so
    look again under the locks until the group is stable (merges lock every order first)."""
    ids = parcel_order_ids([order.pk])
    while True:
        locked = _lock_orders(ids)
        again = parcel_order_ids(ids)
        if again == ids:
            return locked
        ids = again


def _lock_parcels(shipment_lines) -> list[Shipment]:
    """Lock the pending parcels holding `shipment_lines`, by primary key. (PostgreSQL refuses
    FOR UPDATE with DISTINCT, hence the subquery rather than a join.)"""
    return list(
        Shipment.objects.select_for_update()
        .filter(pk__in=shipment_lines.values("shipment_id"), status=ShipmentStatus.PENDING)
        .order_by("pk")
    )


@transaction.atomic
def shipment_detach(*, order: MerchantOrder, actor=None) -> bool:
    """Take `order`'s lines out of parcels shared with other orders into parcels of their own,
    so that cancelling it leaves the other orders' goods waiting to ship. Returns whether
    anything moved (nothing does for an order whose parcels are its own)."""
    locked = {o.pk: o for o in _lock_parcel(order)}
    if len(locked) == 1:
        return False
    shared = _lock_parcels(ShipmentLine.objects.filter(order_line__merchant_order_id=order.pk))
    for parcel in shared:
        if not ShipmentLine.objects.filter(shipment=parcel).exclude(order_line__merchant_order_id=order.pk).exists():
            continue
        alone = Shipment.objects.create(
            merchant_id=parcel.merchant_id,
            warehouse_id=parcel.warehouse_id,
            buyer_id=parcel.buyer_id,
            address=parcel.address,
        )
        ShipmentLine.objects.filter(shipment=parcel, order_line__merchant_order_id=order.pk).update(shipment=alone)
    mine = locked[order.pk]
    OrderEvent.objects.create(
        merchant_order=mine, action="unmerge", from_status=mine.status, to_status=mine.status, actor=actor
    )
    return True
