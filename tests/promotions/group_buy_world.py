"""Builders for the group buy tests: a live shop with one stocked SKU at ¥100.00 (shipping ¥8
flat) and its campaign with the issue's ladder 2 → 10 %, 5 → 20 %, 10 → 30 %."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import SKU
from merchants.models import Merchant
from orders import services as order_services
from orders.models import BuyerOrder, ShippingRate
from promotions import services
from promotions.models import GroupBuyCampaign, GroupBuyParticipant
from tests.catalog.factories import live_merchant, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import pay, stocked_sku

LADDER = [(2, "10"), (5, "20"), (10, "30")]


@dataclass
class GroupWorld:
    shop: Merchant
    other_shop: Merchant
    sku: SKU
    campaign: GroupBuyCampaign


def build_group_world(*, price="100.00", platform_share=None, max_quantity=3, steps=LADDER) -> GroupWorld:
    shop, (cat,) = live_merchant()
    other_shop, _ = live_merchant()
    ShippingRate.objects.create(merchant=shop, flat_fee=Decimal("8.00"), free_over=None)
    sku = stocked_sku(shop, cat, warehouse(), "GB-1", price, quantity=100)
    now = timezone.now()
    campaign = services.group_buy_create(
        merchant=shop,
        actor=shop.owner,
        sku_id=sku.pk,
        name="Lamp for friends",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        steps=steps,
        max_quantity=max_quantity,
    )
    if platform_share is not None:
        GroupBuyCampaign.objects.filter(pk=campaign.pk).update(platform_share=Decimal(platform_share))
        campaign.refresh_from_db()
    return GroupWorld(shop=shop, other_shop=other_shop, sku=sku, campaign=campaign)


def join(world: GroupWorld, *, group=None, buyer=None, quantity=1, paid=True) -> tuple[GroupBuyParticipant, BuyerOrder]:
    buyer = buyer or UserFactory()
    address = address_for(buyer)
    participant, order = order_services.group_buy_join(
        buyer=buyer,
        address=address,
        campaign_id=world.campaign.pk,
        group_id=group.pk if group is not None else None,
        quantity=quantity,
    )
    if paid:
        pay(order)
    participant.refresh_from_db()
    return participant, order


def group_of(world: GroupWorld, paid: int, *, quantities=None):
    """A group with `paid` paid participants (the first opens it); returns its participants."""
    quantities = quantities or [1] * paid
    first, _order = join(world, quantity=quantities[0])
    participants = [first]
    for quantity in quantities[1:]:
        participant, _order = join(world, group=first.group, quantity=quantity)
        participants.append(participant)
    return participants


def after_close(group) -> object:
    """A moment after the group's window."""
    group.refresh_from_db()
    return group.closes_at + timedelta(seconds=1)
