"""The merchant catalog API: the caller's products, SKUs and stock."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import services
from catalog.models import SKU, Product, ProductRevision, Stock, StockMovement
from catalog.services import StockLine
from merchants.models import MerchantMember
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog/merchant/"
PRODUCTS = BASE + "products/"
STOCK = BASE + "stock/"


def client_for(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def snapshot(merchant) -> dict:
    """Everything of the merchant's catalog a refused call must leave as it was."""
    return {
        "products": list(Product.objects.filter(merchant=merchant).order_by("pk").values()),
        "skus": list(SKU.objects.filter(merchant=merchant).order_by("pk").values()),
        "revisions": list(ProductRevision.objects.filter(product__merchant=merchant).order_by("pk").values()),
        "stock": list(Stock.objects.filter(sku__merchant=merchant).order_by("pk").values()),
        "movements": StockMovement.objects.filter(stock__sku__merchant=merchant).count(),
    }


@pytest.fixture
def shop():
    merchant, [cat] = live_merchant()
    item = product(merchant, cat, title="Desk lamp", skus=[{"code": "LAMP-W", "price": "199.99", "reorder_point": 3}])
    return merchant, cat, item, item.skus.get(), warehouse(code="WH-E")


def _create_payload(cat, **overrides) -> dict:
    data = {
        "title": "Reading lamp",
        "category": cat.pk,
        "description": "Warm light",
        "skus": [
            {"code": "RL-W", "price": "89.90", "attributes": {"colour": "white"}, "reorder_point": 4},
            {"code": "RL-B", "price": "79.00", "attributes": {"colour": "black"}},
        ],
    }
    data.update(overrides)
    return data


# --- Access ------------------------------------------------------------------------------


def _calls(item, sku, wh, cat):
    return [
        ("get", PRODUCTS, None),
        ("post", PRODUCTS, _create_payload(cat)),
        ("get", f"{PRODUCTS}{item.pk}/", None),
        ("patch", f"{PRODUCTS}{item.pk}/", {"title": "Changed"}),
        ("post", f"{PRODUCTS}{item.pk}/submit/", None),
        ("post", f"{PRODUCTS}{item.pk}/skus/", {"code": "NEW-1", "price": "5.00"}),
        ("get", STOCK, None),
        ("post", STOCK, {"sku": sku.pk, "warehouse": wh.pk, "quantity": 5}),
        ("post", STOCK + "adjust/", {"sku": sku.pk, "warehouse": wh.pk, "on_hand": 2, "reason": "Count"}),
    ]


def _call(client, method, url, data):
    return getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)


def test_anonymous_callers_get_401_and_nothing_changes(shop):
    merchant, cat, item, sku, wh = shop
    before = snapshot(merchant)
    for method, url, data in _calls(item, sku, wh, cat):
        response = _call(client_for(), method, url, data)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated"), url
    assert snapshot(merchant) == before


@pytest.mark.parametrize("who", ["buyer", "staff", "finance", "orders"])
def test_users_without_the_catalog_get_404_and_nothing_changes(shop, who):
    merchant, cat, item, sku, wh = shop
    user = {
        "buyer": lambda: UserFactory(),
        "staff": lambda: UserFactory(is_staff=True),
        "finance": lambda: _member(merchant, "finance"),
        "orders": lambda: _member(merchant, "orders"),
    }[who]()
    before = snapshot(merchant)
    for method, url, data in _calls(item, sku, wh, cat):
        response = _call(client_for(user), method, url, data)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), url
    assert snapshot(merchant) == before


