"""Reads of the promotions app: coupons.

Buyer-facing reads take the buyer, so a buyer only ever reaches their own coupons (another
buyer's coupon is not found: None, which pages and the API answer with 404).

A coupon whose promotion's window has ended is expired even before `coupon_expire_due`
writes it: `coupon_display_state` and the tab filters compute the state from the window, so
the periodic job only makes the stored state catch up.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from ..choices import CouponState, PromotionChannel, PromotionStatus
from ..models import Coupon, CouponCode, Promotion, PromotionStep
from ..pricing import Offer
from .promotions import offer_of

# --- Coupons ------------------------------------------------------------------------------

#: The tabs of "my coupons", each a filter computed at `now`.
COUPON_TABS = (CouponState.AVAILABLE, CouponState.USED, CouponState.EXPIRED)


def _coupon_related(qs: QuerySet[Coupon]) -> QuerySet[Coupon]:
    return qs.select_related("promotion", "promotion__merchant").prefetch_related(
        Prefetch("promotion__steps", queryset=PromotionStep.objects.order_by("threshold"))
    )


def coupon_tab_filter(tab: str, *, now: datetime) -> Q:
    """The coupons of a tab of "my coupons" at `now`: available ones in their window, used
    ones, and expired ones (stored as expired, or available past the window's end)."""
    ended = Q(promotion__ends_at__lte=now)
    if tab == CouponState.USED:
        return Q(state=CouponState.USED)
    if tab == CouponState.EXPIRED:
        return Q(state=CouponState.EXPIRED) | (Q(state=CouponState.AVAILABLE) & ended)
    return Q(state=CouponState.AVAILABLE) & ~ended


def coupon_list_for_buyer(*, buyer, tab: str = CouponState.AVAILABLE, now: datetime | None = None) -> QuerySet[Coupon]:
    """The buyer's coupons of one tab: available ones ending soonest first, the others
    newest first."""
    now = now or timezone.now()
    qs = _coupon_related(Coupon.objects.filter(buyer=buyer).filter(coupon_tab_filter(tab, now=now)))
    if tab == CouponState.AVAILABLE:
        return qs.order_by("promotion__ends_at", "id")
    return qs.order_by("-claimed_at", "-id")


def coupon_get_for_buyer(*, buyer, coupon_id=None, code: str | None = None) -> Coupon | None:
    """One of the buyer's own coupons by id or by its code (any case), or None: another
    buyer's coupon is not found."""
    if buyer is None or not buyer.is_authenticated:
        return None
    qs = _coupon_related(Coupon.objects.filter(buyer=buyer))
    if coupon_id not in (None, ""):
        try:
            return qs.filter(pk=int(coupon_id)).first()
        except (TypeError, ValueError):
            return None
    if code:
        return qs.filter(code=code.strip().upper()).first()
    return None


#: Coupon ids start at 1: a public code's coupon-to-be is priced under this id.
PREVIEW_COUPON_ID = 0


def coupon_to_preview(*, buyer, coupon_id=None, code: str = "") -> Coupon | None:
    """The coupon `coupon_for_checkout` would use, found without claiming anything: one of
    the buyer's by id or code, else, for a public code, an available coupon of it the buyer
    holds or an unsaved one (id `PREVIEW_COUPON_ID`) standing for the coupon they would claim.
    None when the coupon or code is not found."""
    by_id = coupon_id not in (None, "")
    coupon = coupon_get_for_buyer(buyer=buyer, coupon_id=coupon_id, code=None if by_id else code)
    if coupon is not None or by_id:
        return coupon
    promotion = coupon_code_promotion(code)
    if promotion is None:
        return None
    held = _coupon_related(Coupon.objects.filter(promotion=promotion, buyer=buyer, state=CouponState.AVAILABLE))
    return held.order_by("pk").first() or Coupon(
        pk=PREVIEW_COUPON_ID, promotion=promotion, buyer=buyer, state=CouponState.AVAILABLE
    )


def coupon_display_state(coupon: Coupon, *, now: datetime | None = None) -> str:
    """The coupon's state as the buyer sees it at `now` (expired once the window ended)."""
    now = now or timezone.now()
    if coupon.state == CouponState.AVAILABLE and coupon.promotion.ends_at <= now:
        return CouponState.EXPIRED
    return coupon.state


def coupon_code_promotion(code: str) -> Promotion | None:
    """The coupon promotion whose public code is `code` (any case), or None."""
    code = (code or "").strip().upper()
    if not code:
        return None
    public = CouponCode.objects.select_related("promotion").filter(code=code).first()
    return public.promotion if public else None


def coupon_promotion_list_claimable(*, buyer=None, now: datetime | None = None) -> QuerySet[Promotion]:
    """The coupon centre: active coupon promotions in their window, without a public code
    (those are claimed by entering the code), not used up; ending soonest first. Each has
    `coupons_issued` and `claimed_by_buyer` (how many coupons of it the buyer holds; 0
    without a buyer)."""
    now = now or timezone.now()
    qs = (
        Promotion.objects.filter(
            channel=PromotionChannel.COUPON,
            status=PromotionStatus.ACTIVE,
            starts_at__lte=now,
            ends_at__gt=now,
        )
        .filter(~Exists(CouponCode.objects.filter(promotion=OuterRef("pk"))))
        .select_related("merchant")
        .prefetch_related(Prefetch("steps", queryset=PromotionStep.objects.order_by("threshold")))
        .annotate(coupons_issued=Count("coupons"))
        .order_by("ends_at", "id")
    )
    if buyer is not None and buyer.is_authenticated:
        qs = qs.annotate(claimed_by_buyer=Count("coupons", filter=Q(coupons__buyer=buyer)))
    return qs


def promotion_claimed_by(promotion: Promotion) -> int:
    """How many coupons the current buyer holds of `promotion` (annotated by the list)."""
    return getattr(promotion, "claimed_by_buyer", 0)


def promotion_coupons_left(promotion: Promotion) -> int | None:
    """Coupons of `promotion` left to claim (None: unlimited); `coupons_issued` annotated
    by the list, else counted."""
    if promotion.max_uses is None:
        return None
    issued = getattr(promotion, "coupons_issued", None)
    if issued is None:
        issued = promotion.coupons.count()
    return max(promotion.max_uses - issued, 0)


# --- The coupon's offer, for the pricing engine --------------------------------------------


def coupon_offer(coupon: Coupon) -> Offer:
    """The engine's view of the coupon's promotion, for the buyer who holds it: the coupon
    itself is the right to one use, so the offer carries only the money budget. (The full
    checkout's `live_offers` reads the same with the uses counters, which a coupon's
    promotion never exhausts before its coupons are used.)"""
    promotion = coupon.promotion
    # What `live_offers` annotates on the promotions it reads, read here for this one.
    steps = list(promotion.steps.all())
    promotion.product_ids = list(promotion.products.values_list("pk", flat=True))
    promotion.category_ids = list(promotion.categories.values_list("pk", flat=True))
    promotion.step_thresholds = [step.threshold for step in steps]
    promotion.step_amounts = [step.amount for step in steps]
    return replace(offer_of(promotion, coupon_id=coupon.pk), uses_left=None, buyer_uses_left=None)
