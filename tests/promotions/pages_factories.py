"""Promotions for the page, admin and API tests, made through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from promotions import services
from promotions.choices import PromotionLevel
from tests.factories import UserFactory


def window(days_before: int = 1, days_after: int = 10) -> tuple[datetime.datetime, datetime.datetime]:
    now = timezone.now().replace(microsecond=0)
    return now - datetime.timedelta(days=days_before), now + datetime.timedelta(days=days_after)


def promotion_data(**overrides) -> dict:
    starts, ends = window()
    data = {
        "name": "Spring sale",
        "description": "",
        "channel": "automatic",
        "starts_at": starts,
        "ends_at": ends,
        "priority": 0,
        "scope": "shop",
        "benefit_type": "spend_and_save",
        "steps": [(Decimal("200.00"), Decimal("20.00")), (Decimal("300.00"), Decimal("40.00"))],
        "platform_share": Decimal("0"),
    }
    data.update(overrides)
    return data


def shop_promotion(merchant, *, live: bool = False, actor=None, **overrides):
    """A shop promotion of `merchant` (draft; `live`: activated, or submitted when the platform
    pays a share)."""
    actor = actor or merchant.owner
    promotion = services.promotion_create(
        actor=actor, level=PromotionLevel.SHOP, merchant=merchant, data=promotion_data(**overrides)
    )
    if live:
        promotion = services.promotion_publish(promotion=promotion, actor=actor)
    return promotion


def platform_promotion(*, live: bool = False, actor=None, **overrides):
    actor = actor or UserFactory(is_staff=True)
    overrides.setdefault("scope", "platform")
    overrides.setdefault("platform_share", Decimal("1"))
    overrides.setdefault("benefit_type", "percentage")
    overrides.setdefault("percent", Decimal("15"))
    overrides.setdefault("steps", [])
    promotion = services.promotion_create(actor=actor, level=PromotionLevel.PLATFORM, data=promotion_data(**overrides))
    if live:
        promotion = services.promotion_activate(promotion=promotion, actor=actor)
    return promotion