def test_another_merchants_ids_answer_404_and_nothing_changes(shop):
    merchant, _cat, item, sku, wh = shop
    intruder, _cats = live_merchant()
    their_wh = warehouse(merchant=intruder, code="THEIRS")
    before = snapshot(merchant)
    client = client_for(intruder.owner)
    calls = [
        ("get", f"{PRODUCTS}{item.pk}/", None),
        ("patch", f"{PRODUCTS}{item.pk}/", {"title": "Changed"}),
        ("post", f"{PRODUCTS}{item.pk}/submit/", None),
        ("post", f"{PRODUCTS}{item.pk}/skus/", {"code": "NEW-1", "price": "5.00"}),
        ("post", STOCK, {"sku": sku.pk, "warehouse": wh.pk, "quantity": 5}),
        ("post", STOCK + "adjust/", {"sku": sku.pk, "warehouse": wh.pk, "on_hand": 2, "reason": "Count"}),
    ]
    for method, url, data in calls:
        response = _call(client, method, url, data)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), url
    # Lists show only the intruder's own rows.
    assert client.get(PRODUCTS).json()["results"] == []
    assert client.get(STOCK).json()["results"] == []
    # And the victim cannot use the intruder's own warehouse.
    response = client_for(merchant.owner).post(STOCK, {"sku": sku.pk, "warehouse": their_wh.pk, "quantity": 5})
    assert response.status_code == 404
    assert snapshot(merchant) == before


@pytest.mark.parametrize("role", ["owner", "catalog"])
def test_owner_and_catalog_members_use_the_api(shop, role):
    merchant, _cat, item, _sku, _wh = shop
    user = merchant.owner if role == "owner" else _member(merchant, role)
    response = client_for(user).get(PRODUCTS)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [item.pk]


def test_token_authentication(shop):
    merchant, _cat, item, _sku, _wh = shop
    token = Token.objects.create(user=merchant.owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"{PRODUCTS}{item.pk}/").json()["title"] == "Desk lamp"


# --- Products --------------------------------------------------------------------------


