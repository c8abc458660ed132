"""Parcels: merchant orders travelling together (read by the services and the pages)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..choices import ShipmentStatus
from ..models import (
    ShipmentLine,
)

# --- Parcels: merchant orders travelling together (read by the services and the pages) -----


def parcel_order_ids(order_ids: Iterable[int]) -> set[int]:
    """The given merchant orders and every order sharing a pending parcel with them (reads only)."""
    found = set(order_ids)
    while True:
        parcels = ShipmentLine.objects.filter(
            order_line__merchant_order_id__in=found, shipment__status=ShipmentStatus.PENDING
        ).values("shipment_id")
        more = set(
            ShipmentLine.objects.filter(shipment_id__in=parcels).values_list("order_line__merchant_order_id", flat=True)
        )
        if more <= found:
            return found
        found |= more


def parcel_groups(order_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """For each of the orders (and those merged with them): the ids of its parcel group, in
    a fixed number of queries however many orders there are (reads only)."""
    ids = parcel_order_ids(order_ids)
    parent = {pk: pk for pk in ids}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    members: dict[int, set[int]] = defaultdict(set)
    for shipment_id, order_id in ShipmentLine.objects.filter(
        order_line__merchant_order_id__in=ids, shipment__status=ShipmentStatus.PENDING
    ).values_list("shipment_id", "order_line__merchant_order_id"):
        members[shipment_id].add(order_id)
    for together in members.values():
        first, *rest = together
        for other in rest:
            parent[root(other)] = root(first)
    groups: dict[int, set[int]] = defaultdict(set)
    for pk in ids:
        groups[root(pk)].add(pk)
    return {pk: frozenset(groups[root(pk)]) for pk in ids}
