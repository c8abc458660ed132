"""The lean add-to-cart (`orders.api.lean.cart_items_with_token`): its plain-dict answer is
`CartSerializer`'s over carts of every shape, its plain reading of the body is the input
serializer's, the token's user comes from the token cache (1 statement per add, not the
token's) and a revoked token is refused at once, as on the API's path."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer

from catalog import services as catalog_services
from merchants.models import Merchant
from orders import selectors, services
from orders.api import lean as lean_views
from orders.api.serializers import CartSerializer
from orders.models import Cart, CartItem, ShippingRate
from orders.selectors import buyer as buyer_selectors
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders import test_lean_checkout as lean_checkout
from tests.orders.test_lean_checkout import CART, api, environ, outcome, same, wsgi

# The lean paths' fixtures: production settings, no throttle history, a buyer with a token
# and two SKUs, and the spy on what is handed to the API view.
_production = lean_checkout._production
_no_throttle_history = lean_checkout._no_throttle_history
world = lean_checkout.world
handed = lean_checkout.handed

pytestmark = pytest.mark.django_db
_n = itertools.count(1)


def _rendered(body) -> bytes:
    return JSONRenderer().render(body)


def _serialized(view) -> bytes:
    return _rendered(CartSerializer(view).data)


def test_the_plain_cart_body_is_the_serializers_over_carts_of_every_shape():
    # Two shops: one named only by its company, without an address, with a flat rate; the
    # other with the default rate. Lines short, out of stock, off sale, with and without
    # attributes (the SKU's label), and a price with cents.
    shop_a, (cat_a,) = live_merchant()
    shop_b, (cat_b,) = live_merchant()
    Merchant.objects.filter(pk=shop_b.pk).update(shop_name="", slug=None)
    ShippingRate.objects.create(merchant=shop_b, flat_fee=Decimal("10.00"), free_over=Decimal("500.00"))
    plain = product(shop_a, cat_a, skus=[{"code": f"P{next(_n)}", "price": "30.05", "attributes": {}}]).skus.get()
    lamp = product(
        shop_a, cat_a, skus=[{"code": f"L{next(_n)}", "price": "99.99", "attributes": {"colour": "white", "size": "L"}}]
    ).skus.get()
    mug = product(shop_b, cat_b, skus=[{"code": f"M{next(_n)}", "price": "20.00"}]).skus.get()
    dead = product(shop_b, cat_b, skus=[{"code": f"D{next(_n)}", "price": "7.10"}]).skus.get()
    buyer = UserFactory()
    cart = services.cart_get_or_create(buyer=buyer)
    for sku, quantity in ((plain, 2), (lamp, 999), (mug, 3), (dead, 1)):
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=quantity)
    type(dead).objects.filter(pk=dead.pk).update(is_active=False)

    item = services.cart_add(buyer=buyer, sku_id=plain.pk, read_lines=True)
    assert item.cart_rows is not None  # read by the add's own statement
    body = lean_views.cart_body(selectors.cart_plain_after_add(item))

    expected = CartSerializer(selectors.cart_view(cart)).data
    assert body == expected
    assert _rendered(body) == _rendered(expected)  # the same keys in the same order
    assert _serialized(selectors.cart_view_after_add(item)) == _rendered(expected)  # the API view's answer
    assert [shop["shop"]["name"] for shop in body["shops"]] == [shop_a.shop_name, shop_b.company_name]
    assert body["shops"][1]["shop"]["slug"] is None
    assert [(line["sku_label"], line["problem"]) for line in body["shops"][0]["lines"]] == [
        (plain.code, "out_of_stock"),
        ("L / white", "out_of_stock"),  # jsonb orders the keys
    ]
    assert (body["count"], body["goods_total"], body["shipping_total"], body["has_problems"]) == (
        1006,
        "100040.16",  # 3 × 30.05 + 999 × 99.99 + 3 × 20.00; the line off sale not counted
        "10.00",
        True,
    )
    # The cart read again (the add's rows stale) answers the same.
    item.cart_rows = None
    assert _rendered(lean_views.cart_body(selectors.cart_plain_after_add(item))) == _rendered(expected)
    # A shop with nothing left on sale charges no shipping; a line short of stock.
    type(mug).objects.filter(pk=mug.pk).update(is_active=False)
    catalog_services.stock_receive(merchant=shop_a, sku=plain, warehouse=warehouse(), quantity=2, actor=shop_a.owner)
    item = services.cart_add(buyer=buyer, sku_id=lamp.pk, read_lines=True)
    body = lean_views.cart_body(selectors.cart_plain_after_add(item))
    assert _rendered(body) == _serialized(selectors.cart_view(cart)) == _serialized(selectors.cart_view_after_add(item))
    assert [shop["shipping"] for shop in body["shops"]] == ["0.00", "0.00"]  # free over 99.00; nothing on sale
    assert body["shops"][0]["lines"][0]["problem"] == "short"
    # An empty cart.
    assert _rendered(lean_views.cart_body(buyer_selectors.cart_plain_of_rows([]))) == _serialized(selectors.CartView())


@pytest.mark.parametrize(
    "value",
    ["0.00", "-0.00", "0.05", "30.05", "-5.10", "999999999999.99", "1.5", "1.555", "1E+2", "0E-2", "12345678901234.5"],
)
def test_the_money_of_the_plain_body_is_the_serializer_fields(value):
    field = CartSerializer().fields["total"]
    try:
        expected = field.to_representation(Decimal(value))
    except ArithmeticError as error:  # over the field's digits: the field's own error
        with pytest.raises(type(error)):
            lean_views._money(Decimal(value))
    else:
        assert lean_views._money(Decimal(value)) == expected


ODD_BODIES = {
    "sku_as_a_string": ({"sku": "FIRST", "quantity": 2}, 201, None),
    "quantity_as_a_string": ({"sku": "FIRST", "quantity": "3"}, 201, None),
    "quantity_as_a_whole_float": ({"sku": "FIRST", "quantity": 2.0}, 201, None),
    "other_keys_ignored": ({"sku": "FIRST", "colour": "red"}, 201, None),
    "sku_true": ({"sku": True}, 400, "validation_error"),
    "sku_over_the_id_range": ({"sku": 2_147_483_648}, 400, "validation_error"),
    "sku_zero": ({"sku": 0}, 400, "validation_error"),
    "quantity_false": ({"sku": "FIRST", "quantity": False}, 400, "validation_error"),
    "quantity_null": ({"sku": "FIRST", "quantity": None}, 400, "validation_error"),
    "quantity_huge": ({"sku": "FIRST", "quantity": 10**30}, 400, "invalid_quantity"),
    "quantity_negative": ({"sku": "FIRST", "quantity": -1}, 400, "invalid_quantity"),
}


@pytest.mark.parametrize("case", sorted(ODD_BODIES))
def test_the_body_is_read_as_the_input_serializer_reads_it(world, case, handed):
    """Whatever the plain reading takes or leaves to the serializer: the API's answer and
    outcome, on two buyers' carts (first the lean path's, then the API's)."""
    body, status, code = ODD_BODIES[case]
    sku = world["skus"][0]
    body = {k: (str(sku.pk) if v == "FIRST" and k == "sku" else sku.pk if v == "FIRST" else v) for k, v in body.items()}
    twin_token = Token.objects.create(user=UserFactory()).key
    before = outcome()
    lean_answer = wsgi(environ(CART, body, token=world["token"]))
    assert handed.call_count == 0
    assert lean_answer.status_code == status
    assert lean_answer.json().get("code") == code
    api_answer = api(environ(CART, body, token=twin_token))
    same(lean_answer, api_answer)
    if status != 201:
        assert outcome() == before
    else:
        quantities = {buyer: q for buyer, _sku, q in outcome()["cart"]}
        assert quantities[world["buyer"].pk] == lean_answer.json()["count"] == api_answer.json()["count"]


