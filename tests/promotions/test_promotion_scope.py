"""The scope rule kept by the service itself, whoever calls it (portal, API, admin, a
script): a shop promotion covers only its own shop's products and the categories its shop
sells in (its grants and everything below them); 400 `scope_not_own_shop` otherwise, on
creation and on update, and nothing is written."""

from __future__ import annotations

import pytest

from marketplace.models import AuditLogEntry
from promotions import services
from promotions.choices import BenefitType, PromotionLevel, ScopeKind
from promotions.errors import PromotionError
from promotions.models import Promotion
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.promotions.factories import window

pytestmark = pytest.mark.django_db


def _data(**overrides):
    starts_at, ends_at = window()
    return {
        "name": "Autumn",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "benefit_type": BenefitType.FIXED_AMOUNT,
        "amount": "10.00",
        **overrides,
    }


def _state():
    return (
        list(Promotion.objects.order_by("pk").values_list("pk", "scope", "updated_at")),
        sorted(Promotion.categories.through.objects.values_list("promotion_id", "category_id")),
        sorted(Promotion.products.through.objects.values_list("promotion_id", "product_id")),
        AuditLogEntry.objects.count(),
    )


@pytest.fixture
def shops():
    parent = make_category("Home")
    child = make_category("Lamps", rate=None, parent=parent)
    mine, _ = live_merchant(categories=[parent])
    theirs, (their_category,) = live_merchant()
    return mine, parent, child, theirs, their_category


def test_a_shop_promotion_may_cover_its_granted_categories_and_those_below(shops):
    mine, parent, child, _theirs, _their_category = shops
    made = services.promotion_create(
        actor=mine.owner,
        level=PromotionLevel.SHOP,
        merchant=mine,
        data=_data(scope=ScopeKind.CATEGORIES, category_ids=[parent.pk, child.pk]),
    )
    assert sorted(made.categories.values_list("pk", flat=True)) == sorted([parent.pk, child.pk])


def test_creating_a_shop_promotion_on_another_shops_category_is_refused_and_writes_nothing(shops):
    mine, parent, _child, _theirs, their_category = shops
    before = _state()
    with pytest.raises(PromotionError) as caught:
        services.promotion_create(
            actor=mine.owner,
            level=PromotionLevel.SHOP,
            merchant=mine,
            data=_data(scope=ScopeKind.CATEGORIES, category_ids=[parent.pk, their_category.pk]),
        )
    assert (caught.value.code, caught.value.extra, caught.value.status_code) == (
        "scope_not_own_shop",
        {"categories": [their_category.pk]},
        400,
    )
    assert _state() == before


def test_updating_a_shop_promotion_onto_another_shops_products_or_categories_is_refused(shops):
    mine, parent, _child, theirs, their_category = shops
    own = product(mine, parent)
    other = product(theirs, their_category)
    made = services.promotion_create(
        actor=mine.owner,
        level=PromotionLevel.SHOP,
        merchant=mine,
        data=_data(scope=ScopeKind.PRODUCTS, product_ids=[own.pk]),
    )
    before = _state()
    for overrides, extra in (
        ({"scope": ScopeKind.CATEGORIES, "category_ids": [their_category.pk]}, {"categories": [their_category.pk]}),
        ({"scope": ScopeKind.PRODUCTS, "product_ids": [own.pk, other.pk]}, {"products": [other.pk]}),
    ):
        with pytest.raises(PromotionError) as caught:
            services.promotion_update(promotion=made, actor=mine.owner, data=_data(**overrides))
        assert (caught.value.code, caught.value.extra) == ("scope_not_own_shop", extra)
        assert _state() == before


def test_a_platform_promotion_may_cover_any_category(shops):
    _mine, parent, _child, _theirs, their_category = shops
    made = services.promotion_create(
        actor=UserFactory(is_staff=True),
        level=PromotionLevel.PLATFORM,
        data=_data(scope=ScopeKind.CATEGORIES, category_ids=[parent.pk, their_category.pk], platform_share="1"),
    )
    assert sorted(made.categories.values_list("pk", flat=True)) == sorted([parent.pk, their_category.pk])
