"""Promotion services: validation with stable codes (nothing written on a refusal), the
state machine, approval of a platform share, the live index."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.errors import InvalidTransition
from marketplace.models import AuditLogEntry
from promotions import selectors, services
from promotions.choices import BenefitType, PromotionLevel, PromotionStatus, ScopeKind
from promotions.errors import PromotionConflict, PromotionError
from promotions.models import Promotion, PromotionStep
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.promotions.factories import promotion, window

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    merchant, (category,) = live_merchant()
    return merchant, category


def _data(**overrides):
    starts_at, ends_at = window()
    return {
        "name": "Autumn",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "scope": ScopeKind.SHOP,
        "benefit_type": BenefitType.SPEND_AND_SAVE,
        "steps": [("200", "20"), ("300", "40")],
        **overrides,
    }


def _refused(code, *, merchant, level=PromotionLevel.SHOP, **overrides):
    before = (Promotion.objects.count(), PromotionStep.objects.count(), AuditLogEntry.objects.count())
    with pytest.raises(PromotionError) as caught:
        services.promotion_create(actor=UserFactory(), level=level, merchant=merchant, data=_data(**overrides))
    assert caught.value.code == code
    assert (Promotion.objects.count(), PromotionStep.objects.count(), AuditLogEntry.objects.count()) == before
    return caught.value


def test_a_spend_and_save_promotion_is_created_in_draft_with_its_steps(shop):
    merchant, _category = shop
    made = services.promotion_create(actor=merchant.owner, level=PromotionLevel.SHOP, merchant=merchant, data=_data())
    assert (made.status, made.level, made.merchant_id, made.platform_share) == (
        "draft",
        "shop",
        merchant.pk,
        Decimal(0),
    )
    assert list(made.steps.values_list("threshold", "amount")) == [
        (Decimal("200.00"), Decimal("20.00")),
        (Decimal("300.00"), Decimal("40.00")),
    ]


@pytest.mark.parametrize(
    ("code", "overrides"),
    [
        ("invalid_percent", {"benefit_type": BenefitType.PERCENTAGE, "percent": "0"}),
        ("invalid_percent", {"benefit_type": BenefitType.PERCENTAGE, "percent": "100"}),
        ("invalid_percent", {"benefit_type": BenefitType.PERCENTAGE, "percent": "abc"}),
        ("steps_not_increasing", {"steps": [("200", "20"), ("300", "20")]}),
        ("steps_not_increasing", {"steps": [("200", "20"), ("200", "30")]}),
        ("steps_required", {"steps": []}),
        ("step_exceeds_threshold", {"steps": [("10", "20")]}),
        ("invalid_amount", {"steps": [("200", "-5")]}),
        ("invalid_amount", {"benefit_type": BenefitType.FIXED_AMOUNT, "amount": "0"}),
        ("invalid_amount", {"min_spend": "-1"}),
        ("invalid_limit", {"max_uses": 0}),
        ("invalid_limit", {"per_buyer_limit": "x"}),
        ("name_required", {"name": "  "}),
        ("invalid_platform_share", {"platform_share": "1.5"}),
        ("invalid_platform_share", {"benefit_type": BenefitType.FREE_SHIPPING, "platform_share": "0.5"}),
        ("invalid_scope", {"scope": ScopeKind.PLATFORM}),
        ("scope_empty", {"scope": ScopeKind.CATEGORIES}),
        ("invalid_gift", {"benefit_type": BenefitType.GIFT_SKU}),
        ("invalid_benefit", {"benefit_type": "free_lunch"}),
    ],
)
def test_invalid_settings_are_refused_with_a_stable_code_and_nothing_written(shop, code, overrides):
    _refused(code, merchant=shop[0], **overrides)


def test_the_window_must_end_after_it_starts(shop):
    starts_at, _ends_at = window()
    _refused("invalid_window", merchant=shop[0], ends_at=starts_at)


def test_a_shop_promotion_covers_only_its_own_products_and_gifts(shop):
    merchant, category = shop
    other, (other_category,) = live_merchant()
    mine = product(merchant, category)
    theirs = product(other, other_category)
    error = _refused(
        "scope_not_own_shop", merchant=merchant, scope=ScopeKind.PRODUCTS, product_ids=[mine.pk, theirs.pk]
    )
    assert error.extra == {"products": [theirs.pk]}
    _refused("invalid_gift", merchant=merchant, benefit_type=BenefitType.GIFT_SKU, gift_sku_id=theirs.skus.get().pk)
    made = services.promotion_create(
        actor=merchant.owner,
        level=PromotionLevel.SHOP,
        merchant=merchant,
        data=_data(scope=ScopeKind.PRODUCTS, product_ids=[mine.pk]),
    )
    assert list(made.products.values_list("pk", flat=True)) == [mine.pk]


def test_platform_promotions_have_no_shop_are_platform_funded_and_give_no_shipping_or_gift(shop):
    staff = UserFactory(is_staff=True)
    _refused("invalid_level", merchant=shop[0], level=PromotionLevel.PLATFORM, scope=ScopeKind.PLATFORM)
    _refused("merchant_required", merchant=None, level=PromotionLevel.SHOP)
    _refused(
        "invalid_platform_share",
        merchant=None,
        level=PromotionLevel.PLATFORM,
        scope=ScopeKind.PLATFORM,
        platform_share="0.5",
    )
    _refused(
        "benefit_shop_only",
        merchant=None,
        level=PromotionLevel.PLATFORM,
        scope=ScopeKind.PLATFORM,
        platform_share="1",
        benefit_type=BenefitType.FREE_SHIPPING,
    )
    made = services.promotion_create(
        actor=staff,
        level=PromotionLevel.PLATFORM,
        data=_data(scope=ScopeKind.PLATFORM, platform_share="1", benefit_type=BenefitType.PERCENTAGE, percent="12.5"),
    )
    assert (made.merchant_id, made.platform_share, made.percent) == (None, Decimal("1"), Decimal("12.50"))


def test_a_merchant_funded_promotion_starts_at_once(shop):
    made = promotion(merchant=shop[0])
    assert (made.status, made.approved_by, made.approved_at) == (PromotionStatus.ACTIVE, None, None)


def test_a_platform_share_waits_for_operations_who_are_recorded(shop):
    merchant, _category = shop
    made = services.promotion_create(
        actor=merchant.owner, level=PromotionLevel.SHOP, merchant=merchant, data=_data(platform_share="0.3")
    )
    with pytest.raises(PromotionConflict) as caught:
        services.promotion_activate(promotion=made, actor=merchant.owner)
    assert caught.value.code == "approval_required"
    made = services.promotion_publish(promotion=made, actor=merchant.owner)
    assert made.status == PromotionStatus.PENDING_APPROVAL
    staff = UserFactory(is_staff=True)
    made = services.promotion_approve(promotion=made, actor=staff)
    made.refresh_from_db()
    assert (made.status, made.approved_by_id) == (PromotionStatus.ACTIVE, staff.pk)
    assert made.approved_at is not None


def test_a_rejected_share_can_be_edited_and_submitted_again(shop):
    merchant, _category = shop
    made = promotion(merchant=merchant, live=False, benefit=BenefitType.PERCENTAGE, percent="10", platform_share="0.5")
    made = services.promotion_submit(promotion=made, actor=merchant.owner)
    with pytest.raises(PromotionError) as caught:
        services.promotion_reject(promotion=made, actor=UserFactory(is_staff=True), reason=" ")
    assert caught.value.code == "reason_required"
    made = services.promotion_reject(promotion=made, actor=UserFactory(is_staff=True), reason="Too generous")
    assert (made.status, made.status_reason) == (PromotionStatus.REJECTED, "Too generous")
    made = services.promotion_update(
        promotion=made,
        actor=merchant.owner,
        data=_data(benefit_type=BenefitType.PERCENTAGE, percent="5", platform_share="0.2"),
    )
    assert (made.percent, made.platform_share) == (Decimal("5.00"), Decimal("0.2000"))
    assert services.promotion_submit(promotion=made, actor=merchant.owner).status == PromotionStatus.PENDING_APPROVAL


def test_only_drafts_and_rejected_promotions_are_edited_and_states_follow_the_table(shop):
    merchant, _category = shop
    made = promotion(merchant=merchant)
    with pytest.raises(PromotionConflict) as caught:
        services.promotion_update(promotion=made, actor=merchant.owner, data=_data(name="Changed"))
    assert caught.value.code == "promotion_not_editable"
    made.refresh_from_db()
    assert made.name != "Changed"
    made = services.promotion_pause(promotion=made, actor=merchant.owner)
    assert made.status == PromotionStatus.PAUSED
    with pytest.raises(InvalidTransition):
        services.promotion_pause(promotion=made, actor=merchant.owner)
    made = services.promotion_resume(promotion=made, actor=merchant.owner)
    made = services.promotion_end(promotion=made, actor=merchant.owner)
    assert made.status == PromotionStatus.ENDED
    with pytest.raises(InvalidTransition):
        services.promotion_resume(promotion=made, actor=merchant.owner)
    assert list(
        AuditLogEntry.objects.filter(object_id=str(made.pk), action__startswith="promotions.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["promotions.created", "promotions.activate", "promotions.pause", "promotions.resume", "promotions.end"]


def test_the_live_index_follows_every_state_change(shop, django_assert_num_queries):
    merchant, _category = shop
    from django.utils import timezone

    now = timezone.now()
    assert selectors.live_offers(merchant_ids=[merchant.pk], now=now) == []
    with django_assert_num_queries(0):  # the index says: no shop of these has one
        assert selectors.live_offers(merchant_ids=[merchant.pk], now=now) == []
    made = promotion(merchant=merchant)
    assert [o.promotion_id for o in selectors.live_offers(merchant_ids=[merchant.pk], now=now)] == [made.pk]
    services.promotion_pause(promotion=made, actor=merchant.owner)
    assert selectors.live_offers(merchant_ids=[merchant.pk], now=now) == []