def test_list_with_filters(shop):
    merchant, cat, item, _sku, _wh = shop
    child = category("Desk lamps", parent=cat)
    draft = product(merchant, child, title="Floor lamp", publish=False, skus=[{"code": "F-1", "price": "300.00"}])
    services.product_update(product=item, actor=merchant.owner, title="Desk lamp v2")
    client = client_for(merchant.owner)
    body = client.get(PRODUCTS).json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first == {
        "id": draft.pk,
        "title": "Floor lamp",
        "category": child.pk,
        "category_name": "Desk lamps",
        "status": "draft",
        "review_reason": "",
        "min_price": "300.00",
        "is_published": False,
        "published_at": None,
        "withdrawn_at": None,
        "pending_revision": False,
        "sku_count": 1,
        "updated_at": first["updated_at"],
    }
    assert (second["id"], second["title"], second["status"], second["pending_revision"], second["is_published"]) == (
        item.pk,
        "Desk lamp",
        "approved",
        True,
        True,
    )

    def ids(query):
        return [p["id"] for p in client.get(PRODUCTS, query).json()["results"]]

    assert ids({"status": "approved"}) == [item.pk]
    assert ids({"q": "floor"}) == [draft.pk]
    assert ids({"pending_revision": "true"}) == [item.pk]
    assert ids({"pending_revision": "false"}) == [draft.pk]
    assert ids({"category": child.pk}) == [draft.pk]
    assert ids({"category": cat.pk}) == [draft.pk, item.pk]
    response = client.get(PRODUCTS, {"status": "nonsense"})
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_create_a_product_with_nested_skus(shop):
    merchant, cat, _item, _sku, _wh = shop
    response = client_for(merchant.owner).post(PRODUCTS, _create_payload(cat), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    created = Product.objects.get(pk=body["id"])
    assert (created.merchant, created.title, created.status, str(created.min_price)) == (
        merchant,
        "Reading lamp",
        "draft",
        "79.00",
    )
    assert (body["status"], body["min_price"], body["is_published"], body["pending_revision"], body["images"]) == (
        "draft",
        "79.00",
        False,
        None,
        [],
    )
    assert [
        (s["code"], s["price"], s["attributes"], s["reorder_point"], s["lead_time_days"]) for s in body["skus"]
    ] == [
        ("RL-W", "89.90", {"colour": "white"}, 4, 7),
        ("RL-B", "79.00", {"colour": "black"}, 0, 7),
    ]


def test_create_refusals_change_nothing(shop):
    merchant, cat, _item, _sku, _wh = shop
    client = client_for(merchant.owner)
    before = snapshot(merchant)
    foreign = category("Jewellery")

    response = client.post(PRODUCTS, _create_payload(foreign), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "category_not_granted")
    assert response.json()["extra"] == {"category": foreign.pk}

    taken = _create_payload(cat, skus=[{"code": "LAMP-W", "price": "5.00"}])
    response = client.post(PRODUCTS, taken, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "sku_code_taken")

    twice = _create_payload(cat, skus=[{"code": "X", "price": "5.00"}, {"code": "X", "price": "6.00"}])
    response = client.post(PRODUCTS, twice, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert response.json()["extra"]["fields"] == {"skus": ["Two SKUs have the same code."]}

    for bad in (
        _create_payload(cat, skus=[]),
        _create_payload(cat, category=999_999),
        _create_payload(cat, skus=[{"code": "Y", "price": "0.00"}]),
    ):
        response = client.post(PRODUCTS, bad, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "validation_error"), bad

    response = client.post(PRODUCTS, _create_payload(cat, tag_ids=[424242]), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_tags")
    assert snapshot(merchant) == before


def test_patch_of_a_published_product_waits_for_review(shop):
    merchant, _cat, item, _sku, _wh = shop
    response = client_for(merchant.owner).patch(f"{PRODUCTS}{item.pk}/", {"title": "Desk lamp PRO"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Desk lamp"
    assert (body["pending_revision"]["status"], body["pending_revision"]["title"]) == ("pending", "Desk lamp PRO")
    assert Product.objects.get(pk=item.pk).title == "Desk lamp"
    assert ProductRevision.objects.get(product=item).title == "Desk lamp PRO"


def test_patch_of_a_draft_applies_at_once(shop):
    merchant, cat, _item, _sku, _wh = shop
    draft = product(merchant, cat, title="Lamp", publish=False)
    response = client_for(merchant.owner).patch(
        f"{PRODUCTS}{draft.pk}/", {"title": "Table lamp", "description": "Brass"}, format="json"
    )
    assert (response.status_code, response.json()["title"], response.json()["description"]) == (
        200,
        "Table lamp",
        "Brass",
    )
    assert ProductRevision.objects.filter(product=draft).count() == 0
    before = snapshot(merchant)
    foreign = category("Jewellery")
    response = client_for(merchant.owner).patch(f"{PRODUCTS}{draft.pk}/", {"category": foreign.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "category_not_granted")
    assert snapshot(merchant) == before


def test_submit_needs_a_picture(shop):
    merchant, cat, _item, _sku, _wh = shop
    draft = product(merchant, cat, publish=False)
    client = client_for(merchant.owner)
    before = snapshot(merchant)
    response = client.post(f"{PRODUCTS}{draft.pk}/submit/")
    assert (response.status_code, response.json()["code"], response.json()["extra"]) == (
        400,
        "listing_incomplete",
        {"missing": ["image"]},
    )
    assert snapshot(merchant) == before
    services.product_image_add(product=draft, actor=merchant.owner, uploaded=image_upload())
    response = client.post(f"{PRODUCTS}{draft.pk}/submit/")
    assert (response.status_code, response.json()["status"]) == (200, "submitted")
    response = client.post(f"{PRODUCTS}{draft.pk}/submit/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")


def test_add_a_sku(shop):
    merchant, _cat, item, _sku, _wh = shop
    client = client_for(merchant.owner)
    response = client.post(
        f"{PRODUCTS}{item.pk}/skus/",
        {"code": "LAMP-B", "price": "149.00", "attributes": {"colour": "black"}},
        format="json",
    )
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("code", "price", "attributes", "is_active")} == {
        "code": "LAMP-B",
        "price": "149.00",
        "attributes": {"colour": "black"},
        "is_active": True,
    }
    assert str(Product.objects.get(pk=item.pk).min_price) == "149.00"
    before = snapshot(merchant)
    response = client.post(f"{PRODUCTS}{item.pk}/skus/", {"code": "LAMP-B", "price": "1.00"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "sku_code_taken")
    assert snapshot(merchant) == before


# --- Stock -------------------------------------------------------------------------------


def test_receipt_adjustment_and_list(shop):
    merchant, _cat, _item, sku, wh = shop
    client = client_for(merchant.owner)
    response = client.post(
        STOCK, {"sku": sku.pk, "warehouse": wh.pk, "quantity": 30, "reference": "PO-7"}, format="json"
    )
    assert response.status_code == 201
    level = Stock.objects.get(sku=sku, warehouse=wh)
    assert response.json() == {
        "id": level.pk,
        "sku": sku.pk,
        "sku_code": "LAMP-W",
        "product": sku.product_id,
        "product_title": "Desk lamp",
        "warehouse": wh.pk,
        "warehouse_code": "WH-E",
        "on_hand": 30,
        "reserved": 0,
        "available": 30,
    }
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 6)], reference="order-1")
    response = client.post(STOCK + "adjust/", {"sku": sku.pk, "warehouse": wh.pk, "on_hand": 26, "reason": "Stocktake"})
    assert response.status_code == 200
    assert (response.json()["on_hand"], response.json()["reserved"], response.json()["available"]) == (26, 6, 20)
    assert list(
        level.movements.order_by("id").values_list("kind", "on_hand_delta", "reserved_delta", "reference", "reason")
    ) == [
        ("receipt", 30, 0, "PO-7", ""),
        ("reservation", 0, 6, "order-1", ""),
        ("adjustment", -4, 0, "", "Stocktake"),
    ]
    listed = client.get(STOCK).json()
    assert [(r["sku_code"], r["on_hand"], r["reserved"], r["available"]) for r in listed["results"]] == [
        ("LAMP-W", 26, 6, 20)
    ]
    assert client.get(STOCK, {"warehouse": wh.pk + 1000}).json()["results"] == []
    assert client.get(STOCK, {"sku": sku.pk}).json()["count"] == 1


def test_stock_refusals_change_nothing(shop):
    merchant, _cat, _item, sku, wh = shop
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=10, actor=merchant.owner)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 7)], reference="order-1")
    client = client_for(merchant.owner)
    before = snapshot(merchant)
    response = client.post(STOCK + "adjust/", {"sku": sku.pk, "warehouse": wh.pk, "on_hand": 6, "reason": "Count"})
    assert (response.status_code, response.json()["code"], response.json()["extra"]) == (
        409,
        "below_reserved",
        {"reserved": 7},
    )
    response = client.post(STOCK + "adjust/", {"sku": sku.pk, "warehouse": wh.pk, "on_hand": 9, "reason": "  "})
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    response = client.post(STOCK, {"sku": sku.pk, "warehouse": wh.pk, "quantity": 0})
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    response = client.post(STOCK, {"sku": sku.pk, "warehouse": 999_999, "quantity": 1})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert snapshot(merchant) == before


def test_schema_documents_the_merchant_endpoints(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    paths = schema["paths"]
    assert set(paths[PRODUCTS]) == {"get", "post"}
    assert set(paths[PRODUCTS + "{id}/"]) == {"get", "patch"}
    assert set(paths[PRODUCTS + "{id}/submit/"]) == {"post"}
    assert set(paths[PRODUCTS + "{id}/skus/"]) == {"post"}
    assert set(paths[STOCK]) == {"get", "post"}
    assert set(paths[STOCK + "adjust/"]) == {"post"}
    create = paths[PRODUCTS]["post"]
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "409", "415", "429"}
    assert create["responses"]["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "`category_not_granted`" in create["description"]
    assert "`below_reserved`" in paths[STOCK + "adjust/"]["post"]["description"]
