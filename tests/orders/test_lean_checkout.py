"""Add-to-cart and checkout with an API token through the lean handler (marketplace/lean.py,
orders/api/lean_urls.py): which requests it takes, the same answers (status, body, headers) and
the same database outcome as the API's DRF views for success and every refusal, what it hands
to DRF, the throttle counted once, and its query counts."""

from __future__ import annotations

import json
import threading
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from psycopg import errors as pg_errors
from rest_framework.authtoken.models import Token

from catalog import services as catalog_services
from catalog.models import Stock
from marketplace import lean
from marketplace.throttling import SignedInRateThrottle
from orders.api import lean as lean_views
from orders.api import lean_urls
from orders.models import BuyerOrder, CartItem, CheckoutAttempt, OrderLine
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.lean_support import COMPARED, api, same, wsgi
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db

CART = "/api/v1/orders/cart/items/"
CHECKOUT = "/api/v1/orders/checkout/"


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.fixture(autouse=True)
def _no_throttle_history():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def handed():
    """Counts the requests the lean views hand to the API view (the rest they answer)."""
    with mock.patch.object(lean_views, "_api_view", wraps=lean_views._api_view) as spy:
        yield spy


def environ(path, body=None, *, token=None, key=None, content_type="application/json", method="POST", **headers):
    headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    if not isinstance(body, (bytes, str)):
        body = b"" if body is None else json.dumps(body).encode()
    factory = RequestFactory()
    if method == "POST":
        return factory.post(path, body, content_type=content_type, **headers).environ
    return factory.generic(method, path, **headers).environ


def outcome() -> dict:
    """What a request may change: carts, orders, attempts, stock."""
    return {
        "cart": sorted(CartItem.objects.values_list("cart__buyer_id", "sku_id", "quantity")),
        "orders": BuyerOrder.objects.count(),
        "lines": OrderLine.objects.count(),
        "attempts": CheckoutAttempt.objects.count(),
        "stock": sorted(Stock.objects.values_list("sku_id", "on_hand", "reserved")),
    }


