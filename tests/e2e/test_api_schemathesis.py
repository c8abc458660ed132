"""Guard rail: Schemathesis fuzzes every operation of the published OpenAPI schema against the
live test server, as a merchant owner, a buyer and a staff superuser, with all its checks.

Any server error fails, and so does any answer (errors included) the schema does not describe:
status code, content type, body and headers. Generated requests are mostly wrong on purpose
(negative data), so they must be refused with a documented 4xx.

The world holds real rows (a live shop with stock, the buyer's orders in several states, an
open after-sales request) and path ids are drawn from them as well as at random, so requests
get past the 404 into the code behind. Mutating operations may change the world between
examples: that is fine, every answer must still conform.

The run is deterministic (fixed seed) and bounded (a few examples per operation, examples and
fuzzing phases), so it stays a test of the suite (about two minutes) rather than a soak test.
Schemathesis's coverage phase (boundary values, every type mutation, undeclared methods) sends
thousands of requests per caller and takes several minutes each; run it before a release with
`SCHEMATHESIS_COVERAGE=merchant,buyer,staff pytest tests/e2e/test_api_schemathesis.py`.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.pytest.lazy import get_all_tests

from catalog import services as catalog_services
from orders.gateways import sandbox
from orders.models import ShippingRate
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import PASSWORD, UserFactory
from tests.merchants.factories import merchant_in_state
from tests.orders.factories import address_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
API = "/api/v1"
SEED = 20261207
MAX_EXAMPLES = 6


def _authorization(user) -> str:
    answer = APIClient().post(f"{API}/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
    return f"Token {_ok(answer)['token']}"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_authorization(user))
    return client


def _ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def _paid_order(shopper, *, address, sku, key: str) -> dict:
    body = {"address": address.pk, "items": [{"sku": sku.pk, "quantity": 1}]}
    order = _ok(shopper.post(f"{API}/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key), 201)
    payment = _ok(shopper.post(f"{API}/orders/orders/{order['number']}/pay/"))
    callback = sandbox.callback_body(payment_reference=payment["reference"], amount=Decimal(payment["amount"]))
    _ok(
        APIClient().post(
            f"{API}/orders/payments/sandbox/callback/",
            data=callback,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(callback),
        )
    )
    return _ok(shopper.get(f"{API}/orders/orders/{order['number']}/"))


@pytest.fixture
def world():
    """A small marketplace, built through the API where a user would act."""
    merchant, (category,) = live_merchant()
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("8.00"), free_over=None)
    item = product(merchant, category, title="LED 护眼台灯", skus=[{"code": "LAMP", "price": "35.50"}])
    sku = item.skus.get()
    depot = warehouse()
    catalog_services.stock_receive(sku=sku, warehouse=depot, quantity=50, actor=merchant.owner, merchant=merchant)
    product(merchant, category, title="Draft kettle", publish=False)
    buyer = UserFactory(email="fuzz.buyer@example.com")
    address = address_for(buyer)
    staff = UserFactory(email="fuzz.staff@example.com", is_staff=True, is_superuser=True)
    submitted = merchant_in_state("submitted")

    shopper, shop = _client(buyer), _client(merchant.owner)
    # Shipped, with an open refund request the merchant can answer.
    disputed = _paid_order(shopper, address=address, sku=sku, key="fuzz-order-0001")["merchant_orders"][0]
    ship = {"carrier": "SF", "tracking_number": "SF0001"}
    _ok(shop.post(f"{API}/orders/merchant/orders/{disputed['id']}/ship/", ship, format="json"))
    refund = {
        "kind": "refund",
        "reason": "Arrived broken",
        "items": [{"order_line": disputed["lines"][0]["id"], "quantity": 1, "amount": "35.50"}],
        "shipping_amount": "0.00",
    }
    after_sales = _ok(
        shopper.post(f"{API}/orders/merchant-orders/{disputed['id']}/after-sales/", refund, format="json"), 201
    )
    # Completed, with a line to review.
    done = _paid_order(shopper, address=address, sku=sku, key="fuzz-order-0002")["merchant_orders"][0]
    _ok(shop.post(f"{API}/orders/merchant/orders/{done['id']}/ship/", ship, format="json"))
    _ok(shopper.post(f"{API}/orders/merchant-orders/{done['id']}/confirm-receipt/"))
    # Paid, to ship or cancel; and one waiting for payment.
    paid = _paid_order(shopper, address=address, sku=sku, key="fuzz-order-0003")
    unpaid = _ok(
        shopper.post(
            f"{API}/orders/checkout/",
            {"address": address.pk, "items": [{"sku": sku.pk, "quantity": 2}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="fuzz-order-0004",
        ),
        201,
    )
    _ok(shopper.post(f"{API}/orders/cart/items/", {"sku": sku.pk, "quantity": 1}, format="json"), 201)

    merchant_orders = [disputed["id"], done["id"], *(m["id"] for m in paid["merchant_orders"])]
    merchant_orders += [m["id"] for m in unpaid["merchant_orders"]]
    return {
        "users": {"merchant": merchant.owner, "buyer": buyer, "staff": staff},
        # Real values for path parameters, drawn alongside random ones.
        "path": {
            "id": [
                *merchant_orders,
                after_sales["id"],
                done["lines"][0]["id"],
                item.pk,
                merchant.pk,
                submitted.pk,
                depot.pk,
            ],
            "sku_id": [sku.pk],
            "number": [disputed["number"], paid["number"], unpaid["number"]],
            "slug": [merchant.slug],
        },
    }


def _config(*, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True},
            "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
            "checks": {
                # A well-formed request that breaks a business rule (an unknown SKU, a state that does not
                # allow the action) is refused with 400 and a stable code: that is our API's contract
                # (DomainError), not a rejection of valid data.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
                },
                # Buyer-only operations answer 404 to everyone else (staff included) before they read
                # any header: they do not exist for them. A throttled caller hears 429 before anything.
                "missing_required_header": {
                    "expected-statuses": ["400", "401", "403", "404", "406", "415", "422", "429"]
                },
            },
        }
    )


def _schema(base_url: str, token: str, known: dict, *, coverage: bool) -> schemathesis.BaseSchema:
    config = _config(coverage=coverage)
    schema = schemathesis.openapi.from_url(f"{base_url}{API}/schema/?format=json", config=config)
    schema.config.update(base_url=base_url, headers={"Authorization": token})

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Half the time, a real id of the world: random ones almost all answer 404.
        choices = {
            name: st.one_of(st.just(value), st.sampled_from(known[name]))
            for name, value in (path_parameters or {}).items()
            if name in known and isinstance(value, type(known[name][0]))
        }
        return st.fixed_dictionaries(choices).map(lambda drawn: {**(path_parameters or {}), **drawn})

    return schema


def _call_and_validate(case):
    case.call_and_validate()


IDENTITIES = ("merchant", "buyer", "staff")


def test_every_operation_answers_as_documented(live_server, world, subtests):
    # One world for the three callers: building it costs more than fuzzing one caller.
    coverage = os.environ.get("SCHEMATHESIS_COVERAGE", "")
    for identity in IDENTITIES:
        schema = _schema(
            live_server.url,
            _authorization(world["users"][identity]),
            world["path"],
            coverage=identity in coverage.split(","),
        )
        # `schemathesis.pytest.from_fixture` would run this loop, but 4.32 writes `Node._nodeid`,
        # which pytest 9 no longer has; `get_all_tests` is what it runs: one Hypothesis test per
        # operation with the configured phases and a seed derived per operation.
        tests = list(get_all_tests(schema=schema, test_func=_call_and_validate, settings=None, given_kwargs=None))
        assert len(tests) >= 50, "the schema lists every operation"
        for result in tests:
            operation, run = result.ok()  # an invalid operation definition raises here
            with subtests.test(msg=f"{identity}: {operation.label}"):
                try:
                    run()
                except FailureGroup as exc:
                    raise as_reported_failure(exc) from None
