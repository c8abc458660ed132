"""Merchant flash-sale API (/api/v1/promotions/merchant/flash-sales/): who may call what, the
answers, and refusals that write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.models import AuditLogEntry as AuditEntry
from promotions import flash_redis
from promotions.models import FlashSale
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.test_portal_orders import member
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401

pytestmark = pytest.mark.django_db

API = "/api/v1/promotions/merchant/flash-sales/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _terms(of_sku, **overrides) -> dict:
    start = timezone.now() + timedelta(hours=1)
    terms = {
        "sku": of_sku.pk,
        "special_price": "59.90",
        "quantity": 20,
        "per_buyer_limit": 2,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    terms.update(overrides)
    return terms


@pytest.fixture
def world():
    sale = live_sale(price="99.00", special="49.00", quantity=10, limit=2)
    other = live_sale()
    return sale, other


def identities(sale) -> dict:
    return {
        "anonymous": None,
        "buyer": UserFactory(),
        "other_merchant": live_sale().merchant.owner,
        "orders_member": member(sale.merchant, "orders"),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "owner": sale.merchant.owner,
        "catalog_member": member(sale.merchant, "catalog"),
    }


EXPECTED = {
    "anonymous": 401,
    "buyer": 404,
    "other_merchant": 404,
    "orders_member": 404,
    "staff": 404,
    "owner": 200,
    "catalog_member": 200,
}


def test_who_may_list_retrieve_pause_and_resume(world):
    sale, _other = world
    for name, user in identities(sale).items():
        api = client_for(user)
        expected = EXPECTED[name]
        listed = api.get(API)
        if name == "other_merchant":  # its own list (its own sale), without this one
            assert listed.status_code == 200
            assert sale.pk not in [row["id"] for row in listed.json()["results"]]
        else:
            assert listed.status_code == expected, name
        assert api.get(f"{API}{sale.pk}/").status_code == expected, name
        assert api.post(f"{API}{sale.pk}/pause/").status_code == expected, name
        assert api.post(f"{API}{sale.pk}/resume/").status_code == expected, name
        later = sale.ends_at + timedelta(hours=1)
        terms = _terms(sale.sku, starts_at=later.isoformat(), ends_at=(later + timedelta(hours=1)).isoformat())
        created = api.post(API, terms, format="json")
        assert created.status_code == (201 if expected == 200 else expected), name
        if expected == 200:  # one sale per window: the next identity's would overlap
            FlashSale.objects.filter(pk=created.json()["id"]).delete()
    sale.refresh_from_db()
    assert sale.is_paused is False
    assert FlashSale.objects.filter(sku=sale.sku).count() == 1


def test_the_list_holds_only_the_callers_sales_with_their_figures(world):
    sale, other = world
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    answer = client_for(sale.merchant.owner).get(API)
    assert answer.status_code == 200
    assert [row["id"] for row in answer.json()["results"]] == [sale.pk]
    row = answer.json()["results"][0]
    assert {key: row[key] for key in ("sku", "sku_code", "price", "special_price", "quantity")} == {
        "sku": sale.sku_id,
        "sku_code": sale.sku.code,
        "price": "99.00",
        "special_price": "49.00",
        "quantity": 10,
    }
    assert (row["sold"], row["reserved"], row["remaining"], row["state"], row["funding"], row["is_paused"]) == (
        0,
        2,
        8,
        "live",
        "merchant",
        False,
    )
    # Another shop's sale: 404 on every route, and it stays as it was.
    api = client_for(sale.merchant.owner)
    for response in (api.get(f"{API}{other.pk}/"), api.post(f"{API}{other.pk}/pause/"), api.get(f"{API}999999/")):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.is_paused is False


def test_the_owner_creates_a_sale_funded_by_the_merchant():
    sku = stocked_sku(price="99.00", stock=50)
    answer = client_for(sku.merchant.owner).post(API, _terms(sku), format="json")
    assert answer.status_code == 201
    sale = FlashSale.objects.get()
    body = answer.json()
    assert body["id"] == sale.pk
    assert (body["special_price"], body["quantity"], body["per_buyer_limit"], body["state"], body["funding"]) == (
        "59.90",
        20,
        2,
        "upcoming",
        "merchant",
    )
    assert (sale.merchant_id, sale.created_by_id, sale.funding, sale.platform_share) == (
        sku.merchant_id,
        sku.merchant.owner.pk,
        "merchant",
        0,
    )
    assert AuditEntry.objects.filter(action="promotions.flash_sale_created").count() == 1


def test_pause_and_resume_answer_the_sale_and_the_admission_follows(world):
    sale, _other = world
    api = client_for(sale.merchant.owner)
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=UserFactory().pk)  # the Redis state exists
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        paused = api.post(f"{API}{sale.pk}/pause/")
    assert (paused.status_code, paused.json()["is_paused"], paused.json()["state"]) == (200, True, "paused")
    assert flash_redis.snapshot(sale.pk) == {}  # dropped: rebuilt paused
    with TestCase.captureOnCommitCallbacks(execute=True):
        resumed = api.post(f"{API}{sale.pk}/resume/")
    assert (resumed.status_code, resumed.json()["is_paused"], resumed.json()["state"]) == (200, False, "live")
    assert list(
        AuditEntry.objects.filter(action__startswith="promotions.flash_sale_")
        .order_by("pk")
        .values_list("action", flat=True)
    )[-2:] == ["promotions.flash_sale_paused", "promotions.flash_sale_resumed"]


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"special_price": "99.00"}, 400, "invalid_special_price"),
        ({"quantity": 51}, 400, "quantity_exceeds_stock"),
        ({"per_buyer_limit": 21}, 400, "invalid_limit"),
        ({"starts_at": "2020-01-01T00:00:00Z"}, 400, "window_in_past"),
        ({"quantity": "many"}, 400, "validation_error"),
        ({"sku": 0}, 404, "not_found"),
    ],
)
def test_refused_terms_answer_their_code_and_write_nothing(overrides, status, code):
    sku = stocked_sku(price="99.00", stock=50)
    answer = client_for(sku.merchant.owner).post(API, _terms(sku, **overrides), format="json", **EN)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert FlashSale.objects.count() == 0
    assert AuditEntry.objects.filter(action="promotions.flash_sale_created").count() == 0


def test_another_merchants_sku_is_not_found_and_an_overlap_is_a_conflict(world):
    sale, other = world
    api = client_for(sale.merchant.owner)
    answer = api.post(API, _terms(other.sku), format="json")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    start = sale.ends_at - timedelta(minutes=10)
    overlapping = api.post(
        API,
        _terms(sale.sku, starts_at=start.isoformat(), ends_at=(start + timedelta(hours=1)).isoformat()),
        format="json",
    )
    assert (overlapping.status_code, overlapping.json()["code"]) == (409, "flash_sale_overlaps")
    assert FlashSale.objects.count() == 2


def test_the_routes_are_documented_with_their_own_names():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert set(paths[API[:-1] + "/"]) >= {"get", "post"}
    assert set(paths[API + "{id}/"]) == {"get"}
    assert set(paths[API + "{id}/pause/"]["post"]["responses"]) >= {"200", "401", "404"}
    assert set(paths[API]["post"]["responses"]) >= {"201", "400", "401", "404", "409"}
    components = schema["components"]["schemas"]
    assert {"MerchantFlashSale", "MerchantFlashSaleInputRequest", "FlashSaleStateEnum", "FlashFundingEnum"} <= set(
        components
    )