def stocked_sku(*, price="20.00", quantity=50):
    merchant, (category,) = live_merchant()
    item = product(merchant, category, skus=[{"code": f"L-{time.monotonic_ns()}", "price": price}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        merchant=merchant, sku=sku, warehouse=warehouse(), quantity=quantity, actor=merchant.owner
    )
    return sku


@pytest.fixture
def world():
    """A buyer with a token and an address, and a SKU of each of two shops."""
    buyer = UserFactory()
    return {
        "buyer": buyer,
        "token": Token.objects.create(user=buyer).key,
        "address": address_for(buyer),
        "skus": [stocked_sku(), stocked_sku(price="35.50", quantity=3)],
    }


def order_body(world, quantities=(1, 1)) -> dict:
    items = [{"sku": sku.pk, "quantity": q} for sku, q in zip(world["skus"], quantities, strict=True)]
    return {"address": world["address"].pk, "items": items}


# --- Which requests the lean handler takes ------------------------------------------------------


def test_the_lean_routes_are_the_apis_routes():
    assert reverse("api-orders-cart-items") == CART
    assert reverse("api-orders-checkout") == CHECKOUT
    assert reverse("api-orders-cart-items-lean", urlconf=lean_urls.__name__) == CART
    assert reverse("api-orders-checkout-lean", urlconf=lean_urls.__name__) == CHECKOUT
    assert "orders.api.lean_urls" in lean.LEAN_URLCONFS


def test_it_takes_only_token_authenticated_posts_to_the_two_routes():
    assert lean_urls.takes(environ(CART, {}, token="abc"))
    assert lean_urls.takes(environ(CHECKOUT, {}, HTTP_AUTHORIZATION="token abc"))  # any case, as DRF
    assert not lean_urls.takes(environ(CART, {}))  # anonymous or a session: the full stack
    assert not lean_urls.takes(environ(CHECKOUT, {}, HTTP_AUTHORIZATION="Bearer abc"))
    assert not lean_urls.takes(environ(CART, token="abc", method="GET"))
    assert not lean_urls.takes(environ(CHECKOUT, token="abc", method="OPTIONS"))
    assert not lean_urls.takes(environ(CART + "7/", {}, token="abc"))
    assert not lean_urls.takes(environ("/api/v1/orders/cart/", {}, token="abc"))
    assert not lean_urls.takes(environ(CHECKOUT + "x", {}, token="abc"))


# --- Add to cart --------------------------------------------------------------------------------


def test_an_add_to_cart_answers_as_the_api_with_the_same_cart(world, handed):
    first, second = world["skus"]
    twin = UserFactory()
    twin_token = Token.objects.create(user=twin).key
    lean_answer = wsgi(environ(CART, {"sku": first.pk, "quantity": 2}, token=world["token"]))
    assert handed.call_count == 0  # answered by the lean view itself
    api_answer = api(environ(CART, {"sku": first.pk, "quantity": 2}, token=twin_token))
    assert lean_answer.status_code == 201
    # Two buyers' carts, each with its own ids: the same body but for the cart's own id.
    lean_body, api_body = lean_answer.json(), api_answer.json()
    assert lean_body["count"] == api_body["count"] == 2
    assert lean_body == api_body
    same(lean_answer, api_answer)
    # Merged with the line; the second shop's SKU added, on either path.
    assert wsgi(environ(CART, {"sku": first.pk}, token=world["token"])).json()["count"] == 3
    assert wsgi(environ(CART, {"sku": second.pk}, token=world["token"])).json()["count"] == 4
    assert sorted(CartItem.objects.filter(cart__buyer=world["buyer"]).values_list("sku_id", "quantity")) == sorted(
        [(first.pk, 3), (second.pk, 1)]
    )


REFUSED_ADDS = {
    "unknown_sku": ({"sku": 999999}, 400, "sku_unavailable"),
    "zero_units": ({"sku": "FIRST", "quantity": 0}, 400, "invalid_quantity"),
    "too_many_units": ({"sku": "FIRST", "quantity": 1000}, 400, "invalid_quantity"),
    "not_a_number": ({"sku": "FIRST", "quantity": "x"}, 400, "validation_error"),
    "no_sku": ({"quantity": 1}, 400, "validation_error"),
    "null_sku": ({"sku": None}, 400, "validation_error"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_ADDS))
def test_a_refused_add_to_cart_answers_as_the_api_and_changes_nothing(world, case, handed):
    body, status, code = REFUSED_ADDS[case]
    body = {k: (world["skus"][0].pk if v == "FIRST" else v) for k, v in body.items()}
    before = outcome()
    lean_answer = wsgi(environ(CART, body, token=world["token"]))
    assert handed.call_count == 0
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (status, code)
    assert outcome() == before
    same(lean_answer, api(environ(CART, body, token=world["token"])))
    assert outcome() == before


# --- Requests handed to DRF ---------------------------------------------------------------------

HANDED = {
    "bad_token": {"token": "nope"},
    "malformed_json": {"body": b'{"sku": '},
    "a_list": {"body": b"[1]"},
    "no_body": {"body": b""},
    "form_body": {"body": b"sku=1", "content_type": "application/x-www-form-urlencoded"},
    "browsable_api": {"HTTP_ACCEPT": "text/html"},
    "chinese": {"HTTP_ACCEPT_LANGUAGE": "zh-hans"},
}


@pytest.mark.parametrize("path", [CART, CHECKOUT])
@pytest.mark.parametrize("case", sorted(HANDED))
def test_uncommon_requests_answer_as_the_api(world, path, case, handed):
    request = {"token": world["token"], "body": {"sku": 999999, "address": 0, "items": []}, "key": "k" * 12}
    request.update(HANDED[case])
    before = outcome()
    make = lambda: environ(path, request["body"], **{k: v for k, v in request.items() if k != "body"})  # noqa: E731
    lean_answer = wsgi(make())
    assert lean_answer.status_code in (400, 401)
    # Handed to the API view, but a reply in Chinese, which the lean view answers itself.
    assert handed.call_count == (0 if case == "chinese" else 1)
    if case == "browsable_api":  # the HTML page carries a CSRF token of its own each time
        api_answer = api(make())
        assert (lean_answer.status_code, lean_answer.headers["Content-Type"]) == (
            api_answer.status_code,
            api_answer.headers["Content-Type"],
        )
        assert lean_answer.headers["Content-Type"].startswith("text/html")
    else:
        same(lean_answer, api(make()))
    assert outcome() == before


def test_a_body_over_djangos_limit_answers_as_the_api(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64
    body = {"sku": world["skus"][0].pk, "quantity": 1, "padding": "x" * 100}
    before = outcome()
    lean_answer = wsgi(environ(CART, body, token=world["token"]))
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (400, "parse_error")
    same(lean_answer, api(environ(CART, body, token=world["token"])))
    assert outcome() == before


def test_a_database_wait_bound_answers_503_as_the_api(world, handed):
    """A lock not granted in time (DB_LOCK_TIMEOUT_MS): 503 `server_busy` with Retry-After."""
    busy = OperationalError("lock timeout")
    busy.__cause__ = pg_errors.LockNotAvailable()
    body = {"sku": world["skus"][0].pk}
    with mock.patch("orders.services.cart_add", side_effect=busy):
        lean_answer = wsgi(environ(CART, body, token=world["token"]))
        api_answer = api(environ(CART, body, token=world["token"]))
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (503, "server_busy")
    assert handed.call_count == 0
    same(lean_answer, api_answer)
    assert lean_answer.headers["Retry-After"] == str(lean_answer.json()["extra"]["retry_after_seconds"])
    assert not CartItem.objects.exists()


def test_staff_get_404_as_from_the_api(world):
    staff = UserFactory(is_staff=True)
    token = Token.objects.create(user=staff).key
    for path, body in ((CART, {"sku": world["skus"][0].pk}), (CHECKOUT, order_body(world))):
        before = outcome()
        lean_answer = wsgi(environ(path, body, token=token, key="staff-key-0001"))
        assert (lean_answer.status_code, lean_answer.json()["code"]) == (404, "not_found")
        same(lean_answer, api(environ(path, body, token=token, key="staff-key-0001")))
        assert outcome() == before


def test_a_throttled_caller_gets_the_apis_429_counted_once(world):
    sku = world["skus"][0]
    with mock.patch.object(SignedInRateThrottle, "THROTTLE_RATES", {"user": "2/min"}):
        answers = [wsgi(environ(CART, {"sku": sku.pk}, token=world["token"])) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        refused = answers[2]
        assert refused.json()["code"] == "throttled"
        assert refused.headers["Retry-After"] == str(refused.json()["extra"]["retry_after_seconds"])
        # Two requests let through, each recorded once; the refused one not at all.
        key = cache.make_and_validate_key(f"throttle_window_user_{world['buyer'].pk}")
        assert cache._cache.get_client(key).zcard(key) == 2
        api_refused = api(environ(CART, {"sku": sku.pk}, token=world["token"]))
        assert api_refused.status_code == 429
        assert cache._cache.get_client(key).zcard(key) == 2
    assert CartItem.objects.get(cart__buyer=world["buyer"]).quantity == 2


# --- Checkout -----------------------------------------------------------------------------------


def test_a_checkout_through_the_lean_path_is_the_apis_order(world, handed):
    first, second = world["skus"]
    for sku in (first, second):
        assert wsgi(environ(CART, {"sku": sku.pk}, token=world["token"])).status_code == 201
    placed = wsgi(environ(CHECKOUT, order_body(world), token=world["token"], key="lean-key-0001"))
    assert placed.status_code == 201
    assert handed.call_count == 0
    order = BuyerOrder.objects.get(buyer=world["buyer"])
    assert placed.json()["number"] == order.number
    assert OrderLine.objects.filter(merchant_order__buyer_order=order).count() == 2
    assert not CartItem.objects.filter(cart__buyer=world["buyer"]).exists()  # ordered SKUs leave the cart
    assert sorted(Stock.objects.values_list("sku_id", "reserved")) == sorted([(first.pk, 1), (second.pk, 1)])
    # The API's replay (same key and body) reads the stored order: the same body as the 201.
    replay = api(environ(CHECKOUT, order_body(world), token=world["token"], key="lean-key-0001"))
    assert replay.status_code == 200
    assert json.loads(replay.content) == placed.json()
    assert replay.content == placed.content
    lean_replay = wsgi(environ(CHECKOUT, order_body(world), token=world["token"], key="lean-key-0001"))
    same(lean_replay, replay)
    assert BuyerOrder.objects.count() == 1


def test_a_checkout_through_the_api_replays_the_same_through_the_lean_path(world):
    placed = api(environ(CHECKOUT, order_body(world), token=world["token"], key="api-key-0001"))
    assert placed.status_code == 201
    replay = wsgi(environ(CHECKOUT, order_body(world), token=world["token"], key="api-key-0001"))
    assert replay.status_code == 200
    assert replay.content == placed.content
    assert {n: replay.headers.get(n) for n in COMPARED if n != "Content-Language"} == {
        n: placed.headers.get(n) for n in COMPARED if n != "Content-Language"
    }
    assert BuyerOrder.objects.count() == 1


REFUSED_CHECKOUTS = {
    "no_key": ({}, None, 400, "idempotency_key_required"),
    "short_key": ({}, "short", 400, "invalid_idempotency_key"),
    "not_my_address": ({"address": 999999}, "key-0001-abcd", 400, "invalid_address"),
    "no_items": ({"items": []}, "key-0001-abcd", 400, "validation_error"),
    "no_address": ({"address": None}, "key-0001-abcd", 400, "validation_error"),
    "zero_units": ({"quantities": (0, 1)}, "key-0001-abcd", 400, "invalid_quantity"),
    "unknown_sku": ({"items": [{"sku": 999999, "quantity": 1}]}, "key-0001-abcd", 400, "sku_unavailable"),
    "short_stock": ({"quantities": (1, 4)}, "key-0001-abcd", 409, "insufficient_stock"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_CHECKOUTS))
def test_a_refused_checkout_answers_as_the_api_and_changes_nothing(world, case, handed):
    change, key, status, code = REFUSED_CHECKOUTS[case]
    change = dict(change)
    body = order_body(world, change.pop("quantities", (1, 1)))
    body.update(change)
    before = outcome()
    lean_answer = wsgi(environ(CHECKOUT, body, token=world["token"], key=key))
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (status, code)
    assert handed.call_count == 0
    assert outcome() == before
    same(lean_answer, api(environ(CHECKOUT, body, token=world["token"], key=key)))
    assert outcome() == before


def test_another_body_with_a_used_key_is_refused_as_by_the_api(world):
    assert wsgi(environ(CHECKOUT, order_body(world), token=world["token"], key="used-key-0001")).status_code == 201
    before = outcome()
    other = order_body(world, (2, 1))
    lean_answer = wsgi(environ(CHECKOUT, other, token=world["token"], key="used-key-0001"))
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (422, "idempotency_key_reused")
    same(lean_answer, api(environ(CHECKOUT, other, token=world["token"], key="used-key-0001")))
    assert outcome() == before


# --- Query counts -------------------------------------------------------------------------------


def _order_queries(world, send, token) -> list[int]:
    """Queries of the first add-to-cart (the cart created), the second, and the checkout."""
    counts = []
    for sku in world["skus"]:
        with CaptureQueriesContext(connection) as queries:
            assert send(environ(CART, {"sku": sku.pk}, token=token)).status_code == 201
        counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        assert send(environ(CHECKOUT, order_body(world), token=token, key=f"count-key-{token[:8]}")).status_code == 201
    counts.append(len(queries))
    return counts


def test_the_lean_paths_query_counts_are_the_apis(world):
    # Enough stock that no order crosses a stock alert's threshold (an alert adds queries).
    world = {**world, "skus": [stocked_sku(), stocked_sku(price="35.50")]}

    def twin_order():
        twin = UserFactory()
        twin_world = {**world, "address": address_for(twin)}
        return _order_queries(twin_world, api, Token.objects.create(user=twin).key)

    # The first checkout of a process reads one row more than the next (what it caches then).
    assert twin_order() == [9, 2, 12]
    lean_counts = _order_queries(world, wsgi, world["token"])
    assert lean_counts == [9, 1, 11]
    # The middleware and DRF cost time, not queries; the lean add-to-cart reads the token table
    # only at the token's first request (then the token cache): one query fewer from then on.
    first_add, second_add, checkout = lean_counts
    assert twin_order() == [first_add, second_add + 1, checkout]


# --- Concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_buyers_racing_for_the_last_units_through_the_lean_path_get_one_order_each_unit():
    """Real threads and connections, each buyer's checkout through the lean handler: the stock's
    guarantee (never oversold, the rest refused 409 having written nothing) holds there too."""
    sku = stocked_sku(quantity=2)
    buyers = []
    for _ in range(6):
        buyer = UserFactory()
        buyers.append((Token.objects.create(user=buyer).key, address_for(buyer).pk))
    barrier = threading.Barrier(len(buyers))
    answers = []

    def order(token, address):
        try:
            body = {"address": address, "items": [{"sku": sku.pk, "quantity": 1}]}
            request = environ(CHECKOUT, body, token=token, key=f"race-{token[:12]}")
            barrier.wait()
            answer = wsgi(request)
            answers.append((answer.status_code, answer.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=lambda a: a[0]) == [(201, None)] * 2 + [(409, "insufficient_stock")] * 4
    assert BuyerOrder.objects.count() == 2
    assert Stock.objects.get(sku=sku).reserved == 2


def test_the_plain_request_hands_on_what_drfs_request_would():
    request = RequestFactory().post("/api/v1/orders/checkout/?x=1", HTTP_IDEMPOTENCY_KEY="k" * 10)
    plain = lean_views._PlainRequest(request, {"a": 1}, "user")
    assert (plain.data, plain.user, plain.method, plain.path) == ({"a": 1}, "user", "POST", "/api/v1/orders/checkout/")
    assert plain.headers["Idempotency-Key"] == "k" * 10
    assert plain.query_params["x"] == "1"
    assert plain.META["HTTP_IDEMPOTENCY_KEY"] == "k" * 10
