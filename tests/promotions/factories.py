"""Builders for promotions tests: promotions made and put live through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from promotions import services
from promotions.choices import BenefitType, PromotionLevel, ScopeKind
from tests.factories import UserFactory


def window(days: int = 30):
    now = timezone.now()
    return now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)


def promotion(
    *,
    merchant=None,
    benefit=BenefitType.FIXED_AMOUNT,
    live=True,
    actor=None,
    starts_at=None,
    ends_at=None,
    **data,
):
    """A shop promotion of `merchant` (a platform one without), live by default: activated,
    or submitted and approved by operations when it asks for a platform share."""
    level = PromotionLevel.SHOP if merchant is not None else PromotionLevel.PLATFORM
    default_start, default_end = window()
    fields = {
        "name": data.pop("name", f"{benefit} promotion"),
        "starts_at": starts_at or default_start,
        "ends_at": ends_at or default_end,
        "scope": ScopeKind.SHOP if merchant is not None else ScopeKind.PLATFORM,
        "benefit_type": benefit,
        "platform_share": "0" if merchant is not None else "1",
        **data,
    }
    if benefit == BenefitType.FIXED_AMOUNT:
        fields.setdefault("amount", Decimal("10.00"))
    actor = actor or (merchant.owner if merchant is not None else UserFactory(is_staff=True))
    made = services.promotion_create(actor=actor, level=level, merchant=merchant, data=fields)
    if live:
        made = services.promotion_publish(promotion=made, actor=actor)
        if made.status == "pending_approval":
            made = services.promotion_approve(promotion=made, actor=UserFactory(is_staff=True))
    return made
