"""Reads of the promotions app. Merchant-facing reads take the merchant, so a merchant only
reaches its own promotions (another shop's is not found: None, answered with 404).

`live_offers` is what pricing reads: the promotions live now that may apply to a cart, as
the engine's frozen `Offer` values, in one query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from .choices import PromotionChannel, PromotionLevel, PromotionStatus
from .models import Promotion, PromotionBuyerUsage, PromotionStep
from .pricing import Benefit, CartLine, Condition, Gift, Offer, Scope, Step

# --- Lists and pages ----------------------------------------------------------------------


def promotion_list_for_merchant(merchant) -> QuerySet[Promotion]:
    """The merchant's own shop promotions, newest first."""
    return Promotion.objects.filter(level=PromotionLevel.SHOP, merchant=merchant).order_by("-id")


def promotion_get_for_merchant(merchant, promotion_id: int) -> Promotion | None:
    """One of the merchant's promotions, or None (another shop's is not found)."""
    return promotion_list_for_merchant(merchant).filter(pk=promotion_id).first()


def promotion_list_platform() -> QuerySet[Promotion]:
    """Platform promotions (operations' admin), newest first."""
    return Promotion.objects.filter(level=PromotionLevel.PLATFORM).order_by("-id")


def approval_queue() -> QuerySet[Promotion]:
    """Shop promotions waiting for operations to approve their platform share, oldest first."""
    return (
        Promotion.objects.filter(status=PromotionStatus.PENDING_APPROVAL)
        .select_related("merchant")
        .order_by("updated_at", "id")
    )


# --- What pricing reads -------------------------------------------------------------------


def _live(now: datetime) -> QuerySet[Promotion]:
    return Promotion.objects.filter(status=PromotionStatus.ACTIVE, starts_at__lte=now, ends_at__gt=now)


def live_offers(
    *,
    merchant_ids: Iterable[int],
    now: datetime,
    buyer=None,
    coupons: Sequence[tuple[int, int]] = (),
) -> list[Offer]:
    """The promotions live at `now` that may apply to a cart of `merchant_ids`' products:
    every automatic platform promotion, the automatic promotions of those shops, and, for
    each (coupon id, promotion id) in `coupons` — the buyer's usable coupons, which the
    coupons' selector passes — that coupon promotion as a coupon offer. Exhausted ones are
    left out. With `buyer`, each offer says how many uses the buyer has left.

    One query: steps, scope ids and the buyer's counter come as arrays and subqueries of it;
    the gift SKU is joined."""
    merchant_ids = sorted(set(merchant_ids))
    coupon_promotions = {promotion_id for _coupon, promotion_id in coupons}
    automatic = Q(channel=PromotionChannel.AUTOMATIC) & (
        Q(level=PromotionLevel.PLATFORM) | Q(merchant_id__in=merchant_ids)
    )
    rows = (
        _live(now)
        .filter(automatic | Q(channel=PromotionChannel.COUPON, pk__in=coupon_promotions))
        .exclude(budget_amount__isnull=False, budget_spent__gte=F("budget_amount"))
        .exclude(max_uses__isnull=False, uses_count__gte=F("max_uses"))
        .select_related("gift_sku")
        .annotate(
            step_thresholds=ArraySubquery(
                PromotionStep.objects.filter(promotion=OuterRef("pk")).order_by("threshold").values("threshold")
            ),
            step_amounts=ArraySubquery(
                PromotionStep.objects.filter(promotion=OuterRef("pk")).order_by("threshold").values("amount")
            ),
            product_ids=ArraySubquery(
                Promotion.products.through.objects.filter(promotion_id=OuterRef("pk")).values("product_id")
            ),
            category_ids=ArraySubquery(
                Promotion.categories.through.objects.filter(promotion_id=OuterRef("pk")).values("category_id")
            ),
        )
        .order_by("pk")
    )
    if buyer is not None and getattr(buyer, "pk", None):
        rows = rows.annotate(
            buyer_uses=Subquery(
                PromotionBuyerUsage.objects.filter(promotion=OuterRef("pk"), buyer_id=buyer.pk).values("uses")[:1]
            )
        )
    offers = []
    for promotion in rows:
        if promotion.channel == PromotionChannel.COUPON:
            offers += [offer_of(promotion, coupon_id=c) for c, p in coupons if p == promotion.pk]
        else:
            offers.append(offer_of(promotion))
    return offers


def offer_of(promotion: Promotion, *, coupon_id: int | None = None) -> Offer:
    """The engine's view of a promotion read by `live_offers` (its annotations)."""
    gift = None
    if promotion.gift_sku_id is not None:
        sku = promotion.gift_sku
        gift = Gift(sku_id=sku.pk, product_id=sku.product_id, merchant_id=sku.merchant_id, unit_price=sku.price)
    buyer_uses_left = None
    if promotion.per_buyer_limit is not None:
        buyer_uses_left = promotion.per_buyer_limit - (getattr(promotion, "buyer_uses", None) or 0)
    return Offer(
        promotion_id=promotion.pk,
        level=promotion.level,
        channel=promotion.channel,
        merchant_id=promotion.merchant_id,
        priority=promotion.priority,
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        condition=Condition(min_spend=promotion.min_spend, min_quantity=promotion.min_quantity),
        scope=Scope(
            kind=promotion.scope,
            merchant_id=promotion.merchant_id,
            product_ids=frozenset(promotion.product_ids or ()),
            category_ids=frozenset(promotion.category_ids or ()),
        ),
        benefit=Benefit(
            type=promotion.benefit_type,
            percent=promotion.percent,
            amount=promotion.amount,
            steps=tuple(
                Step(threshold, amount)
                for threshold, amount in zip(promotion.step_thresholds or (), promotion.step_amounts or (), strict=True)
            ),
            gift=gift,
        ),
        platform_share=promotion.platform_share,
        budget_left=None if promotion.budget_amount is None else promotion.budget_amount - promotion.budget_spent,
        uses_left=None if promotion.max_uses is None else promotion.max_uses - promotion.uses_count,
        buyer_uses_left=buyer_uses_left,
        coupon_id=coupon_id,
        name=promotion.name,
    )


def cart_line_of(sku, quantity: int, *, category_path: Sequence[int], key: str | None = None) -> CartLine:
    """The engine's view of `quantity` units of `sku` (with its product and merchant loaded)
    at its current price; `category_path` is the product's category and its ancestors."""
    return CartLine(
        key=key or str(sku.pk),
        sku_id=sku.pk,
        product_id=sku.product_id,
        category_path=tuple(category_path or ()),
        merchant_id=sku.merchant_id,
        merchant_grade=sku.merchant.credit_grade,
        unit_price=Decimal(sku.price),
        quantity=quantity,
    )
