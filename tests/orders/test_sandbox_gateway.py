"""The sandbox gateway exists only while it is enabled, and its callback refuses what no
payment can be (issue #10, finding 1).

In production a forged "payment succeeded" signed with the public default secret marked an
order paid; with a valid signature, the amounts "sNaN" and Infinity and an event id over 100
characters answered 500.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from catalog import services as catalog_services
from demo.orders import ADDRESSES, seed_orders
from marketplace.sandbox import SandboxDisabled
from orders import services
from orders.gateways import sandbox
from orders.gateways.base import CallbackEvent
from orders.models import BuyerOrder, GatewayEvent, OrderEvent, Payment
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db

CALLBACK = "/api/v1/orders/payments/sandbox/callback/"
PRODUCTION = {"DEBUG": False, "SANDBOX_GATEWAY_ENABLED": False}


def _order() -> BuyerOrder:
    """A pending order of 2 × ¥30.00 + ¥8.00 shipping = ¥68.00."""
    merchant, (cat,) = live_merchant()
    sku = product(merchant, cat, skus=[{"code": "P1", "price": "30.00"}]).skus.get()
    catalog_services.stock_receive(sku=sku, warehouse=warehouse(), quantity=10, actor=merchant.owner, merchant=merchant)
    buyer = UserFactory()
    return services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 2)])


def _pending_payment() -> Payment:
    payment = services.payment_start(buyer_order=_order())
    assert payment.amount == Decimal("68.00")
    return payment


PUBLIC_DEFAULT_SECRET = b"sandbox-secret-change-me"


def _forge(body: bytes) -> str:
    """What an attacker computes with the public default secret, without our code."""
    timestamp = int(time.time())
    digest = hmac.new(PUBLIC_DEFAULT_SECRET, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _post(body: bytes, signature: str | None = None):
    signature = sandbox.sign(body) if signature is None else signature
    return APIClient().post(CALLBACK, body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE=signature)


def _state(payment: Payment) -> tuple:
    payment.refresh_from_db()
    order = payment.buyer_order
    order.refresh_from_db()
    return (
        order.status,
        payment.status,
        GatewayEvent.objects.count(),
        OrderEvent.objects.filter(action="pay").count(),
        Payment.objects.count(),
    )


PENDING = ("pending_payment", "pending", 0, 0, 1)


# --- The sandbox switched off: no route, page or service ---------------------------------------


@override_settings(**PRODUCTION)
def test_a_forged_payment_succeeded_with_the_public_secret_finds_no_callback_in_production():
    with override_settings(SANDBOX_GATEWAY_ENABLED=True):
        payment = _pending_payment()
    body = json.dumps(
        {"id": "evt_forged", "type": "payment.succeeded", "payment": payment.reference, "amount": "68.00"}
    ).encode()
    for signature in (_forge(body), sandbox.sign(body)):
        response = _post(body, signature)
        assert response.status_code == 404
    assert _state(payment) == PENDING


@override_settings(**PRODUCTION)
def test_in_production_the_sandbox_page_does_not_exist():
    with override_settings(SANDBOX_GATEWAY_ENABLED=True):
        payment = _pending_payment()
    web = Client()
    web.force_login(payment.buyer_order.buyer)
    url = f"/pay/sandbox/{payment.reference}/"
    assert web.get(url).status_code == 404
    assert web.post(url, {"outcome": "pay"}).status_code == 404
    assert Client().get(url).status_code == 404  # not even a login redirect
    assert _state(payment) == PENDING


@override_settings(**PRODUCTION)
def test_in_production_a_buyer_cannot_start_a_sandbox_payment():
    order = _order()
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(order.buyer)
    page = web.get(f"/pay/{order.number}/").content.decode()
    assert "Online payment is not available on this site at the moment." in page
    assert f'action="/pay/{order.number}/"' not in page
    response = web.post(f"/pay/{order.number}/", follow=True)
    assert response.redirect_chain == [(f"/orders/{order.number}/", 302)]
    assert "The sandbox payment gateway is switched off on this site." in response.content.decode()

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(order.buyer)
    response = api.post(f"/api/v1/orders/orders/{order.number}/pay/")
    assert (response.status_code, response.json()["code"]) == (409, "sandbox_disabled")
    order.refresh_from_db()
    assert (order.status, Payment.objects.count()) == ("pending_payment", 0)


@override_settings(**PRODUCTION)
def test_in_production_the_sandbox_services_refuse_whoever_calls_them():
    with override_settings(SANDBOX_GATEWAY_ENABLED=True):
        payment = _pending_payment()
        body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
        signature = sandbox.sign(body)
    event = CallbackEvent(
        event_id="evt_direct",
        kind="payment.succeeded",
        payment_reference=payment.reference,
        amount=Decimal("68.00"),
        payload={},
    )
    refusals = [
        lambda: services.payment_start(buyer_order=payment.buyer_order),
        lambda: sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: signature}, raw_body=body),
        lambda: services.gateway_event_process(gateway="sandbox", event=event),
        lambda: sandbox.SandboxGateway().payment_url(payment),
    ]
    for call in refusals:
        with pytest.raises(SandboxDisabled) as info:
            call()
        assert info.value.code == "sandbox_disabled"
    assert _state(payment) == PENDING


@override_settings(DEBUG=False, SANDBOX_GATEWAY_ENABLED=True)
def test_the_flag_not_debug_decides_a_demo_deployment_pays_through_the_sandbox():
    order = _order()
    web = Client()
    web.force_login(order.buyer)
    response = web.post(f"/pay/{order.number}/")
    payment = Payment.objects.get()
    assert response["Location"] == f"/pay/sandbox/{payment.reference}/"
    assert web.get(response["Location"]).status_code == 200
    web.post(response["Location"], {"outcome": "pay"})
    assert _state(payment) == ("paid", "succeeded", 1, 1, 1)


# --- The callback refuses what no payment can be -------------------------------------------------


def _body(paid: Payment, /, **changes) -> bytes:
    fields = {"id": "evt_1", "type": "payment.succeeded", "payment": paid.reference, "amount": "68.00"}
    fields.update(changes)
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    "amount",
    [
        *["sNaN", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "-1", "-68.00", "0", "0.00", "68.001", "68.000"],
        *["6.8e1", "1_000", " 68.00", "６８.００", "", "abc", "1000000000000.00"],
    ],
)
def test_an_amount_that_is_not_finite_positive_cents_answers_400(amount):
    payment = _pending_payment()
    response = _post(_body(payment, amount=amount))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_amount")
    assert _state(payment) == PENDING


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e400", "-68.00", "0", "0.0", "68.001", "true", "null", "[68]"]
)
def test_an_amount_given_as_a_json_value_that_is_not_finite_positive_cents_answers_400(literal):
    payment = _pending_payment()
    body = _body(payment, amount="__AMOUNT__").replace(b'"__AMOUNT__"', literal.encode())
    response = _post(body)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_amount")
    assert _state(payment) == PENDING


def test_an_amount_other_than_the_payments_answers_400():
    payment = _pending_payment()
    for amount in ("67.99", "68.01", "6800", "1"):
        response = _post(_body(payment, amount=amount))
        assert (response.status_code, response.json()["code"]) == (400, "amount_mismatch")
        assert response.json()["extra"] == {"amount": amount, "expected": "68.00"}
    assert _state(payment) == PENDING
    # The same event id, corrected, is then accepted: the refusals recorded nothing.
    assert _post(_body(payment)).json() == {"outcome": "paid"}


@pytest.mark.parametrize("literal", ["68.00", "68.0", "68", "6.8E1", '"68"', '"68.0"', '"68.00"'])
def test_the_payments_amount_as_a_number_or_a_string_pays(literal):
    payment = _pending_payment()
    body = _body(payment, amount="__AMOUNT__").replace(b'"__AMOUNT__"', literal.encode())
    response = _post(body)
    assert (response.status_code, response.json()) == (200, {"outcome": "paid"})
    assert _state(payment) == ("paid", "succeeded", 1, 1, 1)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"id": "e" * 101}, "invalid_event_id"),
        ({"id": ""}, "invalid_event_id"),
        ({"id": 12345}, "invalid_event_id"),
        ({"id": None}, "invalid_event_id"),
        ({"id": "evt\nline"}, "invalid_event_id"),
        ({"id": "evt\x00nul"}, "malformed_callback"),  # PostgreSQL stores no NUL, in a column or in jsonb
        ({"type": "payment." + "s" * 33}, "invalid_event_kind"),
        ({"type": ["payment.succeeded"]}, "invalid_event_kind"),
        ({"payment": "p" * 65}, "invalid_payment_reference"),
        ({"payment": 7}, "invalid_payment_reference"),
        ({"note": "a\x00b"}, "malformed_callback"),
    ],
)
def test_ids_kinds_and_references_are_bounded_by_their_columns(changes, code):
    payment = _pending_payment()
    response = _post(_body(payment, **changes))
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert _state(payment) == PENDING


def test_an_event_id_of_exactly_100_characters_is_accepted():
    payment = _pending_payment()
    assert _post(_body(payment, id="e" * 100)).json() == {"outcome": "paid"}
    assert GatewayEvent.objects.get().event_id == "e" * 100


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000])
def test_a_signed_body_that_is_not_an_event_answers_400(body):
    payment = _pending_payment()
    response = _post(body)
    assert (response.status_code, response.json()["code"]) == (400, "malformed_callback")
    assert _state(payment) == PENDING


def test_the_stored_payload_keeps_a_numeric_amount_exactly():
    payment = _pending_payment()
    body = _body(payment, amount="__AMOUNT__").replace(b'"__AMOUNT__"', b"68.00")
    assert _post(body).json() == {"outcome": "paid"}
    assert GatewayEvent.objects.get().payload["amount"] == "68.00"


# --- The demo -------------------------------------------------------------------------------------


@override_settings(**PRODUCTION)
def test_with_the_sandbox_off_the_demo_skips_its_orders_which_it_would_pay_through_the_sandbox():
    for email in ADDRESSES:
        UserFactory(email=email)
    out = io.StringIO()
    assert seed_orders(out) == 0
    assert out.getvalue() == "seed_demo: orders: skipped, the sandbox gateway is off (SANDBOX_GATEWAY_ENABLED)"
    assert (BuyerOrder.objects.count(), Payment.objects.count()) == (0, 0)
