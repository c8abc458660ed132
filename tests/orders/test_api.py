"""The orders API: permission matrix, cart, checkout idempotency, payment callbacks, the
buyer's actions, after-sales on both sides, reviews, and the merchant's orders."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from catalog.models import Stock
from orders import services
from orders.gateways import sandbox
from orders.models import (
    BuyerOrder,
    CartItem,
    CheckoutAttempt,
    GatewayEvent,
    MerchantOrder,
    OrderEvent,
    Payment,
    Review,
    Shipment,
)
from tests.catalog.factories import warehouse
from tests.factories import UserFactory
from tests.orders.test_portal_orders import World, build_world, member, order_state, pay, place, ship

pytestmark = pytest.mark.django_db

BASE = "/api/v1/orders/"


def client_for(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def world() -> World:
    return build_world()


def _request_on_mine(w: World, kind="refund"):
    mine = ship(w.mine)
    return services.after_sales_request_create(
        order=mine, buyer=w.buyer, kind=kind, reason="Broken", items=[(mine.lines.get().pk, 1, Decimal("100.00"))]
    )


# --- Permission matrix ----------------------------------------------------------------------------


def _buyer_calls(w: World, request_id: int) -> list[tuple[str, str]]:
    line = w.mine.lines.get()
    return [
        ("get", "cart/"),
        ("post", "cart/items/"),
        ("patch", f"cart/items/{w.lamp.pk}/"),
        ("delete", f"cart/items/{w.lamp.pk}/"),
        ("post", "checkout/"),
        ("get", "orders/"),
        ("get", f"orders/{w.multi.number}/"),
        ("post", f"orders/{w.multi.number}/pay/"),
        ("post", f"merchant-orders/{w.mine.pk}/cancel/"),
        ("post", f"merchant-orders/{w.mine.pk}/confirm-receipt/"),
        ("post", f"merchant-orders/{w.mine.pk}/after-sales/"),
        ("get", f"after-sales/{request_id}/"),
        ("post", f"after-sales/{request_id}/escalate/"),
        ("post", f"order-lines/{line.pk}/review/"),
    ]


def _merchant_calls(w: World, request_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "merchant/orders/"),
        ("get", f"merchant/orders/{w.mine.pk}/"),
        ("post", f"merchant/orders/{w.mine.pk}/ship/"),
        ("post", f"after-sales/{request_id}/accept/"),
        ("post", f"after-sales/{request_id}/reject/"),
        ("post", f"after-sales/{request_id}/return-received/"),
    ]


def _call(client, method, path, data=None):
    return getattr(client, method)(BASE + path, data or {}, format="json")


def test_anonymous_callers_get_401_everywhere_but_the_callback(world):
    request = _request_on_mine(world)
    before = order_state(world.mine, world.theirs)
    for method, path in _buyer_calls(world, request.pk) + _merchant_calls(world, request.pk):
        response = _call(client_for(), method, path)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated"), path
    assert order_state(world.mine, world.theirs) == before


def test_staff_use_the_admin_and_get_404_here(world):
    request = _request_on_mine(world)
    staff = UserFactory(is_staff=True, is_superuser=True)
    before = order_state(world.mine, world.theirs)
    for method, path in _buyer_calls(world, request.pk) + _merchant_calls(world, request.pk):
        response = _call(client_for(staff), method, path)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
    assert order_state(world.mine, world.theirs) == before


@pytest.mark.parametrize("who", ["other_buyer", "shop_owner", "other_owner"])
def test_nobody_else_reaches_the_buyers_rows(world, who):
    """Another buyer, and the merchants too: selling the order does not make it theirs to cancel."""
    request = _request_on_mine(world)
    user = {"other_buyer": world.other_buyer, "shop_owner": world.shop.owner, "other_owner": world.other_shop.owner}[
        who
    ]
    before = order_state(world.mine, world.theirs)
    own_rows = [
        (method, path)
        for method, path in _buyer_calls(world, request.pk)
        if not path.startswith("cart/") and path not in ("checkout/", "orders/")
    ]
    assert len(own_rows) == 8
    for method, path in own_rows:
        response = _call(client_for(user), method, path, {"reason": "x", "statement": "x", "rating": 5})
        # The request's merchant reads it (to answer it), as the merchant, never as the buyer.
        expected = 200 if who == "shop_owner" and path == f"after-sales/{request.pk}/" else 404
        assert response.status_code == expected, path
    assert client_for(user).get(BASE + "orders/").json()["results"] == []
    assert order_state(world.mine, world.theirs) == before


@pytest.mark.parametrize("who", ["other_owner", "catalog", "buyer"])
def test_merchant_endpoints_answer_404_to_everyone_else(world, who):
    request = _request_on_mine(world)
    user = {
        "other_owner": world.other_shop.owner,
        "catalog": member(world.shop, "catalog"),
        "buyer": world.buyer,  # the buyer of the request is not its merchant
    }[who]
    before = order_state(world.mine, world.theirs)
    data = {"carrier": "SF", "tracking_number": "X", "reason": "no", "warehouse": world.wh.pk}
    for method, path in _merchant_calls(world, request.pk):
        if who == "other_owner" and path == "merchant/orders/":
            continue  # their own list, checked below
        response = _call(client_for(user), method, path, data)
        assert response.status_code == 404, path
    assert order_state(world.mine, world.theirs) == before
    if who == "other_owner":
        listed = client_for(user).get(BASE + "merchant/orders/").json()["results"]
        assert [o["number"] for o in listed] == [world.theirs.number]


@pytest.mark.parametrize("role", ["owner", "orders"])
def test_owner_and_orders_members_reach_the_merchant_endpoints(world, role):
    request = _request_on_mine(world)
    user = world.shop.owner if role == "owner" else member(world.shop, role)
    client = client_for(user)
    assert client.get(BASE + "merchant/orders/").status_code == 200
    assert client.get(f"{BASE}merchant/orders/{world.mine.pk}/").status_code == 200
    assert client.get(f"{BASE}after-sales/{request.pk}/").json()["status"] == "open"


# --- Cart and checkout ----------------------------------------------------------------------------


def test_the_cart_grouped_by_shop(world):
    client = client_for(world.other_buyer)
    assert client.post(BASE + "cart/items/", {"sku": world.lamp.pk, "quantity": 2}, format="json").status_code == 201
    client.post(BASE + "cart/items/", {"sku": world.mug.pk}, format="json")
    response = client.patch(f"{BASE}cart/items/{world.lamp.pk}/", {"quantity": 3}, format="json")
    cart = response.json()
    assert response.status_code == 200
    assert [
        (s["shop"]["id"], [(line["sku_code"], line["quantity"]) for line in s["lines"]]) for s in cart["shops"]
    ] == [
        (world.shop.pk, [("LAMP", 3)]),
        (world.other_shop.pk, [("MUG", 1)]),
    ]
    assert (cart["goods_total"], cart["shipping_total"], cart["total"], cart["count"]) == (
        "619.97",
        "8.00",
        "627.97",
        4,
    )
    assert client.delete(f"{BASE}cart/items/{world.mug.pk}/").json()["count"] == 3
    assert client.delete(f"{BASE}cart/items/{world.mug.pk}/").status_code == 404
    refused = client.patch(f"{BASE}cart/items/{world.cable.pk}/", {"quantity": 1}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "not_in_cart")
    refused = client.post(BASE + "cart/items/", {"sku": 999999}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "sku_unavailable")
    assert list(CartItem.objects.values_list("sku__code", "quantity")) == [("LAMP", 3)]


def _checkout(client, body, key="key-0001-abcd"):
    return client.post(BASE + "checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_checkout_is_idempotent_per_key(world):
    client = client_for(world.other_buyer)
    client.post(BASE + "cart/items/", {"sku": world.cable.pk, "quantity": 5}, format="json")
    address = world.other_buyer.addresses.get()
    body = {
        "address": address.pk,
        "items": [{"sku": world.lamp.pk, "quantity": 1}, {"sku": world.cable.pk, "quantity": 2}],
    }

    first = _checkout(client, body)
    assert first.status_code == 201
    order = first.json()
    assert (order["status"], order["payable_total"], order["recipient"]) == ("pending_payment", "270.99", "王伟")
    assert [(line["sku_code"], line["quantity"]) for line in order["merchant_orders"][0]["lines"]] == [
        ("LAMP", 1),
        ("CABLE", 2),
    ]
    assert CartItem.objects.filter(cart__buyer=world.other_buyer).count() == 0  # ordered SKUs leave the cart

    replay = _checkout(client, {"items": body["items"], "address": address.pk})  # same body, keys reordered
    assert (replay.status_code, replay.json()["number"]) == (200, order["number"])

    other_body = {**body, "items": [{"sku": world.lamp.pk, "quantity": 2}]}
    reused = _checkout(client, other_body)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert BuyerOrder.objects.filter(buyer=world.other_buyer).count() == 1
    assert Stock.objects.get(sku=world.lamp).reserved == 3  # 2 for the world's paid order, 1 for this one

    missing = client.post(BASE + "checkout/", body, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    foreign = _checkout(client, {**body, "address": world.buyer.addresses.get().pk}, key="key-0002-abcd")
    assert (foreign.status_code, foreign.json()["code"]) == (400, "invalid_address")
    invalid = _checkout(client, {"address": address.pk, "items": []}, key="key-0003-abcd")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "validation_error")
    assert invalid.json()["extra"] == {"fields": {"items": {"non_field_errors": ["This list may not be empty."]}}}
    assert BuyerOrder.objects.filter(buyer=world.other_buyer).count() == 1


def test_checkout_with_too_little_stock_answers_409_and_reserves_nothing(world):
    client = client_for(world.other_buyer)
    body = {"address": world.other_buyer.addresses.get().pk, "items": [{"sku": world.lamp.pk, "quantity": 60}]}
    before = list(Stock.objects.order_by("pk").values_list("on_hand", "reserved"))
    response = _checkout(client, body)
    assert response.status_code == 409
    assert response.json() == {
        "code": "insufficient_stock",
        "message": "Not enough stock for some items.",
        "extra": {"lines": [{"sku": world.lamp.pk, "requested": 60, "available": 48}]},
    }
    assert list(Stock.objects.order_by("pk").values_list("on_hand", "reserved")) == before
    assert BuyerOrder.objects.filter(buyer=world.other_buyer).count() == 0
    assert CheckoutAttempt.objects.count() == 0


def test_checkout_answers_409_while_the_same_key_is_being_placed(world):
    key = "key-busy-0001"
    lock_id = int.from_bytes(
        hashlib.sha256(f"checkout:{world.other_buyer.pk}:{key}".encode()).digest()[:8], "big", signed=True
    )
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])  # another request holds the key
        body = {"address": world.other_buyer.addresses.get().pk, "items": [{"sku": world.lamp.pk, "quantity": 1}]}
        response = _checkout(client_for(world.other_buyer), body, key=key)
        assert (response.status_code, response.json()["code"]) == (409, "request_in_progress")
        assert BuyerOrder.objects.filter(buyer=world.other_buyer).count() == 0
    finally:
        other.close()


# --- Payment and the gateway callback ---------------------------------------------------------------


def _callback(body: bytes, signature: str | None = None):
    headers = {"HTTP_X_SANDBOX_SIGNATURE": signature if signature is not None else sandbox.sign(body)}
    return APIClient().post(BASE + "payments/sandbox/callback/", body, content_type="application/json", **headers)


def test_a_valid_callback_pays_once_however_often_it_is_replayed(world):
    order = place(world.other_buyer, (world.lamp, 1), (world.mug, 1))
    started = client_for(world.other_buyer).post(f"{BASE}orders/{order.number}/pay/")
    payment = started.json()
    assert (started.status_code, payment["amount"], payment["status"]) == (200, "227.99", "pending")
    assert payment["payment_url"] == f"http://testserver/pay/sandbox/{payment['reference']}/"

    body = sandbox.callback_body(payment_reference=payment["reference"], amount=Decimal("227.99"), event_id="evt_1")
    response = _callback(body)
    assert (response.status_code, response.json()) == (200, {"outcome": "paid"})
    for _ in range(10):
        assert _callback(body).json() == {"outcome": "duplicate"}
    again = sandbox.callback_body(payment_reference=payment["reference"], amount=Decimal("227.99"), event_id="evt_2")
    assert _callback(again).json() == {"outcome": "already_paid"}

    order.refresh_from_db()
    assert order.status == "paid"
    assert list(Payment.objects.filter(buyer_order=order).values_list("status", flat=True)) == ["succeeded"]
    assert GatewayEvent.objects.filter(event_id__in=["evt_1", "evt_2"]).count() == 2
    assert OrderEvent.objects.filter(merchant_order__buyer_order=order, action="pay").count() == 2  # two shops


def test_a_callback_with_a_bad_signature_changes_nothing(world):
    order = place(world.other_buyer, (world.lamp, 1))
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    events = GatewayEvent.objects.count()
    for signature in [sandbox.sign(body, secret="wrong-secret"), "", "t=1,v1=00", sandbox.sign(body + b" ")]:
        response = _callback(body, signature)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status, GatewayEvent.objects.count()) == ("pending_payment", "pending", events)


def test_paying_an_order_already_paid_is_refused(world):
    response = client_for(world.buyer).post(f"{BASE}orders/{world.multi.number}/pay/")
    assert (response.status_code, response.json()["code"]) == (409, "not_payable")


# --- Buyer orders and actions -----------------------------------------------------------------------


def test_the_buyer_lists_and_reads_their_orders(world):
    client = client_for(world.buyer)
    listed = client.get(BASE + "orders/").json()["results"]
    assert [(o["number"], o["payable_total"], len(o["merchant_orders"])) for o in listed] == [
        (world.multi.number, "427.98", 2)
    ]
    assert client.get(BASE + "orders/?status=shipped").json()["results"] == []
    assert client.get(BASE + "orders/?status=nonsense").status_code == 400
    detail = client.get(f"{BASE}orders/{world.multi.number}/").json()
    parts = {p["shop"]["id"]: p for p in detail["merchant_orders"]}
    assert parts[world.other_shop.pk]["paid_total"] == "28.00"
    assert [s["status"] for s in parts[world.shop.pk]["shipments"]] == ["pending"]
    assert "commission" not in parts[world.shop.pk]["lines"][0]


def test_the_buyer_cancels_a_paid_order_and_is_refunded(world):
    response = client_for(world.buyer).post(f"{BASE}merchant-orders/{world.theirs.pk}/cancel/", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert world.theirs.refunds.get().amount == Decimal("28.00")
    assert Stock.objects.get(sku=world.mug).reserved == 0
    refused = client_for(world.buyer).post(f"{BASE}merchant-orders/{world.theirs.pk}/cancel/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")


def test_cancelling_a_merged_order_leaves_the_other_order_in_its_parcel(world):
    first = pay(place(world.buyer, (world.cable, 1))).merchant_orders.get()
    services.shipment_merge(merchant=world.shop, orders=[world.mine, first], actor=world.shop.owner)
    response = client_for(world.buyer).post(f"{BASE}merchant-orders/{first.pk}/cancel/", {}, format="json")
    assert response.json()["status"] == "cancelled"
    # The lamps still wait in their (formerly shared) parcel; the cable's units are released.
    assert list(
        Shipment.objects.filter(lines__order_line__merchant_order=world.mine).values_list("status", flat=True)
    ) == ["pending"]
    assert Stock.objects.get(sku=world.cable).reserved == 0
    shipped = client_for(world.shop.owner).post(
        f"{BASE}merchant/orders/{world.mine.pk}/ship/", {"carrier": "SF", "tracking_number": "SF7"}, format="json"
    )
    assert shipped.json()["status"] == "shipped"
    assert Stock.objects.filter(sku=world.lamp).values_list("on_hand", "reserved").get() == (48, 0)


def test_confirming_receipt_then_reviewing(world):
    ship(world.mine)
    client = client_for(world.buyer)
    line = world.mine.lines.get()
    early = client.post(f"{BASE}order-lines/{line.pk}/review/", {"rating": 5}, format="json")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")
    response = client.post(f"{BASE}merchant-orders/{world.mine.pk}/confirm-receipt/")
    assert (response.status_code, response.json()["status"]) == (200, "completed")
    bad = client.post(f"{BASE}order-lines/{line.pk}/review/", {"rating": 6}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_rating")
    review = client.post(f"{BASE}order-lines/{line.pk}/review/", {"rating": 4, "text": "Bright"}, format="json")
    assert (review.status_code, review.json()["rating"], review.json()["order_line"]) == (201, 4, line.pk)
    again = client.post(f"{BASE}order-lines/{line.pk}/review/", {"rating": 1}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_reviewed")
    assert Review.objects.get().rating == 4


# --- After-sales on both sides ------------------------------------------------------------------------


def test_after_sales_from_request_to_dispute(world):
    ship(world.mine)
    line = world.mine.lines.get()
    buyer = client_for(world.buyer)
    too_much = buyer.post(
        f"{BASE}merchant-orders/{world.mine.pk}/after-sales/",
        {"kind": "refund", "reason": "Broken", "items": [{"order_line": line.pk, "quantity": 1, "amount": "500.00"}]},
        format="json",
    )
    assert (too_much.status_code, too_much.json()["code"]) == (400, "refund_exceeds_paid")
    created = buyer.post(
        f"{BASE}merchant-orders/{world.mine.pk}/after-sales/",
        {"kind": "refund", "reason": "Broken", "items": [{"order_line": line.pk, "quantity": 1, "amount": "150.00"}]},
        format="json",
    )
    assert created.status_code == 201
    request = created.json()
    assert (request["status"], request["total"], request["dispute"]) == ("open", "150.00", None)

    merchant = client_for(member(world.shop, "orders"))
    blank = merchant.post(f"{BASE}after-sales/{request['id']}/reject/", {"reason": " "}, format="json")
    assert (blank.status_code, blank.json()["code"]) == (400, "reason_required")
    rejected = merchant.post(f"{BASE}after-sales/{request['id']}/reject/", {"reason": "Used"}, format="json")
    assert (rejected.json()["status"], rejected.json()["merchant_note"]) == ("rejected", "Used")

    escalated = buyer.post(f"{BASE}after-sales/{request['id']}/escalate/", {"statement": "It was new"}, format="json")
    assert escalated.json()["status"] == "escalated"
    assert escalated.json()["dispute"]["status"] == "open"
    world.mine.refresh_from_db()
    assert (world.mine.is_frozen, world.mine.after_sales_open) == (True, True)
    late = merchant.post(f"{BASE}after-sales/{request['id']}/accept/", {}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "invalid_transition")


def test_a_return_through_the_api(world):
    request = _request_on_mine(world, kind="return_refund")
    merchant = client_for(world.shop.owner)
    accepted = merchant.post(f"{BASE}after-sales/{request.pk}/accept/", {"note": "Send it back"}, format="json")
    assert accepted.json()["status"] == "awaiting_return"
    theirs = warehouse(code="WH-OTHER", merchant=world.other_shop)
    refused = merchant.post(f"{BASE}after-sales/{request.pk}/return-received/", {"warehouse": theirs.pk}, format="json")
    assert (refused.status_code, refused.json()["extra"]) == (
        400,
        {"fields": {"warehouse": ["No open warehouse with this id is available to you."]}},
    )
    done = merchant.post(f"{BASE}after-sales/{request.pk}/return-received/", {"warehouse": world.wh.pk}, format="json")
    assert (done.json()["status"], done.json()["refund"]["amount"]) == ("refunded", "100.00")
    assert Stock.objects.filter(sku=world.lamp).values_list("on_hand", "reserved").get() == (49, 0)


# --- Merchant orders ----------------------------------------------------------------------------------


def test_the_merchant_sees_only_its_own_lines_of_a_multi_merchant_order(world):
    detail = client_for(world.shop.owner).get(f"{BASE}merchant/orders/{world.mine.pk}/").json()
    assert [
        (line["sku_code"], line["paid"], line["commission"], line["commission_rate"]) for line in detail["lines"]
    ] == [("LAMP", "399.98", "20.00", "0.05000000")]
    assert (detail["buyer_order_number"], detail["paid_total"], detail["recipient"]) == (
        world.multi.number,
        "399.98",
        "王伟",
    )
    assert "payable_total" not in detail
    assert [(p["warehouse"]["code"], p["order_numbers"]) for p in detail["shipments"]] == [
        ("WH-EAST", [world.mine.number])
    ]
    assert [(e["action"], e["by"]) for e in detail["events"]] == [("place", "buyer"), ("pay", "system")]
    theirs = client_for(world.other_shop.owner).get(f"{BASE}merchant/orders/{world.theirs.pk}/").json()
    assert [line["sku_code"] for line in theirs["lines"]] == ["MUG"]


def test_the_merchant_list_takes_the_shared_filters(world):
    unpaid = place(world.other_buyer, (world.cable, 1)).merchant_orders.get()
    client = client_for(world.shop.owner)

    def numbers(query):
        return [o["number"] for o in client.get(BASE + "merchant/orders/" + query).json()["results"]]

    assert numbers("") == [unpaid.number, world.mine.number]
    assert numbers("?status=paid") == [world.mine.number]
    assert numbers(f"?number={world.multi.number}") == [world.mine.number]
    assert numbers("?is_frozen=true") == []
    assert numbers("?after_sales_open=false") == [unpaid.number, world.mine.number]
    bad = client.get(BASE + "merchant/orders/?placed_from=2026-02-01&placed_to=2026-01-01")
    assert (bad.status_code, bad.json()["extra"]) == (
        400,
        {"fields": {"placed_to": ["The end date is before the start date."]}},
    )


def test_shipping_through_the_api(world):
    client = client_for(member(world.shop, "orders"))
    before = order_state(world.mine)
    blank = client.post(
        f"{BASE}merchant/orders/{world.mine.pk}/ship/", {"carrier": "SF", "tracking_number": ""}, format="json"
    )
    assert (blank.status_code, blank.json()["code"]) == (400, "tracking_required")
    assert order_state(world.mine) == before
    response = client.post(
        f"{BASE}merchant/orders/{world.mine.pk}/ship/", {"carrier": "SF", "tracking_number": "SF42"}, format="json"
    )
    shipped = response.json()
    assert (response.status_code, shipped["status"]) == (200, "shipped")
    assert [(p["status"], p["tracking_number"]) for p in shipped["shipments"]] == [("shipped", "SF42")]
    before = order_state(world.mine)
    twice = client.post(
        f"{BASE}merchant/orders/{world.mine.pk}/ship/", {"carrier": "SF", "tracking_number": "SF43"}, format="json"
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")
    assert order_state(world.mine) == before
    assert MerchantOrder.objects.get(pk=world.theirs.pk).status == "paid"


def test_the_merchant_lists_yes_no_filters_refuse_other_values(world):
    # Found by Schemathesis: `?is_frozen=-58800` used to mean "any" and listed every order.
    client = client_for(world.shop.owner)
    for name in ("is_frozen", "after_sales_open"):
        bad = client.get(BASE + "merchant/orders/", {name: "-58800"})
        assert (bad.status_code, bad.json()["extra"]) == (400, {"fields": {name: ["Enter true or false."]}})
        every = client.get(BASE + "merchant/orders/", {name: "unknown"})  # the portal's "Any"
        assert [o["number"] for o in every.json()["results"]] == [world.mine.number]
