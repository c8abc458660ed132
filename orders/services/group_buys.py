"""Ladder group buys, the orders side: joining places an order at the first step's price;
closing refunds each participant through the refund machinery. Here because promotions may
not import orders; the rules of the ladder stay in `promotions.services.group_buys`.

Guarantees:
- `group_buy_join` is one use case (`atomic(durable=True)`): the place in the group (group or
  campaign locked), the order at the first step's price (the line's discount split by the
  campaign's funding and frozen like any discount, with its `OrderLineDiscount` row naming
  the campaign) and the participant row, or nothing;
- `group_buys_close_due` (periodic) closes each due group in its own transaction
  (`promotions.services.group_buy_decide` writes every participant's outcome once, under the
  group's lock), then carries out each unsettled outcome in its own transaction: the
  participant claimed under its row lock, the refund recorded with the natural reference
  `group-buy-<participant id>` (a second `refund_issue` with it returns the first refund), and
  the participant marked settled in that same transaction. A run that stops halfway leaves the
  rest unsettled for the next run; a run twice finds them settled: each participant is
  refunded exactly once. The gateway is called after commit by `refund_execute_task`.
- difference: (final − first step) percent of the line's gross, never more than still
  refundable on the line; the refund reverses its share of base, platform discount and
  commission (refunds.py) and is added to the line's discount row as the part given later
  (`later_merchant_part`/`later_platform_part`, by the campaign's funding): the campaign's
  marketing cost is what the buyer really got, first step plus difference; failed group: the merchant order cancelled while its state allows
  it (stock released) and everything refunded, shipping too; a participant unpaid at the close
  has its order cancelled (one paid just after the close is refunded in full, it did not count).
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from marketplace.jobs import run_each
from marketplace.money import allocate
from promotions.choices import GroupBuyOutcome
from promotions.selectors import (
    groups_due_ids,
    participant_get,
    participants_unsettled_ids,
)
from promotions.services import (
    group_buy_decide,
    group_buy_join_terms,
    group_buy_participant_claim,
    group_buy_participant_record,
    group_buy_participant_settled,
)

from ..choices import BuyerOrderStatus, OrderStatus
from ..models import TRANSITIONS, Address, BuyerOrder, MerchantOrder, OrderLineDiscount
from .checkout import CheckoutItem, _place
from .lifecycle import buyer_order_cancel_unpaid, merchant_order_cancel
from .refunds import RefundItem, full_refund_items, refund_issue

#: Merchant order states in which the buyer's money is still held for the goods.
STANDING_STATES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED})


def group_buy_join(*, buyer, address: Address, campaign_id: int, group_id: int | None = None, quantity: int = 1):
    """Join group `group_id` of the campaign, or open a new group when None: places the order
    for the campaign's SKU at the first step's price and records the participant. Returns
    (participant, buyer order). Refusals (nothing written): 404 for an unknown campaign or
    group, 409 `group_buy_not_active`, `group_closed`, `already_joined`, 400
    `invalid_quantity`, and checkout's own (`sku_unavailable`, `insufficient_stock`, …)."""
    with transaction.atomic(durable=True):
        terms = group_buy_join_terms(campaign_id=campaign_id, group_id=group_id, buyer=buyer, quantity=quantity)

        def first_step(sku_id, gross):
            return terms.discount(gross) if sku_id == terms.sku_id else None

        order = _place(
            buyer=buyer,
            address=address,
            items=[CheckoutItem(terms.sku_id, terms.quantity)],
            line_discount=first_step,
        )
        line = order.merchant_orders.all()[0].lines.all()[0]
        # The line's discount by source, as checkout writes a promotion's or a flash sale's.
        OrderLineDiscount.objects.create(
            line=line,
            group_buy_id=terms.group.campaign_id,
            merchant_part=line.merchant_discount,
            platform_part=line.platform_discount,
        )
        participant = group_buy_participant_record(
            terms=terms,
            buyer=buyer,
            order_id=order.pk,
            unit_price=line.unit_price,
            merchant_discount=line.merchant_discount,
            platform_discount=line.platform_discount,
        )
    return participant, order


def _standing_orders(order_ids: list[int]) -> list[int]:
    """Of these buyer orders, those paid and not cancelled (a merchant order in a standing state)."""
    return list(
        BuyerOrder.objects.filter(pk__in=order_ids, paid_at__isnull=False, merchant_orders__status__in=STANDING_STATES)
        .values_list("pk", flat=True)
        .distinct()
    )


