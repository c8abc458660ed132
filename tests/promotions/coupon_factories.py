"""Builders for promotions tests: coupon promotions and their coupons, written directly
(the promotion's own services are tested in their own files)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from promotions.choices import BenefitType, PromotionChannel, PromotionLevel, PromotionStatus, ScopeKind
from promotions.models import CouponCode, Promotion
from tests.factories import UserFactory

_n = itertools.count(1)


def coupon_promotion(
    *,
    merchant=None,
    amount="20.00",
    min_spend="100.00",
    max_uses=None,
    per_buyer_limit=None,
    status=PromotionStatus.ACTIVE,
    starts_at=None,
    ends_at=None,
    code: str | None = None,
    platform_share="0",
    scope=None,
    **fields,
) -> Promotion:
    """A fixed-amount coupon promotion, live for a week from an hour ago: a shop one when
    `merchant` is given (merchant-funded), a platform one otherwise (platform-funded)."""
    now = timezone.now()
    level = PromotionLevel.SHOP if merchant is not None else PromotionLevel.PLATFORM
    promotion = Promotion.objects.create(
        name=f"Coupon {next(_n)}",
        level=level,
        channel=PromotionChannel.COUPON,
        merchant=merchant,
        status=status,
        starts_at=starts_at or now - timedelta(hours=1),
        ends_at=ends_at or now + timedelta(days=7),
        min_spend=None if min_spend is None else Decimal(min_spend),
        scope=scope or (ScopeKind.SHOP if merchant is not None else ScopeKind.PLATFORM),
        benefit_type=fields.pop("benefit_type", BenefitType.FIXED_AMOUNT),
        amount=None if amount is None else Decimal(amount),
        platform_share=Decimal(platform_share if merchant is not None else "1"),
        max_uses=max_uses,
        per_buyer_limit=per_buyer_limit,
        created_by=fields.pop("created_by", None) or UserFactory(is_staff=True),
        **fields,
    )
    if code:
        CouponCode.objects.create(promotion=promotion, code=code.upper())
    return promotion