def test_a_known_token_costs_no_statement_one_per_add(world):
    first, second = world["skus"]
    assert wsgi(environ(CART, {"sku": first.pk}, token=world["token"])).status_code == 201  # reads the token
    with CaptureQueriesContext(connection) as queries:
        answer = wsgi(environ(CART, {"sku": second.pk, "quantity": 2}, token=world["token"]))
    assert answer.status_code == 201
    assert answer.json()["count"] == 3
    statements = [query["sql"] for query in queries.captured_queries]
    # The add: finds and locks the cart, writes the line and reads the whole cart for the answer.
    assert len(statements) == 1
    assert statements[0].lstrip().startswith("WITH cart AS")
    assert not any("authtoken_token" in sql for sql in statements)
    # The API's path reads the token every time: one more.
    with CaptureQueriesContext(connection) as queries:
        api_answer = api(environ(CART, {"sku": second.pk}, token=world["token"]))
    assert api_answer.status_code == 201
    assert len(queries.captured_queries) == 2
    assert sorted(CartItem.objects.filter(cart__buyer=world["buyer"]).values_list("sku_id", "quantity")) == sorted(
        [(first.pk, 1), (second.pk, 3)]
    )
    # Both answer the cart as it is now read.
    cart = Cart.objects.get(buyer=world["buyer"])
    assert api_answer.content == _serialized(selectors.cart_view(cart))


