"""The promotions API: the public live list (filters) and detail; the merchant's own promotions
(who reaches them, create, change, commands, stable error codes, nothing written on a refusal)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.models import AuditLogEntry
from merchants.models import MerchantMember
from promotions.models import Promotion, PromotionStep
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.promotions.pages_factories import platform_promotion, shop_promotion, window

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/promotions/"
MINE = "/api/v1/promotions/merchant/"


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def _payload(**overrides) -> dict:
    starts, ends = window()
    data = {
        "name": "Double 12",
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "scope": "shop",
        "benefit_type": "spend_and_save",
        "steps": [{"threshold": "200", "amount": "20"}, {"threshold": "300", "amount": "40"}],
    }
    data.update(overrides)
    return data


def _state():
    return (
        list(Promotion.objects.order_by("pk").values_list("pk", "name", "status", "updated_at")),
        PromotionStep.objects.count(),
        AuditLogEntry.objects.count(),
    )


# --- Public -------------------------------------------------------------------------------------


def test_the_public_list_shows_live_automatic_promotions_only():
    home = make_category("Home")
    lamps = make_category("Lamps", parent=home)
    kitchen = make_category("Kitchen", parent=home)
    merchant, _ = live_merchant(categories=[home])
    shop_wide = shop_promotion(merchant, live=True, name="Shop wide", priority=1)
    lamps_only = platform_promotion(live=True, name="Lamps", scope="categories", category_ids=[lamps.pk], priority=5)
    everywhere = platform_promotion(live=True, name="Everywhere")
    shop_promotion(merchant, name="Draft")
    shop_promotion(merchant, live=True, name="Coupon", channel="coupon")
    answer = api().get(PUBLIC)
    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()["results"]] == ["Lamps", "Shop wide", "Everywhere"]
    detail = api().get(f"{PUBLIC}{shop_wide.pk}/").json()
    assert {k: detail[k] for k in ("level", "shop", "label", "benefit_type", "steps", "scope")} == {
        "level": "shop",
        "shop": {"id": merchant.pk, "name": merchant.display_name, "slug": merchant.slug},
        "label": "¥20 off orders from ¥200 ¥40 off orders from ¥300",
        "benefit_type": "spend_and_save",
        "steps": [{"threshold": "200.00", "amount": "20.00"}, {"threshold": "300.00", "amount": "40.00"}],
        "scope": "shop",
    }
    by_category = lambda pk: [p["id"] for p in api().get(PUBLIC, {"category": pk}).json()["results"]]  # noqa: E731
    assert by_category(lamps.pk) == [lamps_only.pk, shop_wide.pk, everywhere.pk]
    assert by_category(kitchen.pk) == [shop_wide.pk, everywhere.pk]
    assert [p["id"] for p in api().get(PUBLIC, {"shop": merchant.pk}).json()["results"]] == [shop_wide.pk]


def test_public_detail_of_a_promotion_not_live_is_not_found():
    merchant, _ = live_merchant()
    draft = shop_promotion(merchant)
    answer = api().get(f"{PUBLIC}{draft.pk}/")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_a_bad_filter_is_a_validation_error():
    answer = api().get(PUBLIC, {"category": "lamps"})
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")


# --- The merchant's own -------------------------------------------------------------------------


def test_who_reaches_the_merchant_endpoints():
    merchant, _ = live_merchant()
    promotion = shop_promotion(merchant)
    other, _ = live_merchant()
    catalog = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=catalog, role="catalog")
    orders = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=orders, role="orders")
    who = {
        "anonymous": None,
        "buyer": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "orders member": orders,
        "other merchant": other.owner,
        "catalog member": catalog,
        "owner": merchant.owner,
    }
    answers = {
        name: (api(user).get(MINE).status_code, api(user).get(f"{MINE}{promotion.pk}/").status_code)
        for name, user in who.items()
    }
    assert answers == {
        "anonymous": (401, 401),
        "buyer": (404, 404),
        "staff": (404, 404),
        "orders member": (404, 404),
        "other merchant": (200, 404),
        "catalog member": (200, 200),
        "owner": (200, 200),
    }


def test_create_change_and_run_a_promotion():
    merchant, (category,) = live_merchant()
    lamp = product(merchant, category, title="Lamp")
    client = api(merchant.owner)
    created = client.post(MINE, _payload(scope="products", product_ids=[lamp.pk], per_buyer_limit=1), format="json")
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("status", "level", "product_ids", "per_buyer_limit", "platform_share")} == {
        "status": "draft",
        "level": "shop",
        "product_ids": [lamp.pk],
        "per_buyer_limit": 1,
        "platform_share": "0.0000",
    }
    pk = body["id"]
    changed = client.patch(f"{MINE}{pk}/", {"name": "Renamed", "platform_share": "0.2500"}, format="json")
    assert changed.status_code == 200
    assert {k: changed.json()[k] for k in ("name", "product_ids", "platform_share", "steps")} == {
        "name": "Renamed",
        "product_ids": [lamp.pk],
        "platform_share": "0.2500",
        "steps": [{"threshold": "200.00", "amount": "20.00"}, {"threshold": "300.00", "amount": "40.00"}],
    }
    assert client.post(f"{MINE}{pk}/publish/").json()["status"] == "pending_approval"
    refused = client.patch(f"{MINE}{pk}/", {"name": "Again"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "promotion_not_editable")
    assert Promotion.objects.get(pk=pk).name == "Renamed"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        (
            {"steps": [{"threshold": "200", "amount": "20"}, {"threshold": "300", "amount": "10"}]},
            400,
            "steps_not_increasing",
        ),
        ({"benefit_type": "percentage", "percent": "100"}, 400, "invalid_percent"),
        ({"ends_at": "2020-01-01T00:00:00+08:00"}, 400, "invalid_window"),
        ({"scope": "products"}, 400, "scope_empty"),
        ({"scope": "platform"}, 400, "validation_error"),
        ({"benefit_type": "gift_sku"}, 400, "invalid_gift"),
        ({"name": ""}, 400, "validation_error"),
    ],
)
def test_refusals_have_stable_codes_and_write_nothing(overrides, status, code):
    merchant, _ = live_merchant()
    before = _state()
    answer = api(merchant.owner).post(MINE, _payload(**overrides), format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert _state() == before


def test_another_shops_products_or_categories_are_refused():
    merchant, _ = live_merchant()
    other, (other_category,) = live_merchant()
    theirs = product(other, other_category)
    client = api(merchant.owner)
    before = _state()
    answer = client.post(MINE, _payload(scope="products", product_ids=[theirs.pk]), format="json")
    assert (answer.status_code, answer.json()["code"], answer.json()["extra"]) == (
        400,
        "scope_not_own_shop",
        {"products": [theirs.pk]},
    )
    answer = client.post(MINE, _payload(scope="categories", category_ids=[other_category.pk]), format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")
    assert _state() == before


def test_another_merchant_cannot_change_or_run_a_promotion():
    merchant, _ = live_merchant()
    promotion = shop_promotion(merchant)
    other, _ = live_merchant()
    client = api(other.owner)
    before = _state()
    assert client.patch(f"{MINE}{promotion.pk}/", {"name": "Mine"}, format="json").status_code == 404
    for command in ("publish", "pause", "resume", "end"):
        assert client.post(f"{MINE}{promotion.pk}/{command}/").status_code == 404
    assert _state() == before


def test_commands_follow_the_transition_table():
    merchant, _ = live_merchant()
    promotion = shop_promotion(merchant)
    client = api(merchant.owner)
    refused = client.post(f"{MINE}{promotion.pk}/pause/")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    assert [
        client.post(f"{MINE}{promotion.pk}/{c}/").json()["status"] for c in ("publish", "pause", "resume", "end")
    ] == [
        "active",
        "paused",
        "active",
        "ended",
    ]
    assert Promotion.objects.get(pk=promotion.pk).updated_at <= timezone.now()
