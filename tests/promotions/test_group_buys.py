"""Ladder group buys (issue #13): joining pays the first step's price through the normal
checkout; closing refunds each participant the difference to the step reached, or everything
below the first step, exactly once however often the close runs or wherever it stopped."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from catalog.models import Stock
from marketplace.errors import NotFoundError
from marketplace.jobs import JobFailure
from orders import services as order_services
from orders.choices import BuyerOrderStatus, OrderStatus
from orders.models import BuyerOrder, MerchantOrder, OrderLine, Refund, RefundLine
from orders.services import group_buys as order_group_buys
from promotions import services
from promotions.choices import GroupBuyOutcome, GroupStatus, ParticipantStatus
from promotions.errors import GroupBuyConflict, GroupBuyError
from promotions.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyParticipant, GroupBuyStep
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.group_buy_world import after_close, build_group_world, group_of, join

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def world():
    return build_group_world()


def refunds_of(participant) -> list[tuple]:
    return sorted(
        Refund.objects.filter(merchant_order__buyer_order_id=participant.order_id).values_list(
            "amount", "shipping_amount", "reference"
        )
    )


# --- Campaigns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([], "invalid_steps"),
        ([(1, "10")], "invalid_steps"),
        ([(2, "0")], "invalid_percent"),
        ([(2, "100")], "invalid_percent"),
        ([(2, "10.555")], "invalid_percent"),
        ([(2, "10"), (2, "20")], "steps_not_increasing"),
        ([(2, "10"), (5, "10")], "steps_not_increasing"),
        ([(5, "10"), (2, "20")], "steps_not_increasing"),
        ([(2, "20"), (5, "10")], "steps_not_increasing"),
        ([("x", "10")], "invalid_steps"),
    ],
)
def test_bad_ladders_are_refused_and_nothing_is_written(world, steps, code):
    before = (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count())
    with pytest.raises(GroupBuyError) as refused:
        services.group_buy_create(
            merchant=world.shop,
            actor=world.shop.owner,
            sku_id=world.sku.pk,
            name="x",
            starts_at=world.campaign.starts_at,
            ends_at=world.campaign.ends_at,
            steps=steps,
        )
    assert refused.value.code == code
    assert (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count()) == before


def test_a_campaign_keeps_its_ladder_funded_by_the_merchant(world):
    assert list(world.campaign.steps.values_list("participants", "percent")) == [
        (2, D("10.00")),
        (5, D("20.00")),
        (10, D("30.00")),
    ]
    assert world.campaign.platform_share == D("0")
    assert world.campaign.window_hours == 24


def test_another_merchants_sku_is_not_found(world):
    with pytest.raises(NotFoundError):
        services.group_buy_create(
            merchant=world.other_shop,
            actor=world.other_shop.owner,
            sku_id=world.sku.pk,
            name="x",
            starts_at=world.campaign.starts_at,
            ends_at=world.campaign.ends_at,
            steps=[(2, "10")],
        )
    assert GroupBuyCampaign.objects.count() == 1


# --- Joining ----------------------------------------------------------------------------------


def test_opening_a_group_places_an_order_at_the_first_steps_price(world):
    participant, order = join(world, quantity=2, paid=False)
    group = participant.group
    assert (group.status, group.paid_count, group.opened_by_id) == (GroupStatus.OPEN, 0, participant.buyer_id)
    assert group.closes_at - group.opened_at == timedelta(hours=24)
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # 2 × ¥100 at 10 % off, merchant-funded, frozen on the line like any discount.
    assert (line.gross, line.merchant_discount, line.platform_discount, line.paid, line.base) == (
        D("200.00"),
        D("20.00"),
        D("0.00"),
        D("180.00"),
        D("180.00"),
    )
    order.refresh_from_db()
    # Goods at their gross, the step's discount among the order's discounts.
    assert (order.goods_total, order.discount_total, order.shipping_total, order.payable_total) == (
        D("200.00"),
        D("20.00"),
        D("8.00"),
        D("188.00"),
    )
    assert (participant.status, participant.gross, participant.first_percent, participant.discount) == (
        ParticipantStatus.PENDING,
        D("200.00"),
        D("10.00"),
        D("20.00"),
    )


def test_the_platform_share_splits_the_discount(world):
    world = build_group_world(platform_share="0.5", price="33.33")
    participant, order = join(world, paid=False)
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # 10 % of 33.33 = 3.333 → 3.33, split by allocate: 1.67 merchant, 1.66 platform.
    assert (line.merchant_discount, line.platform_discount, line.paid, line.base) == (
        D("1.67"),
        D("1.66"),
        D("30.00"),
        D("31.66"),
    )
    assert (participant.merchant_discount, participant.platform_discount) == (D("1.67"), D("1.66"))
    assert MerchantOrder.objects.get(buyer_order=order).platform_discount_total == D("1.66")


def test_only_paid_participants_count(world):
    first, _ = join(world, paid=False)
    assert GroupBuyGroup.objects.get().paid_count == 0
    second, _order = join(world, group=first.group)
    group = GroupBuyGroup.objects.get()
    assert group.paid_count == 1
    second.refresh_from_db()
    assert second.status == ParticipantStatus.PAID and second.paid_at is not None


def test_a_buyer_joins_a_group_once(world):
    first, _ = join(world)
    before = (
        BuyerOrder.objects.count(),
        GroupBuyParticipant.objects.count(),
        list(Stock.objects.values_list("reserved")),
    )
    buyer = first.buyer
    with pytest.raises(GroupBuyConflict) as refused:
        order_services.group_buy_join(
            buyer=buyer, address=address_for(buyer), campaign_id=world.campaign.pk, group_id=first.group_id
        )
    assert refused.value.code == "already_joined"
    assert (
        BuyerOrder.objects.count(),
        GroupBuyParticipant.objects.count(),
        list(Stock.objects.values_list("reserved")),
    ) == before


def test_a_lapsed_unpaid_order_frees_the_place(world):
    first, _ = join(world)
    second, order = join(world, group=first.group, paid=False)
    order_services.buyer_order_cancel_unpaid(buyer_order=order)
    second.refresh_from_db()
    assert second.status == ParticipantStatus.LAPSED
    again, _ = join(world, group=first.group, buyer=second.buyer)
    assert again.status == ParticipantStatus.PAID


@pytest.mark.parametrize("quantity", [0, 4, True, "1"])
def test_quantity_out_of_range_is_refused(world, quantity):
    buyer = UserFactory()
    with pytest.raises(GroupBuyError) as refused:
        order_services.group_buy_join(
            buyer=buyer, address=address_for(buyer), campaign_id=world.campaign.pk, quantity=quantity
        )
    assert refused.value.code == "invalid_quantity"
    assert (GroupBuyGroup.objects.count(), BuyerOrder.objects.count()) == (0, 0)


def test_a_closed_or_expired_group_cannot_be_joined(world):
    first, _ = join(world)
    now = timezone.now()
    GroupBuyGroup.objects.filter(pk=first.group_id).update(
        opened_at=now - timedelta(hours=25), closes_at=now - timedelta(hours=1)
    )
    buyer = UserFactory()
    orders_before = BuyerOrder.objects.count()
    with pytest.raises(GroupBuyConflict) as refused:
        order_services.group_buy_join(
            buyer=buyer, address=address_for(buyer), campaign_id=world.campaign.pk, group_id=first.group_id
        )
    assert refused.value.code == "group_closed"
    assert BuyerOrder.objects.count() == orders_before
    assert GroupBuyParticipant.objects.count() == 1


def test_a_paused_campaign_opens_no_group(world):
    services.group_buy_transition(campaign=world.campaign, action="pause", actor=world.shop.owner)
    buyer = UserFactory()
    with pytest.raises(GroupBuyConflict) as refused:
        order_services.group_buy_join(buyer=buyer, address=address_for(buyer), campaign_id=world.campaign.pk)
    assert refused.value.code == "group_buy_not_active"
    assert (GroupBuyGroup.objects.count(), BuyerOrder.objects.count()) == (0, 0)


# --- Closing: exact refunds per step ------------------------------------------------------------


def test_two_participants_stay_at_the_first_step_nothing_refunded(world):
    participants = group_of(world, 2)
    settled = order_services.group_buys_close_due(now=after_close(participants[0].group))
    group = GroupBuyGroup.objects.get()
    assert (group.status, group.final_percent, group.paid_count) == (GroupStatus.SUCCEEDED, D("10.00"), 2)
    assert settled == 0
    assert Refund.objects.count() == 0
    assert sorted(GroupBuyParticipant.objects.values_list("outcome", "refund_due")) == [
        (GroupBuyOutcome.NOTHING, D("0.00")),
        (GroupBuyOutcome.NOTHING, D("0.00")),
    ]


def test_five_participants_reach_20_percent_each_refunded_the_difference_times_units(world):
    participants = group_of(world, 5, quantities=[1, 2, 1, 3, 1])
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 5
    group = GroupBuyGroup.objects.get()
    assert (group.status, group.final_percent) == (GroupStatus.SUCCEEDED, D("20.00"))
    # (¥90 − ¥80) × units, through the refund machinery, nothing of shipping.
    for participant, units in zip(participants, [1, 2, 1, 3, 1], strict=True):
        assert refunds_of(participant) == [(D("10.00") * units, D("0.00"), f"group-buy-{participant.pk}")]
        participant.refresh_from_db()
        assert (participant.outcome, participant.refund_due) == (GroupBuyOutcome.DIFFERENCE, D("10.00") * units)
        assert participant.settled_at is not None
        assert participant.refund_id == Refund.objects.get(reference=f"group-buy-{participant.pk}").pk
        order = MerchantOrder.objects.get(buyer_order_id=participant.order_id)
        assert order.status == OrderStatus.PAID  # the order goes on to be shipped
    # The refund reverses its share of base and commission (domain.md "Refunds").
    line = OrderLine.objects.get(merchant_order__buyer_order_id=participants[1].order_id)
    refund_line = RefundLine.objects.get(order_line=line)
    assert (line.paid, line.refunded) == (D("180.00"), D("20.00"))
    assert refund_line.refunded_base == D("20.00")
    assert refund_line.commission_returned == (line.commission * D("20") / D("180")).quantize(D("0.01"))


def test_ten_participants_reach_30_percent(world):
    participants = group_of(world, 10)
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 10
    assert GroupBuyGroup.objects.get().final_percent == D("30.00")
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [D("20.00")] * 10


def test_rounding_is_per_line_and_exact():
    world = build_group_world(price="33.33")
    participants = group_of(world, 10)
    order_services.group_buys_close_due(now=after_close(participants[0].group))
    # first 3.333 → 3.33 off, final 9.999 → 10.00 off: ¥6.67 back each.
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [D("6.67")] * 10


def test_platform_funded_discount_is_taken_back_in_proportion():
    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    order_services.group_buys_close_due(now=after_close(participants[0].group))
    line = OrderLine.objects.get(merchant_order__buyer_order_id=participants[0].order_id)
    assert (line.merchant_discount, line.platform_discount, line.paid) == (D("5.00"), D("5.00"), D("90.00"))
    refund_line = RefundLine.objects.get(order_line=line)
    assert (refund_line.amount, refund_line.platform_discount_back, refund_line.refunded_base) == (
        D("10.00"),
        D("0.56"),  # 5.00 × 10 / 90 = 0.555… → 0.56
        D("10.56"),  # 95.00 × 10 / 90 = 10.555… → 10.56
    )


def test_a_failed_group_refunds_everyone_in_full_and_cancels_the_order(world):
    participants = group_of(world, 1, quantities=[2])
    reserved_before = sum(Stock.objects.values_list("reserved", flat=True))
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 1
    group = GroupBuyGroup.objects.get()
    assert (group.status, group.final_percent, group.paid_count) == (GroupStatus.FAILED, None, 1)
    # ¥180 for the goods and the ¥8 shipping, all of it.
    assert refunds_of(participants[0]) == [(D("188.00"), D("8.00"), f"group-buy-{participants[0].pk}")]
    order = MerchantOrder.objects.get(buyer_order_id=participants[0].order_id)
    assert order.status == OrderStatus.CANCELLED
    assert sum(Stock.objects.values_list("reserved", flat=True)) == reserved_before - 2


def test_an_unpaid_participant_is_cancelled_at_the_close_and_does_not_count(world):
    first, _ = join(world)
    second, order = join(world, group=first.group, paid=False)
    order_services.group_buys_close_due(now=after_close(first.group))
    group = GroupBuyGroup.objects.get()
    assert (group.status, group.paid_count) == (GroupStatus.FAILED, 1)  # one paid: below the first step
    order.refresh_from_db()
    assert order.status == BuyerOrderStatus.CANCELLED
    assert refunds_of(second) == []
    assert refunds_of(first) == [(D("98.00"), D("8.00"), f"group-buy-{first.pk}")]


def test_a_paid_participant_who_cancelled_before_the_close_does_not_count(world):
    participants = group_of(world, 5)
    leaver = participants[4]
    mo = MerchantOrder.objects.get(buyer_order_id=leaver.order_id)
    order_services.buyer_cancel(order=mo, buyer=leaver.buyer)
    order_services.group_buys_close_due(now=after_close(leaver.group))
    group = GroupBuyGroup.objects.get()
    assert (group.paid_count, group.final_percent) == (4, D("10.00"))  # 4 of 5: the first step
    assert refunds_of(leaver) == [(D("98.00"), D("8.00"), f"cancel-{mo.number}")]  # its own cancellation only
    assert Refund.objects.count() == 1


# --- Exactly once -------------------------------------------------------------------------------


def test_the_close_run_twice_refunds_each_participant_once(world):
    participants = group_of(world, 5)
    now = after_close(participants[0].group)
    assert order_services.group_buys_close_due(now=now) == 5
    assert order_services.group_buys_close_due(now=now) == 0
    assert Refund.objects.count() == 5
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [D("10.00")] * 5
    for participant in participants:
        participant.refresh_from_db()
        assert OrderLine.objects.get(merchant_order__buyer_order_id=participant.order_id).refunded == D("10.00")
    # Settling a participant again directly finds it settled.
    assert order_group_buys.group_buy_participant_settle(participant_id=participants[0].pk) is False


def test_a_close_that_crashes_halfway_is_finished_by_the_next_run_each_refunded_once(world):
    participants = group_of(world, 5)
    now = after_close(participants[0].group)
    real_issue = order_group_buys.refund_issue
    calls = {"n": 0}

    def crashing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker lost")
        return real_issue(**kwargs)

    with mock.patch.object(order_group_buys, "refund_issue", crashing):
        assert order_services.group_buys_close_due(now=now) == 4  # the third failed, the others went on
    assert Refund.objects.count() == 4
    third = participants[2]
    third.refresh_from_db()
    assert third.settled_at is None and third.outcome == GroupBuyOutcome.DIFFERENCE
    assert JobFailure.objects.get(job="orders.group_buy_settle").object_id == str(third.pk)

    # A crash between the refund and marking the participant settled (both in one transaction):
    # rolled back together, so the next run refunds it, once.
    assert order_services.group_buys_close_due(now=now) == 1
    assert order_services.group_buys_close_due(now=now) == 0
    assert Refund.objects.count() == 5
    assert refunds_of(third) == [(D("10.00"), D("0.00"), f"group-buy-{third.pk}")]
    assert JobFailure.objects.get(job="orders.group_buy_settle").resolved_at is not None


def test_a_crash_after_the_refund_rolls_back_with_it(world):
    participants = group_of(world, 2, quantities=[1, 1])
    GroupBuyStep.objects.filter(participants=2).update(participants=2)
    participants += [join(world, group=participants[0].group)[0] for _ in range(3)]
    now = after_close(participants[0].group)
    with mock.patch.object(order_group_buys, "group_buy_participant_settled", side_effect=RuntimeError("killed")):
        assert order_services.group_buys_close_due(now=now) == 0
    # The group is decided (its own transaction), no refund recorded, nobody settled.
    assert GroupBuyGroup.objects.get().status == GroupStatus.SUCCEEDED
    assert Refund.objects.count() == 0
    assert order_services.group_buys_close_due(now=now) == 5
    assert Refund.objects.count() == 5


def test_the_periodic_task_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["orders-group-buys-close-due"]["task"] == (
        "orders.tasks.group_buys_close_due_task"
    )


def test_a_payment_after_the_close_does_not_count_and_is_refunded_in_full(world):
    from tests.orders.test_portal_orders import pay

    participants = group_of(world, 2)
    late, late_order = join(world, group=participants[0].group, paid=False)
    now = after_close(late.group)
    assert order_group_buys._close_group(late.group_id, now=now) is True  # decided, not yet carried out
    pay(late_order)  # the gateway confirms after the close
    late.refresh_from_db()
    assert (late.status, late.outcome) == (ParticipantStatus.PENDING, GroupBuyOutcome.UNPAID_CANCEL)
    assert GroupBuyGroup.objects.get().paid_count == 2
    assert order_services.group_buys_close_due(now=now) == 1
    assert refunds_of(late) == [(D("98.00"), D("8.00"), f"group-buy-{late.pk}")]
    assert MerchantOrder.objects.get(buyer_order_id=late.order_id).status == OrderStatus.CANCELLED
    assert [refunds_of(p) for p in participants] == [[], []]  # the first step: nothing back


def test_a_failed_group_of_several_refunds_each_in_full_exactly_once():
    world = build_group_world(steps=[(5, "20"), (8, "30")])
    participants = group_of(world, 3, quantities=[1, 2, 3])
    now = after_close(participants[0].group)
    assert order_services.group_buys_close_due(now=now) == 3
    assert order_services.group_buys_close_due(now=now) == 0
    assert GroupBuyGroup.objects.get().status == GroupStatus.FAILED
    # Paid at the first step (20 % off): ¥80, ¥160, ¥240 for the goods, plus ¥8 shipping each.
    for participant, goods in zip(participants, ["80.00", "160.00", "240.00"], strict=True):
        total = D(goods) + D("8.00")
        assert refunds_of(participant) == [(total, D("8.00"), f"group-buy-{participant.pk}")]
        assert MerchantOrder.objects.get(buyer_order_id=participant.order_id).status == OrderStatus.CANCELLED
    assert Refund.objects.count() == 3
