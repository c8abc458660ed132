"""Coupons: claiming, using at checkout, giving back on cancellation, expiring.

Guarantees:
- a coupon promotion's total count (`Promotion.max_uses`: coupons issued) and per-buyer
  limit (coupons one buyer holds) hold however many claims race: `coupon_claim` locks the
  promotion's row (claims of one promotion queue there, in a short transaction) and then
  counts its coupons, so each count sees every earlier claim; a refusal rolls back. The
  promotion's `uses_count` and the buyers' usage rows are left to checkout, which counts the
  coupon's use like any limited promotion's (`promotion_usage_consume`): with at most
  `max_uses` coupons each used at most once, uses stay within the limits too;
- a coupon is used at most once however many checkouts race for it: `coupon_use` is one
  conditional UPDATE (available → used, naming the order) in the checkout's transaction; the
  losers wait for the winner's commit, match no row and get 409 `coupon_unavailable`, which
  rolls their whole checkout back;
- a coupon comes back exactly once when its unpaid order is cancelled
  (`coupon_return_for_order`: the UPDATE matches only a coupon still used on that order);
  a refund after payment does not give it back (orders calls it only on an unpaid cancel);
- expiry is computed from the promotion's window (selectors) and written by the periodic,
  idempotent `coupon_expire_due`.
Coupons touch no other system, so nothing is scheduled after commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import NotFoundError
from marketplace.money import ZERO

from ..choices import CouponState, PromotionChannel, PromotionStatus
from ..errors import CouponConflict, CouponError
from ..models import Coupon, CouponCode, Promotion
from ..pricing import CartLine, Offer, PricingResult, condition_met, in_scope
from ..selectors import coupon_code_promotion, coupon_get_for_buyer

# Unambiguous when read aloud or typed (no 0/O, 1/I/L); 12 of them are 60 bits, so a
# collision of two codes (the unique constraint) is not a case to handle.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _ended_promotions(now: datetime):
    # A promotion ended by operations or the merchant ends its coupons with it. Coupons are
    # filtered with `promotion_id__in` this subquery, not by a join: an UPDATE with a join
    # becomes `id IN (SELECT …)` with every condition inside, and PostgreSQL would not check
    # the coupon's state again on a row a concurrent checkout changed meanwhile.
    return Promotion.objects.filter(Q(ends_at__lte=now) | Q(status=PromotionStatus.ENDED)).values("pk")


def _has_ended(promotion: Promotion, now: datetime) -> bool:
    return promotion.ends_at <= now or promotion.status == PromotionStatus.ENDED


# --- Claiming ------------------------------------------------------------------------------


def coupon_claim(*, promotion: Promotion, buyer, now: datetime | None = None) -> Coupon:
    """Give `buyer` a coupon of `promotion` (an active coupon promotion in its window).

    Within the total count (409 `coupon_used_up`) and the per-buyer limit (409
    `coupon_limit_reached`) under any concurrency: see the module's docstring. Locks the
    promotion's row until the caller's transaction ends. Nothing is written on a refusal.
    """
    now = now or timezone.now()
    if promotion.channel != PromotionChannel.COUPON:
        raise CouponError("coupon_not_claimable", _("This promotion has no coupons."))
    with transaction.atomic():
        locked = (
            Promotion.objects.select_for_update(of=("self",))
            .filter(
                pk=promotion.pk,
                channel=PromotionChannel.COUPON,
                status=PromotionStatus.ACTIVE,
                starts_at__lte=now,
                ends_at__gt=now,
            )
            .first()
        )
        if locked is None:
            raise _claim_refusal(promotion.pk, now)
        # Read after the lock (a new snapshot): every claim that held it before is counted.
        if locked.max_uses is not None and Coupon.objects.filter(promotion_id=locked.pk).count() >= locked.max_uses:
            raise CouponConflict("coupon_used_up", _("All of these coupons have been claimed."))
        if locked.per_buyer_limit is not None:
            held = Coupon.objects.filter(promotion_id=locked.pk, buyer=buyer).count()
            if held >= locked.per_buyer_limit:
                raise CouponConflict(
                    "coupon_limit_reached",
                    _("You already hold as many of these coupons as one buyer may (%(limit)s).")
                    % {"limit": locked.per_buyer_limit},
                    {"limit": locked.per_buyer_limit},
                )
        coupon = Coupon.objects.create(promotion_id=promotion.pk, buyer=buyer, code=_new_code())
    coupon.promotion = promotion
    return coupon


def _claim_refusal(promotion_id: int, now: datetime):
    """Why the promotion cannot be claimed from now (for the message only)."""
    promotion = Promotion.objects.filter(pk=promotion_id).first()
    if promotion is None or promotion.status != PromotionStatus.ACTIVE:
        return CouponError("coupon_not_claimable", _("These coupons cannot be claimed."))
    if now < promotion.starts_at:
        return CouponError(
            "coupon_not_started",
            _("These coupons can be claimed from %(start)s.") % {"start": timezone.localtime(promotion.starts_at)},
            {"starts_at": promotion.starts_at.isoformat()},
        )
    if now >= promotion.ends_at:
        return CouponError("coupon_expired", _("These coupons have expired."))
    return CouponError("coupon_not_claimable", _("These coupons cannot be claimed."))


def coupon_claim_code(*, buyer, code: str, now: datetime | None = None) -> Coupon:
    """Claim a coupon by entering a promotion's public code (any case): as `coupon_claim`.
    An unknown code is 400 `coupon_code_unknown`."""
    promotion = coupon_code_promotion(code)
    if promotion is None:
        raise CouponError("coupon_code_unknown", _("There is no coupon with this code."), {"code": code})
    return coupon_claim(promotion=promotion, buyer=buyer, now=now)


@transaction.atomic
def coupon_code_set(*, promotion: Promotion, code: str, actor) -> CouponCode:
    """Give a coupon promotion its public code (4 to 32 letters and digits, stored upper
    case, unique over all promotions: 409 `coupon_code_taken`); an empty code removes it, so
    the coupons are claimed from the coupon centre again."""
    code = (code or "").strip().upper()
    if promotion.channel != PromotionChannel.COUPON:
        raise CouponError("coupon_not_claimable", _("Only coupon promotions have codes."))
    if not code:
        CouponCode.objects.filter(promotion=promotion).delete()
        audit_record(action="promotions.coupon_code_removed", actor=actor, obj=promotion)
        return None
    if not (4 <= len(code) <= 32 and code.isascii() and code.isalnum()):
        raise CouponError("invalid_coupon_code", _("A code has 4 to 32 letters and digits."), {"code": code})
    if CouponCode.objects.filter(code=code).exclude(promotion=promotion).exists():
        raise CouponConflict("coupon_code_taken", _("Another promotion already uses this code."), {"code": code})
    public, _created = CouponCode.objects.update_or_create(promotion=promotion, defaults={"code": code})
    audit_record(action="promotions.coupon_code_set", actor=actor, obj=promotion, data={"code": code})
    return public


# --- Checkout ------------------------------------------------------------------------------


def coupon_for_checkout(*, buyer, coupon_id=None, code: str = "", now: datetime | None = None) -> Coupon | None:
    """The coupon the buyer asked to use: one of theirs by id (another buyer's: 404), or by
    code: their own coupon's code, else a public code, whose coupon the buyer already holds
    (an available one) or claims now (in the caller's transaction: a checkout that fails
    claims nothing). None when neither is given. Refuses a coupon that cannot be used now
    (used: 409 `coupon_unavailable`; `coupon_expired`, `coupon_not_started`)."""
    now = now or timezone.now()
    code = (code or "").strip()
    if coupon_id in (None, "") and not code:
        return None
    coupon = coupon_get_for_buyer(buyer=buyer, coupon_id=coupon_id, code=None if coupon_id not in (None, "") else code)
    if coupon is None and coupon_id in (None, ""):
        promotion = coupon_code_promotion(code)
        if promotion is None:
            raise CouponError("coupon_code_unknown", _("There is no coupon with this code."), {"code": code})
        coupon = (
            Coupon.objects.select_related("promotion")
            .filter(promotion=promotion, buyer=buyer, state=CouponState.AVAILABLE)
            .order_by("pk")
            .first()
        ) or coupon_claim(promotion=promotion, buyer=buyer, now=now)
    if coupon is None:
        raise NotFoundError("coupon_not_found", _("No such coupon."))
    coupon_check_usable(coupon, now=now)
    return coupon


def coupon_check_usable(coupon: Coupon, *, now: datetime) -> None:
    """Raise why `coupon` cannot be used at `now`, whatever the cart."""
    promotion = coupon.promotion
    if coupon.state == CouponState.USED:
        raise CouponConflict("coupon_unavailable", _("This coupon has already been used."), {"coupon": coupon.pk})
    if coupon.state == CouponState.EXPIRED or _has_ended(promotion, now):
        raise CouponError("coupon_expired", _("This coupon has expired."), {"coupon": coupon.pk})
    if now < promotion.starts_at:
        raise CouponError(
            "coupon_not_started",
            _("This coupon can be used from %(start)s.") % {"start": timezone.localtime(promotion.starts_at)},
            {"coupon": coupon.pk, "starts_at": promotion.starts_at.isoformat()},
        )
    if promotion.status != PromotionStatus.ACTIVE:
        raise CouponConflict(
            "coupon_unavailable", _("This coupon cannot be used at the moment."), {"coupon": coupon.pk}
        )


def coupon_check_applies(offer: Offer, lines: Sequence[CartLine], result: PricingResult | None = None) -> None:
    """Raise why the coupon's `offer` gives nothing on `lines`: its promotion's money budget
    is spent (409 `coupon_unavailable`), no item in its scope (400
    `coupon_not_applicable`), the minimum spend or quantity not reached
    (`coupon_min_spend_not_reached` with the amount missing, `coupon_min_quantity_not_reached`),
    or, given the engine's `result`, nothing left for it to discount (`coupon_not_applicable`)."""
    if offer.budget_left is not None and offer.budget_left <= 0:
        raise CouponConflict(
            "coupon_unavailable",
            _("This coupon's promotion has used up its budget."),
            {"coupon": offer.coupon_id},
        )
    scoped = [line for line in lines if in_scope(offer, line)]
    if not scoped:
        raise CouponError(
            "coupon_not_applicable", _("This coupon is not for the items in your cart."), {"coupon": offer.coupon_id}
        )
    if not condition_met(offer, scoped):
        condition = offer.condition
        gross = sum((line.gross for line in scoped), ZERO)
        if condition.min_spend is not None and gross < condition.min_spend:
            missing = condition.min_spend - gross
            raise CouponError(
                "coupon_min_spend_not_reached",
                _("This coupon needs ¥%(min)s of eligible items; add ¥%(missing)s more.")
                % {"min": condition.min_spend, "missing": missing},
                {"coupon": offer.coupon_id, "min_spend": str(condition.min_spend), "missing": str(missing)},
            )
        raise CouponError(
            "coupon_min_quantity_not_reached",
            _("This coupon needs at least %(count)s eligible items.") % {"count": condition.min_quantity},
            {"coupon": offer.coupon_id, "min_quantity": condition.min_quantity},
        )
    if result is not None and not any(applied.coupon_id == offer.coupon_id for applied in result.applied):
        raise CouponError(
            "coupon_not_applicable",
            _("This coupon gives nothing more on these items."),
            {"coupon": offer.coupon_id},
        )


@transaction.atomic(savepoint=False)
def coupon_use(*, coupon: Coupon, buyer, order_id: int, order_number: str, now: datetime | None = None) -> None:
    """Mark the buyer's coupon used on the buyer order `order_id`, in the caller's (the
    checkout's) transaction: one conditional UPDATE, so of concurrent checkouts only the first
    to commit uses it; the others get 409 `coupon_unavailable` (their transaction must roll
    back). Holds the coupon's row lock until the caller commits."""
    now = now or timezone.now()
    # Only the coupon's own columns in the condition (see `_ended_promotions`); the window
    # was checked by `coupon_for_checkout`.
    used = Coupon.objects.filter(pk=coupon.pk, buyer=buyer, state=CouponState.AVAILABLE).update(
        state=CouponState.USED, used_at=now, order_id=order_id, order_number=order_number
    )
    if not used:
        raise CouponConflict("coupon_unavailable", _("This coupon has already been used."), {"coupon": coupon.pk})
    coupon.state, coupon.used_at, coupon.order_id, coupon.order_number = CouponState.USED, now, order_id, order_number


@transaction.atomic(savepoint=False)
def coupon_return_for_order(*, order_id: int, now: datetime | None = None) -> int:
    """Give back the coupon used on the buyer order `order_id` (its unpaid order was
    cancelled): available again, or expired when its promotion has ended meanwhile. Exactly
    once: only a coupon still used on that order matches. Returns how many came back (0/1)."""
    now = now or timezone.now()
    returned = 0
    for coupon in Coupon.objects.select_related("promotion").filter(order_id=order_id, state=CouponState.USED):
        state = CouponState.EXPIRED if _has_ended(coupon.promotion, now) else CouponState.AVAILABLE
        returned += Coupon.objects.filter(pk=coupon.pk, order_id=order_id, state=CouponState.USED).update(
            state=state, used_at=None, order_id=None, order_number="", returned_at=now
        )
    return returned


def coupon_expire_due(*, now: datetime | None = None) -> int:
    """Periodic: mark expired the available coupons whose promotion's window has ended (or
    which was ended). One UPDATE, idempotent (a second run matches nothing); returns how many
    it expired."""
    now = now or timezone.now()
    return Coupon.objects.filter(state=CouponState.AVAILABLE, promotion_id__in=_ended_promotions(now)).update(
        state=CouponState.EXPIRED
    )