def test_a_revoked_token_is_refused_by_the_lean_add_at_once(world, django_capture_on_commit_callbacks):
    sku = world["skus"][0]
    leaving, promoted = UserFactory(), UserFactory()
    tokens = {
        world["buyer"]: Token.objects.get(key=world["token"]),
        leaving: Token.objects.create(user=leaving),
        promoted: Token.objects.create(user=promoted),
    }
    for token in tokens.values():  # each now known to the token cache
        assert wsgi(environ(CART, {"sku": sku.pk}, token=token.key)).status_code == 201
    before = outcome()
    with django_capture_on_commit_callbacks(execute=True):
        tokens[world["buyer"]].delete()
        leaving.is_active = False
        leaving.save()
        promoted.is_staff = True
        promoted.save()
    answers = [wsgi(environ(CART, {"sku": sku.pk}, token=token.key)) for token in tokens.values()]
    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (401, "not_authenticated"),  # as the API answers a token that is not there
        (401, "authentication_failed"),
        (404, "not_found"),
    ]
    for token, answer in zip(tokens.values(), answers, strict=True):
        same(answer, api(environ(CART, {"sku": sku.pk}, token=token.key)))
    assert outcome() == before
    assert Cart.objects.filter(buyer__in=list(tokens)).count() == 3


# Bodies whose reading the lean add does itself (marketplace.parsers.JSONParser's rules, not
# the parser): what the API's parser refuses is handed to the API view; what it accepts is
# read alike.
PARSED_BODIES = {
    "nan": (b'{"sku": NaN}', 1, 400, "parse_error"),
    "infinity": (b'{"sku": 1, "quantity": -Infinity}', 1, 400, "parse_error"),
    "not_utf8": (b'{"sku": "\xff"}', 1, 400, "parse_error"),
    "utf8_bom": (b'\xef\xbb\xbf{"sku": 1}', 1, 400, "parse_error"),
    "nested_too_deep": (b'{"sku": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}", 1, 400, "parse_error"),
    # Past Python's recursion limit, within the lean add's body size (PLAIN_BODY_MAX).
    "nested_past_recursion": (b'{"x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", 1, 400, "parse_error"),
    "nul_in_sku": (b'{"sku": "1\\u0000"}', 0, 400, "validation_error"),
    "duplicate_key_last_wins": (b'{"sku": 0, "sku": FIRST}', 0, 201, None),
    "unicode_escape_sku": (b'{"sku": "\\u0031"}', 0, 400, "sku_unavailable"),
}


@pytest.mark.parametrize("case", sorted(PARSED_BODIES))
def test_bodies_the_apis_parser_refuses_are_handed_to_it_the_rest_read_alike(world, case, handed):
    body, handed_count, status, code = PARSED_BODIES[case]
    assert len(body) <= lean_views.PLAIN_BODY_MAX
    body = body.replace(b"FIRST", str(world["skus"][0].pk).encode())
    twin_token = Token.objects.create(user=UserFactory()).key
    before = outcome()
    lean_answer = wsgi(environ(CART, body, token=world["token"]))
    assert handed.call_count == handed_count
    assert (lean_answer.status_code, lean_answer.json().get("code")) == (status, code)
    same(lean_answer, api(environ(CART, body, token=twin_token)))
    if status != 201:
        assert outcome() == before
