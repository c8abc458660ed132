"""Input that used to answer 500: non-numeric ids, deeply nested JSON, NUL bytes in paths,
paths under /api/ that match no route. Each is a 4xx with the API's JSON error shape (or the
HTML error page outside /api/)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from merchants.choices import MerchantStatus
from tests.factories import PASSWORD, UserFactory
from tests.merchants.factories import merchant_in_state

pytestmark = pytest.mark.django_db

API = "/api/v1"

# Every id-carrying route of the API, with a method it answers.
ID_ROUTES = [
    ("get", "/merchants/applications/{}/"),
    ("post", "/merchants/applications/{}/submit/"),
    ("post", "/merchants/applications/{}/approve/"),
    ("post", "/merchants/applications/{}/reject/"),
    ("post", "/merchants/applications/{}/start-review/"),
    ("post", "/merchants/applications/{}/request-changes/"),
    ("post", "/merchants/applications/{}/documents/"),
    ("delete", "/merchants/applications/1/documents/{}/"),
    ("get", "/catalog/products/{}/"),
    ("get", "/catalog/merchant/products/{}/"),
    ("patch", "/catalog/merchant/products/{}/"),
    ("post", "/catalog/merchant/products/{}/skus/"),
    ("post", "/catalog/merchant/products/{}/submit/"),
    ("get", "/orders/after-sales/{}/"),
    ("post", "/orders/after-sales/{}/accept/"),
    ("post", "/orders/after-sales/{}/reject/"),
    ("post", "/orders/after-sales/{}/escalate/"),
    ("post", "/orders/after-sales/{}/return-received/"),
    ("post", "/orders/merchant-orders/{}/cancel/"),
    ("post", "/orders/merchant-orders/{}/confirm-receipt/"),
    ("post", "/orders/merchant-orders/{}/after-sales/"),
    ("post", "/orders/order-lines/{}/review/"),
    ("get", "/orders/merchant/orders/{}/"),
    ("post", "/orders/merchant/orders/{}/ship/"),
    ("get", "/settlements/runs/{}/"),
    ("get", "/settlements/statements/{}/"),
    ("post", "/settlements/statements/{}/approve/"),
    ("get", "/settlements/payout-batches/{}/"),
    ("delete", "/orders/cart/items/{}/"),
]


@pytest.fixture
def owner_client(api_client):
    owner = UserFactory(email="owner@example.com")
    merchant_in_state(MerchantStatus.LIVE, owner=owner)
    api_client.force_authenticate(owner)
    return api_client


@pytest.mark.parametrize(("method", "route"), ID_ROUTES)
@pytest.mark.parametrize("bad_id", ["abc", "1x", "%00", "-1"])
def test_a_non_numeric_id_is_a_json_not_found(owner_client, method, route, bad_id):
    response = getattr(owner_client, method)(API + route.format(bad_id), {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found.", "extra": {}}


@pytest.mark.parametrize("bad_number", ["B1%00", "a.b", "%E6%95%B0"])
def test_an_order_number_with_foreign_characters_is_a_json_not_found(owner_client, bad_number):
    response = owner_client.get(f"{API}/orders/orders/{bad_number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_schema_types_every_id_path_parameter_as_an_integer(api_client):
    schema = api_client.get(f"{API}/schema/", {"format": "json"}).json()
    types = {
        (path, parameter["name"]): parameter["schema"]["type"]
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    assert types
    not_integers = {key: kind for key, kind in types.items() if kind != "integer"}
    # The buyer's order number and a shop's slug are the only path values that are not ids.
    assert not_integers == {
        ("/api/v1/merchants/shops/{slug}/", "slug"): "string",
        ("/api/v1/orders/orders/{number}/", "number"): "string",
        ("/api/v1/orders/orders/{number}/pay/", "number"): "string",
    }


# --- Deeply nested JSON ------------------------------------------------------------------------


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "url",
    [
        "/auth/token/",
        "/orders/cart/items/",
        "/orders/checkout/",
        "/catalog/merchant/products/",
        "/merchants/applications/",
    ],
)
def test_deeply_nested_json_is_a_parse_error(owner_client, url):
    response = owner_client.post(
        API + url, DEEP, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", HTTP_IDEMPOTENCY_KEY="k" * 20
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "message": "JSON parse error - nested deeper than 32 levels.",
        "extra": {},
    }


def test_deeply_nested_json_is_refused_on_the_anonymous_token_endpoint(api_client):
    response = api_client.post(f"{API}/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_nesting_under_the_recursion_limit_but_over_the_cap_is_refused(api_client):
    body = '{"email": ' + "[" * 40 + "]" * 40 + ', "password": "x"}'
    response = api_client.post(f"{API}/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_ordinary_nesting_still_parses(api_client):
    UserFactory(email="a@example.com")
    response = api_client.post(f"{API}/auth/token/", {"email": "a@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200


# --- Paths under /api/ that match no route ------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v1/", "/api/v1/nothing-here/", "/api/v2/orders/", "/api/v1/orders/after-sales/"]
)
def test_an_api_path_that_matches_no_route_is_a_json_not_found(api_client, path):
    response = api_client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found.", "extra": {}}


def test_a_page_that_does_not_exist_is_still_the_html_page():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"We could not find that page" in response.content


def test_an_error_outside_a_drf_view_under_api_is_json(rf):
    from marketplace import views

    def code(response):
        assert response["Content-Type"] == "application/json"
        return response.status_code, json.loads(response.content)["code"]

    assert code(views.server_error(rf.get("/api/v1/orders/"))) == (500, "server_error")
    assert code(views.bad_request(rf.get("/api/v1/x/"), None)) == (400, "bad_request")
    assert code(views.permission_denied(rf.get("/api/v1/x/"), None)) == (403, "permission_denied")
    assert code(views.csrf_failure(rf.post("/api/v1/x/"))) == (403, "csrf_failed")
    assert views.server_error(rf.get("/cart/"))["Content-Type"].startswith("text/html")


# --- NUL bytes in page paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/c/%00/",
        "/c/a%00b/",
        "/orders/%00/",
        "/orders/B1/shops/%00/cancel/",
        "/pay/%00/",
        "/pay/sandbox/%00/",
        "/checkout/placing/%00/",
        "/portal/invitations/%00/",
    ],
)
def test_a_nul_byte_in_a_page_path_is_the_not_found_page(path):
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(UserFactory())
    response = web.get(path)
    assert response.status_code == 404
    assert b"We could not find that page" in response.content


def test_a_signed_gateway_callback_nested_too_deep_is_a_malformed_body():
    from orders.gateways.base import MalformedCallback
    from orders.gateways.sandbox import HEADER, SandboxGateway, sign

    body = DEEP.encode()
    with pytest.raises(MalformedCallback, match="malformed_callback: the body is not JSON"):
        SandboxGateway().parse_callback(headers={HEADER: sign(body)}, raw_body=body)


def test_a_method_an_api_route_does_not_take_is_json(api_client):
    response = api_client.put(f"{API}/auth/token/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "message": 'Method "PUT" not allowed.', "extra": {}}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/orders/buyerorder/?status=%00",
        "/admin/orders/buyerorder/?number=a%00b",
        "/admin/merchants/merchant/?status=%00",
        "/admin/django_celery_beat/intervalschedule/?period=%00",  # a third-party admin too
        "/admin/orders/buyerorder/?q=%00",
        "/admin/orders/buyerorder/?%00=1",
    ],
)
def test_a_nul_character_in_an_admin_query_string_is_a_bad_request(url):
    # The admin reads unknown parameters as field lookups: PostgreSQL refused the NUL (500).
    web = Client()
    web.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert web.get(url).status_code == 400
    assert web.get(url.split("?")[0]).status_code == 200
