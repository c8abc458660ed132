"""Group buys under concurrency, with real connections: two close runs at once refund each
participant once; one buyer joining the same group twice at once gets one place."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders import services as order_services
from orders.models import BuyerOrder, OrderLine, Refund
from promotions.errors import GroupBuyConflict
from promotions.models import GroupBuyGroup, GroupBuyParticipant
from tests.orders.factories import address_for
from tests.promotions.group_buy_world import after_close, build_group_world, group_of, join


def run_together(count: int, work) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_two_close_runs_at_once_refund_each_participant_once():
    world = build_group_world()
    participants = group_of(world, 5)
    now = after_close(participants[0].group)
    results, errors = run_together(2, lambda: order_services.group_buys_close_due(now=now))
    assert errors == []
    assert sum(results) == 5  # between them, each participant settled once
    assert Refund.objects.filter(reference__startswith="group-buy-").count() == 5
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("10.00")] * 5
    assert (
        sorted(
            OrderLine.objects.filter(merchant_order__buyer_order_id__in=[p.order_id for p in participants]).values_list(
                "refunded", flat=True
            )
        )
        == [Decimal("10.00")] * 5
    )
    assert GroupBuyGroup.objects.get().final_percent == Decimal("20.00")


@pytest.mark.django_db(transaction=True)
def test_one_buyer_joining_a_group_twice_at_once_gets_one_place():
    world = build_group_world()
    first, _order = join(world)
    buyer = first.buyer.__class__.objects.create_user(email="twice@example.com")
    address = address_for(buyer)
    orders_before = BuyerOrder.objects.count()

    def attempt():
        try:
            order_services.group_buy_join(
                buyer=buyer, address=address, campaign_id=world.campaign.pk, group_id=first.group_id
            )
        except GroupBuyConflict as refused:
            return refused.code
        return "joined"

    results, errors = run_together(2, attempt)
    assert errors == []
    assert sorted(results) == ["already_joined", "joined"]
    assert GroupBuyParticipant.objects.filter(buyer=buyer).count() == 1
    assert BuyerOrder.objects.count() == orders_before + 1
