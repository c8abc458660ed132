"""The whole buyer journey through the REST API only, as an integrator would drive it:
token → cart → checkout (Idempotency-Key) → pay (signed gateway callback) → the merchant
ships → the buyer confirms receipt → review → the month is settled."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Stock
from orders.gateways import sandbox
from orders.models import BuyerOrder, Review, ShippingRate
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import PASSWORD, UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _token_client(email):
    client = APIClient()
    token = client.post(f"{API}/auth/token/", {"email": email, "password": PASSWORD}, format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_buyer_journey_through_the_api():
    merchant, (category,) = live_merchant()
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("8.00"), free_over=None)
    item = product(merchant, category, title="LED 护眼台灯", skus=[{"code": "LAMP", "price": "35.50"}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        merchant=sku.merchant, sku=sku, warehouse=warehouse(), quantity=10, actor=merchant.owner
    )
    buyer = UserFactory(email="api.buyer@example.com")
    address = address_for(buyer)
    shopper = _token_client("api.buyer@example.com")

    found = APIClient().get(f"{API}/catalog/products/", {"q": "台灯"}).json()
    assert [p["id"] for p in found["results"]] == [item.pk]

    assert shopper.post(f"{API}/orders/cart/items/", {"sku": sku.pk, "quantity": 2}, format="json").status_code in (
        200,
        201,
    )
    body = {"address": address.pk, "items": [{"sku": sku.pk, "quantity": 2}]}
    placed = shopper.post(f"{API}/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="journey-key-0001")
    assert placed.status_code == 201
    order = placed.json()
    assert order["payable_total"] == "79.00"  # 2 × 35.50 + 8.00 shipping
    replay = shopper.post(f"{API}/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="journey-key-0001")
    assert (replay.status_code, replay.json()["number"]) == (200, order["number"])

    payment = shopper.post(f"{API}/orders/orders/{order['number']}/pay/").json()
    assert payment["amount"] == "79.00"
    callback = sandbox.callback_body(payment_reference=payment["reference"], amount=Decimal(payment["amount"]))
    answer = APIClient().post(
        f"{API}/orders/payments/sandbox/callback/",
        data=callback,
        content_type="application/json",
        **{"HTTP_X_SANDBOX_SIGNATURE": sandbox.sign(callback)},
    )
    assert (answer.status_code, answer.json()["outcome"]) == (200, "paid")

    shop = _token_client(merchant.owner.email)
    merchant_orders = shop.get(f"{API}/orders/merchant/orders/").json()["results"]
    assert [m["status"] for m in merchant_orders] == ["paid"]
    merchant_order_id = merchant_orders[0]["id"]
    shipped = shop.post(
        f"{API}/orders/merchant/orders/{merchant_order_id}/ship/",
        {"carrier": "SF", "tracking_number": "SF123456"},
        format="json",
    )
    assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped")

    confirmed = shopper.post(f"{API}/orders/merchant-orders/{merchant_order_id}/confirm-receipt/")
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "completed")
    line_id = shopper.get(f"{API}/orders/orders/{order['number']}/").json()["merchant_orders"][0]["lines"][0]["id"]
    review = shopper.post(f"{API}/orders/order-lines/{line_id}/review/", {"rating": 5, "text": "很亮"}, format="json")
    assert review.status_code == 201

    assert BuyerOrder.objects.get().status == "paid"
    assert Review.objects.get().rating == 5
    assert Stock.objects.filter(sku=sku).values_list("on_hand", "reserved").get() == (8, 0)
