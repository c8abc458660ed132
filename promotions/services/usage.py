"""Using a limited promotion at checkout, and giving the use back when the order is
cancelled before payment.

Guarantees:
- a money budget, a use limit and a per-buyer limit are never exceeded, however many
  checkouts race: each is consumed by one conditional UPDATE (budget `spent + x <= budget`,
  uses `count < max`) or a conditional upsert of the (promotion, buyer) counter row, and the
  database constraints check the counters again;
- only limited promotions write anything: an unlimited one takes no row lock, so it is no
  serialisation point for the checkouts that get it;
- the rows are taken in promotion-id order (the promotion's row, then its buyer counter), the
  same in every checkout, so two checkouts never wait for each other in a cycle;
- a limit that ran out between pricing and this call refuses with 409 `promotion_exhausted`
  (`extra.promotion`): the caller's transaction rolls back, so nothing stays written and the
  buyer re-prices;
- what was counted is recorded per (order, promotion) (`PromotionRedemption`), and
  `promotion_usage_release` gives exactly that back, exactly once;
- the cached pages advertising a promotion (`promotions.pagecache`) are made stale after the
  commit of the checkout whose use spent its last budget or use, and of the release that
  gives one back to a promotion that had run out: pages never show a spent promotion, nor
  hide a live one, until the TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace import pagecache

from ..choices import PromotionStatus
from ..errors import PromotionConflict
from ..models import Promotion, PromotionBuyerUsage, PromotionRedemption
from ..pagecache import promotion_pages_invalidate


@dataclass(frozen=True)
class Use:
    """One applied promotion to count: its id, the discount it gave (line discounts, gift
    and waived shipping) and which of its limits the pricing saw (None: no such limit)."""

    promotion_id: int
    amount: Decimal
    has_budget: bool
    has_max_uses: bool
    has_buyer_limit: bool

    @property
    def is_limited(self) -> bool:
        return self.has_budget or self.has_max_uses or self.has_buyer_limit


def _exhausted(promotion_id: int) -> PromotionConflict:
    return PromotionConflict(
        "promotion_exhausted",
        _("A promotion in your order has just run out. Check the new price and order again."),
        {"promotion": promotion_id},
    )


# The buyer's counter: a new row starts at 1 (a per-buyer limit is at least 1); an existing
# one goes up only while under the promotion's limit. No row returned: the limit is reached.
_BUYER_UPSERT = f"""
INSERT INTO {PromotionBuyerUsage._meta.db_table} (promotion_id, buyer_id, uses) VALUES (%s, %s, 1)
ON CONFLICT (promotion_id, buyer_id) DO UPDATE SET uses = {PromotionBuyerUsage._meta.db_table}.uses + 1
WHERE {PromotionBuyerUsage._meta.db_table}.uses < (
    SELECT per_buyer_limit FROM {Promotion._meta.db_table} WHERE id = EXCLUDED.promotion_id
)
RETURNING id
"""


_TABLE = Promotion._meta.db_table
#: Whether a promotion's row, as an UPDATE leaves it, has nothing left to give.
_RAN_OUT = (
    "(budget_amount IS NOT NULL AND budget_spent >= budget_amount) OR (max_uses IS NOT NULL AND uses_count >= max_uses)"
)


def _count_use(use: Use) -> bool | None:
    """Count `use` on its promotion's row by one conditional UPDATE (the budget: `spent + x
    <= budget`; the uses: `count < max`): None when refused, else whether the row ran out
    with it (RETURNING: no other statement)."""
    sets, where = [], ["id = %s", "status = %s"]
    set_params, where_params = [], [use.promotion_id, PromotionStatus.ACTIVE.value]
    if use.has_budget:
        sets.append("budget_spent = budget_spent + %s")
        set_params.append(use.amount)
        where.append("budget_amount IS NOT NULL AND budget_spent <= budget_amount - %s")
        where_params.append(use.amount)
    if use.has_max_uses:
        sets.append("uses_count = uses_count + 1")
        where.append("max_uses IS NOT NULL AND uses_count < max_uses")
    sql = f"UPDATE {_TABLE} SET {', '.join(sets)} WHERE {' AND '.join(where)} RETURNING {_RAN_OUT}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *where_params])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _exhausted_pages_invalidate(promotion_id: int) -> None:
    # After the checkout's commit: reading what the promotion covers holds no lock of it.
    promotion = Promotion.objects.filter(pk=promotion_id).first()
    if promotion is not None:
        promotion_pages_invalidate(promotion)


def promotion_usage_consume(*, buyer, order_id: int, uses: Sequence[Use]) -> int:
    """Count `uses` of limited promotions for `buyer`'s buyer order `order_id`, inside the
    caller's (checkout's) transaction; returns how many were counted. Unlimited ones are
    skipped without a statement. 409 `promotion_exhausted` when a limit ran out (module
    docstring); the caller must then let its transaction roll back."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("promotion_usage_consume runs inside the checkout's transaction.")
    limited = sorted((use for use in uses if use.is_limited), key=lambda use: use.promotion_id)
    for use in limited:
        if use.has_budget or use.has_max_uses:
            exhausted = _count_use(use)
            if exhausted is None:
                raise _exhausted(use.promotion_id)
            if exhausted:
                # This use spent the last of its budget or uses: the pages advertising it stop
                # showing it (`selectors.storefront`), so they are stale from the commit.
                transaction.on_commit(partial(_exhausted_pages_invalidate, use.promotion_id), robust=True)
        if use.has_buyer_limit:
            with connection.cursor() as cursor:
                cursor.execute(_BUYER_UPSERT, [use.promotion_id, buyer.pk])
                if cursor.fetchone() is None:
                    raise _exhausted(use.promotion_id)
    PromotionRedemption.objects.bulk_create(
        [
            PromotionRedemption(
                promotion_id=use.promotion_id,
                buyer=buyer,
                order_id=order_id,
                amount=use.amount,
                budget_counted=use.has_budget,
                use_counted=use.has_max_uses,
                buyer_use_counted=use.has_buyer_limit,
            )
            for use in limited
        ]
    )
    return len(limited)


@transaction.atomic
def promotion_usage_release(*, order_id: int) -> int:
    """Give back what buyer order `order_id` took from limited promotions (its order was
    cancelled before payment): the money to the budget, the use to the count and to the
    buyer's counter. Exactly once: the redemption rows are marked released under their lock,
    so a second call (or a concurrent one) finds nothing left. Returns how many promotions
    got a use back; an order without limited promotions costs one statement."""
    redemptions = list(
        PromotionRedemption.objects.select_for_update()
        .filter(order_id=order_id, released_at__isnull=True)
        .order_by("promotion_id")
    )
    if not redemptions:
        return 0
    PromotionRedemption.objects.filter(pk__in=[r.pk for r in redemptions]).update(released_at=timezone.now())
    for redemption in redemptions:
        changes = {}
        if redemption.budget_counted:
            changes["budget_spent"] = F("budget_spent") - redemption.amount
        if redemption.use_counted:
            changes["uses_count"] = F("uses_count") - 1
        if changes:
            Promotion.objects.filter(pk=redemption.promotion_id).update(**changes)
            if pagecache.enabled():
                _returned_pages_invalidate(redemption)
        if redemption.buyer_use_counted:
            PromotionBuyerUsage.objects.filter(
                promotion_id=redemption.promotion_id, buyer_id=redemption.buyer_id, uses__gt=0
            ).update(uses=F("uses") - 1)
    return len(redemptions)


def _returned_pages_invalidate(redemption: PromotionRedemption) -> None:
    """A use given back to a promotion that had run out with it: its pages advertise it
    again (after commit). One read, only with the page cache on."""
    promotion = Promotion.objects.filter(pk=redemption.promotion_id).first()
    if promotion is None:
        return
    was_out = (
        redemption.budget_counted
        and promotion.budget_amount is not None
        and promotion.budget_spent + redemption.amount >= promotion.budget_amount
    ) or (redemption.use_counted and promotion.max_uses is not None and promotion.uses_count + 1 >= promotion.max_uses)
    if was_out:
        promotion_pages_invalidate(promotion)