def _close_group(group_id: int, *, now) -> bool:
    return group_buy_decide(group_id=group_id, standing_orders=_standing_orders, now=now) is not None


def _refund_all(order: MerchantOrder, reference: str, reason: str):
    """Cancel the merchant order while its state allows it, and refund everything left."""
    if TRANSITIONS.can("cancel", order):
        order = merchant_order_cancel(order=order, note=reason)
    items = full_refund_items(order)
    shipping_left = order.shipping_fee - sum(order.refunds.values_list("shipping_amount", flat=True), 0)
    if not items and shipping_left <= 0:
        return None
    return refund_issue(
        merchant_order=order, items=items, shipping_amount=shipping_left, reason=reason, reference=reference
    )


def _record_later_discount(line, amount) -> None:
    """The difference refunded is a discount the buyer got after placement: add it to the
    line's group-buy discount row, split by the campaign's funding as the first step was, so
    the campaign's marketing cost is what the buyer really got (first step + difference).
    Runs once per participant (under its claim); a line placed before the rows existed has
    none and is left alone."""
    row = OrderLineDiscount.objects.select_related("group_buy").filter(line=line, group_buy__isnull=False).first()
    if row is None:
        return
    share = row.group_buy.platform_share
    row.later_merchant_part, row.later_platform_part = allocate(amount, [1 - share, share])
    row.save(update_fields=["later_merchant_part", "later_platform_part"])


def group_buy_participant_settle(*, participant_id: int) -> bool:
    """Carry out one participant's decided outcome, once (module docstring). Returns whether
    anything was done (False: settled already, or not decided)."""
    found = participant_get(participant_id)
    if found is None or found.order_id is None:
        return False
    with transaction.atomic():
        # The orders first, then the participant: the order in which paying an order locks
        # them (buyer order, merchant order, group, participant).
        buyer_order = BuyerOrder.objects.select_for_update().get(pk=found.order_id)
        order = MerchantOrder.objects.select_for_update().get(buyer_order=buyer_order)
        participant = group_buy_participant_claim(participant_id=participant_id)
        if participant is None:
            return False
        reference = f"group-buy-{participant.pk}"
        refund = None
        outcome = participant.outcome
        if outcome == GroupBuyOutcome.UNPAID_CANCEL and buyer_order.status == BuyerOrderStatus.PENDING_PAYMENT:
            buyer_order_cancel_unpaid(buyer_order=buyer_order, note="group buy closed before payment")
        elif outcome == GroupBuyOutcome.UNPAID_CANCEL and buyer_order.paid_at is not None:
            # Paid after the group closed: it did not count, so it gets its money back.
            refund = _refund_all(order, reference, "group buy closed before payment")
        elif outcome == GroupBuyOutcome.FULL_REFUND and order.status != OrderStatus.CANCELLED:
            refund = _refund_all(order, reference, "group buy failed")
        elif outcome == GroupBuyOutcome.DIFFERENCE and order.status != OrderStatus.CANCELLED:
            line = order.lines.get()
            amount = min(participant.refund_due, line.paid - line.refunded)
            if amount > 0:
                refund = refund_issue(
                    merchant_order=order,
                    items=[RefundItem(line.pk, amount, 0)],
                    reason="group buy final step",
                    reference=reference,
                )
                _record_later_discount(line, amount)
        group_buy_participant_settled(participant=participant, refund_id=refund.pk if refund else None)
    return True


def group_buys_close_due(*, now=None) -> int:
    """Periodic: close the groups whose time is up, then carry out every outcome not carried
    out yet (this run's and any a stopped run left), each in its own transaction; a failure is
    recorded as a `JobFailure` and the rest go on. Returns how many participants were settled."""
    now = now or timezone.now()
    run_each(
        job="orders.group_buy_close",
        object_type="promotions.groupbuygroup",
        ids=groups_due_ids(now=now),
        handle=partial(_close_group, now=now),
    )
    run = run_each(
        job="orders.group_buy_settle",
        object_type="promotions.groupbuyparticipant",
        ids=participants_unsettled_ids(),
        handle=lambda pk: group_buy_participant_settle(participant_id=pk),
    )
    return run.done
