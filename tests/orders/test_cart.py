"""Cart services and pages: add (merged, capped), update, remove, clear, merge at login,
SKUs no longer on sale refused, the grouped cart view with live availability and shipping."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from catalog import services as catalog_services
from merchants import services as merchant_services
from orders import selectors, services
from orders.api.serializers import CartSerializer
from orders.context_processors import cart_summary
from orders.errors import OrderError
from orders.models import Cart, CartItem, ShippingRate
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
_n = itertools.count(1)


def stocked_sku(*, price="30.00", stock=10, merchant=None, category=None):
    if merchant is None:
        merchant, (category,) = live_merchant()
    item = product(merchant, category, title=f"Item {price}", skus=[{"code": f"C{next(_n)}", "price": price}])
    sku = item.skus.get()
    if stock:
        catalog_services.stock_receive(
            merchant=sku.merchant, sku=sku, warehouse=warehouse(), quantity=stock, actor=merchant.owner
        )
    return sku


def lines(cart) -> list[tuple[int, int]]:
    return list(CartItem.objects.filter(cart=cart).order_by("sku_id").values_list("sku_id", "quantity"))


@pytest.fixture
def web():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


# --- Services ------------------------------------------------------------------------------


def test_add_merges_quantities_and_caps_at_999():
    sku = stocked_sku()
    buyer = UserFactory()
    cart = services.cart_get_or_create(buyer=buyer)
    services.cart_add(cart=cart, sku_id=sku.pk, quantity=2)
    item = services.cart_add(cart=cart, sku_id=sku.pk, quantity=3)
    assert item.quantity == 5
    assert services.cart_add(cart=cart, sku_id=sku.pk, quantity=998).quantity == 999
    assert lines(cart) == [(sku.pk, 999)]
    assert services.cart_get_or_create(buyer=buyer) == cart  # one cart per buyer


@pytest.mark.parametrize("quantity", [0, -1, 1000, True, "2", 2.0])
def test_add_refuses_bad_quantities_and_writes_nothing(quantity):
    sku = stocked_sku()
    buyer = UserFactory()
    with pytest.raises(OrderError) as info:
        services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=quantity)
    assert info.value.code == "invalid_quantity"
    assert (Cart.objects.count(), CartItem.objects.count()) == (0, 0)


def _make_inactive(sku):
    catalog_services.sku_update(sku=sku, actor=sku.merchant.owner, data={"is_active": False})


def _withdraw(sku):
    catalog_services.product_withdraw(product=sku.product, actor=sku.merchant.owner)


def _suspend(sku):
    merchant_services.merchant_suspend(merchant=sku.merchant, actor=UserFactory(is_staff=True), reason="audit")


@pytest.mark.parametrize(
    "make_unavailable", [_make_inactive, _withdraw, _suspend], ids=["inactive", "withdrawn", "suspended"]
)
def test_skus_not_on_sale_are_refused_and_nothing_is_written(make_unavailable):
    sku = stocked_sku()
    make_unavailable(sku)
    buyer = UserFactory()
    with pytest.raises(OrderError) as info:
        services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=1)
    assert (info.value.code, info.value.extra) == ("sku_unavailable", {"skus": [sku.pk]})
    # Refused before the cart is created: the visit leaves no row behind.
    assert (Cart.objects.count(), CartItem.objects.count()) == (0, 0)


def test_an_unknown_sku_is_refused():
    with pytest.raises(OrderError) as info:
        services.cart_add(buyer=UserFactory(), sku_id=987654, quantity=1)
    assert (info.value.code, info.value.extra) == ("sku_unavailable", {"skus": [987654]})
    assert Cart.objects.count() == 0


def test_update_sets_the_quantity_and_zero_removes_the_line():
    first, second = stocked_sku(), stocked_sku(price="12.00")
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=first.pk, quantity=2)
    services.cart_add(cart=cart, sku_id=second.pk, quantity=1)
    assert services.cart_update(cart=cart, sku_id=first.pk, quantity=7).quantity == 7
    assert services.cart_update(cart=cart, sku_id=second.pk, quantity=0) is None
    assert lines(cart) == [(first.pk, 7)]
    with pytest.raises(OrderError) as info:
        services.cart_update(cart=cart, sku_id=second.pk, quantity=1)
    assert info.value.code == "not_in_cart"
    with pytest.raises(OrderError) as info:
        services.cart_update(cart=cart, sku_id=first.pk, quantity=1000)
    assert info.value.code == "invalid_quantity"
    assert lines(cart) == [(first.pk, 7)]


def test_a_line_gone_off_sale_cannot_be_changed_but_can_be_removed():
    sku = stocked_sku()
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=sku.pk, quantity=2)
    _make_inactive(sku)
    with pytest.raises(OrderError) as info:
        services.cart_update(cart=cart, sku_id=sku.pk, quantity=3)
    assert info.value.code == "sku_unavailable"
    assert lines(cart) == [(sku.pk, 2)]
    assert services.cart_remove(cart=cart, sku_id=sku.pk) is True
    assert services.cart_remove(cart=cart, sku_id=sku.pk) is False
    assert lines(cart) == []


def test_clear_items_removes_only_the_given_skus():
    a, b, c = stocked_sku(), stocked_sku(price="1.00"), stocked_sku(price="2.00")
    cart = services.cart_get_or_create(buyer=UserFactory())
    for sku in (a, b, c):
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    assert services.cart_clear_items(cart=cart, sku_ids=[a.pk, c.pk]) == 2
    assert lines(cart) == [(b.pk, 1)]


def test_merge_sums_quantities_caps_drops_what_is_off_sale_and_deletes_the_anonymous_cart():
    both, only_anonymous, capped, gone = (
        stocked_sku(),
        stocked_sku(price="3.00"),
        stocked_sku(price="4.00"),
        stocked_sku(price="5.00"),
    )
    buyer = UserFactory()
    mine = services.cart_get_or_create(buyer=buyer)
    services.cart_add(cart=mine, sku_id=both.pk, quantity=2)
    services.cart_add(cart=mine, sku_id=capped.pk, quantity=990)
    anonymous = Cart.objects.create(session_key="anon-session-key-1")
    services.cart_add(cart=anonymous, sku_id=both.pk, quantity=3)
    services.cart_add(cart=anonymous, sku_id=only_anonymous.pk, quantity=1)
    services.cart_add(cart=anonymous, sku_id=capped.pk, quantity=20)
    services.cart_add(cart=anonymous, sku_id=gone.pk, quantity=1)
    _withdraw(gone)

    result = services.cart_merge(session_key="anon-session-key-1", buyer=buyer)

    assert result.cart == mine
    assert sorted(result.merged) == sorted([both.pk, only_anonymous.pk, capped.pk])
    assert result.dropped == [gone.pk]
    assert lines(mine) == sorted([(both.pk, 5), (only_anonymous.pk, 1), (capped.pk, 999)])
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert services.cart_merge(session_key="anon-session-key-1", buyer=buyer).cart is None


def test_merge_creates_the_buyer_cart_when_there_is_none():
    sku = stocked_sku()
    anonymous = Cart.objects.create(session_key="anon-session-key-2")
    services.cart_add(cart=anonymous, sku_id=sku.pk, quantity=4)
    buyer = UserFactory()
    result = services.cart_merge(session_key="anon-session-key-2", buyer=buyer)
    assert result.cart.buyer == buyer
    assert lines(result.cart) == [(sku.pk, 4)]
    assert Cart.objects.count() == 1


# --- The grouped cart view ------------------------------------------------------------------


def test_cart_view_groups_by_shop_with_prices_availability_and_shipping():
    shop_a, (cat_a,) = live_merchant()
    shop_b, (cat_b,) = live_merchant()
    ShippingRate.objects.create(merchant=shop_b, flat_fee=Decimal("10.00"), free_over=None)
    lamp = stocked_sku(price="30.00", stock=10, merchant=shop_a, category=cat_a)
    cable = stocked_sku(price="45.50", stock=1, merchant=shop_a, category=cat_a)
    mug = stocked_sku(price="20.00", stock=2, merchant=shop_b, category=cat_b)
    empty = stocked_sku(price="9.00", stock=0, merchant=shop_b, category=cat_b)
    dead = stocked_sku(price="7.00", stock=5, merchant=shop_b, category=cat_b)
    cart = services.cart_get_or_create(buyer=UserFactory())
    for sku, quantity in ((lamp, 2), (cable, 1), (mug, 3), (empty, 1), (dead, 1)):
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=quantity)
    _make_inactive(dead)

    view = selectors.cart_view(cart)

    a, b = view.shops
    assert (a.merchant, b.merchant) == (shop_a, shop_b)
    assert [(line.sku, line.unit_price, line.line_total, line.available, line.problem) for line in a.lines] == [
        (lamp, Decimal("30.00"), Decimal("60.00"), 10, ""),
        (cable, Decimal("45.50"), Decimal("45.50"), 1, ""),
    ]
    assert [(line.sku, line.line_total, line.available, line.problem) for line in b.lines] == [
        (mug, Decimal("60.00"), 2, "short"),
        (empty, Decimal("9.00"), 0, "out_of_stock"),
        (dead, Decimal("7.00"), 5, "unavailable"),
    ]
    # 105.50 ≥ the default free-shipping threshold (99.00); shop B charges its flat 10.00,
    # and its line no longer on sale is not counted.
    assert (a.subtotal, a.shipping, a.total) == (Decimal("105.50"), Decimal("0.00"), Decimal("105.50"))
    assert (b.subtotal, b.shipping, b.total) == (Decimal("69.00"), Decimal("10.00"), Decimal("79.00"))
    assert (view.goods_total, view.shipping_total, view.total) == (
        Decimal("174.50"),
        Decimal("10.00"),
        Decimal("184.50"),
    )
    assert (view.count, view.has_problems) == (8, True)
    assert view.items == sorted([(lamp.pk, 2), (cable.pk, 1), (mug.pk, 3), (empty.pk, 1), (dead.pk, 1)])


def _queries(cart) -> int:
    with CaptureQueriesContext(connection) as ctx:
        view = selectors.cart_view(cart)
        for shop in view.shops:
            for line in shop.lines:
                _seen = (line.sku.product.title, line.sku.merchant.display_name, line.image_id, shop.shipping)
    return len(ctx.captured_queries)


def test_cart_view_is_one_query_however_many_lines_and_shops():
    merchant, (cat,) = live_merchant()
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=stocked_sku(merchant=merchant, category=cat).pk, quantity=1)
    one_line = _queries(cart)
    for n in range(6):
        sku = stocked_sku(price=f"{n + 1}.00", merchant=merchant, category=cat)
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    other, (other_cat,) = live_merchant()
    ShippingRate.objects.create(merchant=other, flat_fee=Decimal("12.00"), free_over=None)
    services.cart_add(cart=cart, sku_id=stocked_sku(merchant=other, category=other_cat).pk, quantity=1)
    # lines with SKU, product, merchant and shipping rate joined; picture and stock computed
    assert _queries(cart) == one_line == 1
    # 51.00 of goods: the default fee (no rate set); the other shop's own flat fee
    assert [shop.shipping for shop in selectors.cart_view(cart).shops] == [Decimal("8.00"), Decimal("12.00")]
    assert selectors.cart_view(None).shops == []


def test_cart_view_of_an_owner_reads_the_lines_through_the_cart_in_one_query():
    sku, other = stocked_sku(), stocked_sku(price="5.00")
    buyer, stranger = UserFactory(), UserFactory()
    services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=2)
    services.cart_add(buyer=stranger, sku_id=other.pk, quantity=1)
    anonymous = Cart.objects.create(session_key="s" * 32)
    services.cart_add(cart=anonymous, sku_id=other.pk, quantity=4)
    with CaptureQueriesContext(connection) as ctx:
        view = selectors.cart_view_of(buyer=buyer, session_key="s" * 32)  # the buyer's cart first
    assert (len(ctx.captured_queries), view.items) == (1, [(sku.pk, 2)])
    assert view.items == selectors.cart_view(Cart.objects.get(buyer=buyer)).items
    assert selectors.cart_view_of(session_key="s" * 32).items == [(other.pk, 4)]
    cartless = UserFactory()
    with CaptureQueriesContext(connection) as ctx:
        assert selectors.cart_view_of(buyer=cartless, session_key="nobody").shops == []
        assert selectors.cart_view_of(session_key=None).shops == []
    assert len(ctx.captured_queries) == 1  # a buyer without a cart: one query; nobody: none


def test_cart_lines_carry_the_first_live_picture():
    sku = stocked_sku()
    first = sku.product.images.filter(is_live=True).order_by("position", "id").first()
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    (line,) = selectors.cart_view(cart).lines
    assert first is not None and line.image_id == first.pk


# --- Pages ----------------------------------------------------------------------------------


def _page_queries(web) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = web.get(reverse("orders:cart"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_cart_page_queries_do_not_grow_with_lines_and_shops(web):
    merchant, (cat,) = live_merchant()
    buyer = UserFactory()
    web.force_login(buyer)
    first = stocked_sku(merchant=merchant, category=cat)
    services.cart_add(buyer=buyer, sku_id=first.pk, quantity=1)
    # The first page after a promotion change (here: a fresh cache) reads which shops have live
    # promotions once for the next few minutes: measured warm, like the second page below.
    _page_queries(web)
    one_line, page = _page_queries(web)
    picture = first.product.images.filter(is_live=True).order_by("position", "id").first()
    assert reverse("product_image", args=[picture.pk, "small"]) in page
    other, (other_cat,) = live_merchant()
    ShippingRate.objects.create(merchant=other, flat_fee=Decimal("12.00"), free_over=None)
    for sku in (stocked_sku(merchant=merchant, category=cat), stocked_sku(merchant=other, category=other_cat)):
        services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=2)
    assert _page_queries(web)[0] == one_line


def test_an_anonymous_visitor_fills_a_cart_through_the_pages(web):
    sku = stocked_sku(price="25.00", stock=5)
    assert web.get(reverse("orders:cart")).status_code == 200
    assert Cart.objects.count() == 0  # looking writes nothing
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 2, "next": f"/p/{sku.product_id}/"})
    assert (response.status_code, response["Location"]) == (302, f"/p/{sku.product_id}/")
    cart = Cart.objects.get()
    assert (cart.buyer, cart.session_key) == (None, web.session.session_key)
    web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1})
    page = web.get(reverse("orders:cart"))
    assert page.status_code == 200
    assert [(line.sku.pk, line.quantity, line.line_total) for line in page.context["cart"].lines] == [
        (sku.pk, 3, Decimal("75.00"))
    ]
    assert "¥75.00" in page.content.decode()

    web.post(reverse("orders:cart_update"), {"sku": sku.pk, "quantity": 4})
    assert lines(cart) == [(sku.pk, 4)]
    page = web.get(reverse("orders:cart"))
    assert "Only 5 available" not in page.content.decode()
    web.post(reverse("orders:cart_update"), {"sku": sku.pk, "quantity": 6})
    assert "Only 5 available" in web.get(reverse("orders:cart")).content.decode()
    web.post(reverse("orders:cart_remove"), {"sku": sku.pk})
    assert lines(cart) == []
    assert "Your cart is empty" in web.get(reverse("orders:cart")).content.decode()


def test_adding_an_unavailable_sku_on_the_page_shows_an_error_and_writes_nothing(web):
    sku = stocked_sku()
    _withdraw(sku)
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1}, follow=True)
    assert "This item is not on sale (any more)." in response.content.decode()
    assert (Cart.objects.count(), CartItem.objects.count()) == (0, 0)
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 0}, follow=True)
    assert "Choose an option and a quantity from 1 to 999." in response.content.decode()
    assert (Cart.objects.count(), Session.objects.count()) == (0, 0)


def test_a_refused_add_leaves_the_visitors_session_as_it_was(web):
    on_sale, withdrawn = stocked_sku(), stocked_sku(price="5.00")
    _withdraw(withdrawn)
    web.post(reverse("orders:cart_add"), {"sku": on_sale.pk, "quantity": 1})
    session = Session.objects.get()
    web.post(reverse("orders:cart_add"), {"sku": withdrawn.pk, "quantity": 1})
    web.post(reverse("orders:cart_add"), {"sku": on_sale.pk, "quantity": 1})  # a repeat changes nothing in it
    assert Session.objects.get().expire_date == session.expire_date
    assert lines(Cart.objects.get(session_key=session.session_key)) == [(on_sale.pk, 2)]


def test_an_offsite_next_is_ignored(web):
    sku = stocked_sku()
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "next": "https://evil.example.com/"})
    assert response["Location"] == reverse("orders:cart")


def test_logging_in_merges_the_anonymous_cart_into_the_buyers(web):
    shared, anonymous_only = stocked_sku(), stocked_sku(price="3.00")
    buyer = UserFactory(email="merge@example.com")
    mine = services.cart_get_or_create(buyer=buyer)
    services.cart_add(cart=mine, sku_id=shared.pk, quantity=1)
    web.post(reverse("orders:cart_add"), {"sku": shared.pk, "quantity": 2})
    web.post(reverse("orders:cart_add"), {"sku": anonymous_only.pk, "quantity": 1})
    anonymous = Cart.objects.get(buyer__isnull=True)

    response = web.post(reverse("login"), {"username": "merge@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert lines(mine) == sorted([(shared.pk, 3), (anonymous_only.pk, 1)])
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert Cart.objects.count() == 1
    assert [line.quantity for line in web.get(reverse("orders:cart")).context["cart"].lines] == [3, 1]


def test_the_header_count_follows_the_cart(web):
    sku = stocked_sku()
    factory = RequestFactory()
    request = factory.get("/")
    request.user = UserFactory()
    request.session = web.session
    assert cart_summary(request)["cart_summary"].count == 0
    services.cart_add(buyer=request.user, sku_id=sku.pk, quantity=3)
    summary = cart_summary(request)["cart_summary"]
    assert (summary.count, summary.url) == (3, "/cart/")


def _header_count(client, **extra) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("home"), **extra)
    assert response.status_code == 200
    badge = response.content.decode().split('class="cart-link"', 1)[1].split('class="badge">', 1)[1].split("<", 1)[0]
    return badge, [query["sql"] for query in ctx.captured_queries if "orders_cartitem" in query["sql"]]


def test_the_header_counts_an_anonymous_cart_and_reads_none_for_a_session_without_one(web):
    sku = stocked_sku()
    # A session cookie of no session (unknown or expired): no cart query, 0.
    assert _header_count(web, HTTP_COOKIE="sessionid=no0such0session0key00000000000") == ("0", [])
    # A session without a cart (e.g. its language chosen): still no cart query.
    session = web.session
    session["anything"] = 1
    session.save()
    web.cookies["sessionid"] = session.session_key
    assert _header_count(web) == ("0", [])
    # The visitor's cart: counted (one query).
    web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 2})
    count, queries = _header_count(web)
    assert (count, len(queries)) == ("2", 1)
    assert Cart.objects.get().session_key == web.cookies["sessionid"].value


# --- Round trips and concurrency --------------------------------------------------------------


def _token_client(user) -> APIClient:
    # A real token, as clients send it: TokenAuthentication's lookup is part of the count.
    token = Token.objects.create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")


def _statements(client, method, path, data=None):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(path, data, format="json")
    return response, [query["sql"].split()[0] for query in ctx.captured_queries]


def test_an_add_to_cart_through_the_api_is_two_statements_and_the_cart_two():
    merchant, (cat,) = live_merchant()
    first, second = stocked_sku(merchant=merchant, category=cat), stocked_sku(merchant=merchant, category=cat)
    buyer = UserFactory()
    client = _token_client(buyer)
    response, statements = _statements(client, "post", "/api/v1/orders/cart/items/", {"sku": first.pk})
    # No cart yet: the one statement finds none; then in a transaction the cart is created
    # (get_or_create: looked up, inserted in its own savepoint) and the line written and the
    # cart read for the answer by one statement.
    assert (response.status_code, statements) == (
        201,
        ["SELECT", "WITH", "SAVEPOINT", "SELECT", "SAVEPOINT", "INSERT", "RELEASE", "WITH", "RELEASE"],
    )
    assert response.json()["count"] == 1

    response, statements = _statements(client, "post", "/api/v1/orders/cart/items/", {"sku": second.pk})
    assert response.status_code == 201
    # The token with its user; the cart found and locked, the line written and the whole cart
    # read for the answer, in one statement that is a transaction by itself (no BEGIN/COMMIT).
    assert statements == ["SELECT", "WITH"]
    response, statements = _statements(client, "post", "/api/v1/orders/cart/items/", {"sku": second.pk})
    assert (response.json()["count"], statements) == (3, ["SELECT", "WITH"])  # merged: the same
    added = response.content
    response, statements = _statements(client, "get", "/api/v1/orders/cart/")
    assert (response.status_code, response.json()["count"], statements) == (200, 3, ["SELECT"] * 2)
    assert response.content == added  # the add's answer is the cart as read afterwards
    assert lines(Cart.objects.get(buyer=buyer)) == [(first.pk, 1), (second.pk, 2)]
    assert Cart.objects.get(buyer=buyer).line_count == 2


def test_a_refused_add_through_the_api_writes_nothing_and_keeps_the_count(monkeypatch):
    monkeypatch.setattr("orders.services.cart.MAX_LINES", 1)
    merchant, (cat,) = live_merchant()
    kept, other = stocked_sku(merchant=merchant, category=cat), stocked_sku(merchant=merchant, category=cat)
    buyer = UserFactory()
    client = _token_client(buyer)
    client.post("/api/v1/orders/cart/items/", {"sku": kept.pk}, format="json")
    response = client.post("/api/v1/orders/cart/items/", {"sku": other.pk}, format="json")
    assert (response.status_code, response.json()["code"], response.json()["extra"]) == (
        400,
        "cart_full",
        {"max_lines": 1},
    )
    _withdraw(other)
    response = client.post("/api/v1/orders/cart/items/", {"sku": other.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "sku_unavailable")
    cart = Cart.objects.get(buyer=buyer)
    assert (lines(cart), cart.line_count, Cart.objects.count()) == ([(kept.pk, 1)], 1, 1)


def _counted(cart) -> tuple[int, int]:
    cart = Cart.objects.get(pk=cart.pk)
    return cart.line_count, CartItem.objects.filter(cart=cart).count()


def test_the_line_count_follows_every_change_of_the_lines():
    merchant, (cat,) = live_merchant()
    a, b, c = (stocked_sku(merchant=merchant, category=cat) for _ in range(3))
    buyer = UserFactory()
    cart = services.cart_get_or_create(buyer=buyer)
    assert _counted(cart) == (0, 0)
    services.cart_add(cart=cart, sku_id=a.pk, quantity=1)
    services.cart_add(buyer=buyer, sku_id=a.pk, quantity=2)  # merged: no new line
    assert _counted(cart) == (1, 1)
    services.cart_add(buyer=buyer, sku_id=b.pk, quantity=1)
    services.cart_add(buyer=buyer, sku_id=c.pk, quantity=1)
    assert _counted(cart) == (3, 3)
    services.cart_update(cart=cart, sku_id=b.pk, quantity=5)
    assert _counted(cart) == (3, 3)
    services.cart_update(cart=cart, sku_id=b.pk, quantity=0)
    assert _counted(cart) == (2, 2)
    assert services.cart_remove(cart=cart, sku_id=c.pk) and not services.cart_remove(cart=cart, sku_id=c.pk)
    assert _counted(cart) == (1, 1)
    services.cart_add(cart=cart, sku_id=b.pk, quantity=1)
    services.cart_add(cart=cart, sku_id=c.pk, quantity=1)
    assert services.cart_clear_items(cart=cart, sku_ids=[a.pk, c.pk, 999_999]) == 2
    assert _counted(cart) == (1, 1)

    anonymous = Cart.objects.create(session_key="line-count-session")
    services.cart_add(cart=anonymous, sku_id=b.pk, quantity=1)  # in both carts
    services.cart_add(cart=anonymous, sku_id=a.pk, quantity=1)
    assert _counted(anonymous) == (2, 2)
    services.cart_merge(session_key="line-count-session", buyer=buyer)
    assert _counted(cart) == (2, 2)
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    cart.delete()  # its lines go first, counted out of a cart about to go
    assert (Cart.objects.count(), CartItem.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_lines_of_existing_carts():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("orders", "0014_backfill_flash_sale_group_buy_discounts")], [("orders", "0015_cart_line_count")]

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    merchant, (cat,) = live_merchant()
    a, b = stocked_sku(merchant=merchant, category=cat), stocked_sku(merchant=merchant, category=cat)
    try:
        apps = migrate(before)
        old_cart, old_item = apps.get_model("orders", "Cart"), apps.get_model("orders", "CartItem")
        full = old_cart.objects.create(buyer_id=UserFactory().pk)
        empty = old_cart.objects.create(session_key="migrated-empty")
        for sku in (a, b):
            old_item.objects.create(cart=full, sku_id=sku.pk, quantity=2)
        migrate(after)
        assert [_counted(full), _counted(empty)] == [(2, 2), (0, 0)]
        services.cart_add(cart=Cart.objects.get(pk=empty.pk), sku_id=a.pk, quantity=1)  # the triggers are in place
        assert _counted(empty) == (1, 1)
    finally:
        # Back to the latest migrations, not `after`: the later ones' columns (and their
        # triggers) are needed by every test that runs after this one.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_changing_a_line_without_a_cart_is_not_in_cart_and_creates_none():
    sku = stocked_sku()
    client = _token_client(UserFactory())
    response = client.patch(f"/api/v1/orders/cart/items/{sku.pk}/", {"quantity": 2}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "not_in_cart")
    assert (Cart.objects.count(), CartItem.objects.count()) == (0, 0)


def _wait_for_a_lock_waiter(outcome):
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_stat_activity is read once per transaction unless its snapshot is dropped.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    pytest.fail(f"the second add never waited for the cart's lock: {outcome}")


def _add_while_another_add_holds_the_cart(cart, first_sku, second_sku, quantities=(1, 1)):
    """The first add runs in a transaction left open until the second add (another thread,
    another connection) waits for the cart's lock; the second's outcome is returned."""
    outcome = {}

    def second_add():
        try:
            outcome["item"] = services.cart_add(cart=cart, sku_id=second_sku.pk, quantity=quantities[1])
        except OrderError as error:
            outcome["error"] = error.code
        finally:
            connection.close()

    thread = threading.Thread(target=second_add)
    with transaction.atomic():
        services.cart_add(cart=cart, sku_id=first_sku.pk, quantity=quantities[0])
        thread.start()
        _wait_for_a_lock_waiter(outcome)
    thread.join(timeout=10)
    return outcome


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_adds_of_one_sku_at_once_sum(monkeypatch):
    sku = stocked_sku()
    cart = services.cart_get_or_create(buyer=UserFactory())
    outcome = _add_while_another_add_holds_the_cart(cart, sku, sku, quantities=(2, 3))
    assert outcome["item"].quantity == 5
    assert lines(cart) == [(sku.pk, 5)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_last_free_line_goes_to_one_of_two_adds_at_once(monkeypatch):
    # The count of lines must be read after the cart's lock is granted: read before, both
    # adds would find a free place and the cart would hold MAX_LINES + 1 lines.
    monkeypatch.setattr("orders.services.cart.MAX_LINES", 2)
    merchant, (cat,) = live_merchant()
    kept, first, second = (stocked_sku(merchant=merchant, category=cat) for _ in range(3))
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=kept.pk, quantity=1)
    outcome = _add_while_another_add_holds_the_cart(cart, first, second)
    assert outcome == {"error": "cart_full"}
    assert lines(cart) == sorted([(kept.pk, 1), (first.pk, 1)])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_add_of_the_sku_that_took_the_last_line_meanwhile_merges_into_it(monkeypatch):
    # The one-statement add reads the SKU's own line in the snapshot taken before it waited
    # for the cart: it finds the cart full and no line, and must retry under the lock, which
    # sees the line the first add committed, rather than answer cart_full.
    monkeypatch.setattr("orders.services.cart.MAX_LINES", 2)
    merchant, (cat,) = live_merchant()
    kept, last = stocked_sku(merchant=merchant, category=cat), stocked_sku(merchant=merchant, category=cat)
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=kept.pk, quantity=1)
    outcome = _add_while_another_add_holds_the_cart(cart, last, last, quantities=(2, 3))
    assert outcome["item"].quantity == 5
    assert lines(cart) == sorted([(kept.pk, 1), (last.pk, 5)])
    assert _counted(cart) == (2, 2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_many_adds_at_once_never_pass_the_line_limit(monkeypatch):
    monkeypatch.setattr("orders.services.cart.MAX_LINES", 3)
    merchant, (cat,) = live_merchant()
    skus = [stocked_sku(merchant=merchant, category=cat) for _ in range(8)]
    buyer = UserFactory()
    services.cart_add(buyer=buyer, sku_id=skus[0].pk, quantity=1)
    start = threading.Barrier(len(skus))

    def add(sku):
        try:
            start.wait(timeout=10)
            services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=1)
            return "added"
        except OrderError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(skus)) as pool:
        outcomes = list(pool.map(add, skus))
    cart = Cart.objects.get(buyer=buyer)
    # skus[0] is in the cart already: its add merges whenever it runs; two of the other seven
    # take the two free lines, five are refused.
    assert outcomes[0] == "added"
    assert sorted(outcomes[1:]) == ["added"] * 2 + ["cart_full"] * 5
    added = {sku.pk for sku, outcome in zip(skus, outcomes, strict=True) if outcome == "added"}
    assert {sku_id for sku_id, _quantity in lines(cart)} == added
    assert dict(lines(cart))[skus[0].pk] == 2
    assert _counted(cart) == (3, 3)


def test_a_visitors_next_add_on_the_page_writes_the_line_in_one_statement(web):
    first, second = stocked_sku(), stocked_sku(price="5.00")
    web.post(reverse("orders:cart_add"), {"sku": first.pk, "quantity": 1})  # the session and its cart
    with CaptureQueriesContext(connection) as ctx:
        response = web.post(reverse("orders:cart_add"), {"sku": second.pk, "quantity": 2})
    assert response.status_code == 302
    cart = Cart.objects.get(session_key=web.session.session_key)
    assert [q["sql"].split()[0] for q in ctx.captured_queries if "orders_cart" in q["sql"]] == ["WITH"]
    assert (lines(cart), cart.line_count) == (sorted([(first.pk, 1), (second.pk, 2)]), 2)


# --- The add that reads the whole cart in its one statement (read_lines) --------------------


def _answer(view) -> bytes:
    return JSONRenderer().render(CartSerializer(view).data)


def _two_shops_skus(count: int) -> list:
    (shop_a, (cat_a,)), (shop_b, (cat_b,)) = live_merchant(), live_merchant()
    ShippingRate.objects.create(merchant=shop_b, flat_fee=Decimal("6.00"), free_over=None)
    return [
        stocked_sku(price=f"{10 + i}.25", merchant=shop, category=cat)
        for i, (shop, cat) in zip(range(count), itertools.cycle([(shop_a, cat_a), (shop_b, cat_b)]))
    ]


@pytest.mark.parametrize("merged", [False, True], ids=["new_line", "existing_line"])
@pytest.mark.parametrize("size", [1, 2, 10])
def test_an_add_reads_the_whole_cart_in_its_one_statement(size, merged):
    skus = _two_shops_skus(size)
    buyer = UserFactory()
    cart = services.cart_get_or_create(buyer=buyer)
    for i, sku in enumerate(skus if merged else skus[:-1]):
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=i + 1)
    before = Cart.objects.get(pk=cart.pk)
    target = skus[-1]
    with CaptureQueriesContext(connection) as ctx:
        item = services.cart_add(buyer=buyer, sku_id=target.pk, quantity=2, read_lines=True)
        view = selectors.cart_view_after_add(item)
    assert len(ctx.captured_queries) == 1
    assert item.cart_rows is not None  # nothing changed the cart meanwhile: not read again
    line = CartItem.objects.get(cart=cart, sku=target)
    assert (item.pk, item.sku_id, item.quantity, item.added_at) == (line.pk, target.pk, line.quantity, line.added_at)
    assert item.quantity == (size + 2 if merged else 2)
    assert (item.cart.pk, item.cart.buyer_id, item.cart.session_key, item.cart.updated_at) == (
        cart.pk,
        buyer.pk,
        None,
        before.updated_at,
    )
    # The answer is the cart as read afterwards, line by line, in the same order.
    assert _answer(view) == _answer(selectors.cart_view(cart))
    assert [(line.sku.pk, line.quantity) for line in view.lines] == [
        (line.sku.pk, line.quantity) for line in selectors.cart_view(cart).lines
    ]
    assert (len(view.lines), view.count) == (size, sum(range(1, size)) + (size + 2 if merged else 2))
    assert [shop.merchant.pk for shop in view.shops] == sorted({sku.merchant_id for sku in skus})


@pytest.mark.parametrize("size", [1, 2, 10])
def test_a_full_cart_refuses_a_new_line_and_merges_an_existing_one_reading_the_cart(monkeypatch, size):
    monkeypatch.setattr("orders.services.cart.MAX_LINES", size)
    *skus, extra = _two_shops_skus(size + 1)
    buyer = UserFactory()
    for sku in skus:
        services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=1)
    cart = Cart.objects.get(buyer=buyer)
    before = lines(cart)
    with pytest.raises(OrderError) as refused:
        services.cart_add(buyer=buyer, sku_id=extra.pk, read_lines=True)
    assert (refused.value.code, refused.value.extra) == ("cart_full", {"max_lines": size})
    assert (lines(cart), _counted(cart), Cart.objects.count()) == (before, (size, size), 1)

    with CaptureQueriesContext(connection) as ctx:
        item = services.cart_add(buyer=buyer, sku_id=skus[0].pk, quantity=998, read_lines=True)
        view = selectors.cart_view_after_add(item)
    assert len(ctx.captured_queries) == 1
    assert item.quantity == 999  # capped
    assert _answer(view) == _answer(selectors.cart_view(cart))
    assert view.count == 999 + size - 1


def test_a_refused_add_that_reads_the_cart_writes_nothing(monkeypatch):
    sku, gone = stocked_sku(), stocked_sku()
    buyer = UserFactory()
    services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=1)
    _withdraw(gone)
    cart = Cart.objects.get(buyer=buyer)
    for sku_id, quantity, code in (
        (gone.pk, 1, "sku_unavailable"),
        (10**9, 1, "sku_unavailable"),
        (sku.pk, 0, "invalid_quantity"),
        (sku.pk, 10**30, "invalid_quantity"),
        ("x", 1, "sku_unavailable"),
    ):
        with pytest.raises(OrderError) as refused:
            services.cart_add(buyer=buyer, sku_id=sku_id, quantity=quantity, read_lines=True)
        assert refused.value.code == code
        assert (lines(cart), _counted(cart)) == ([(sku.pk, 1)], (1, 1))


def _add_while_a_change_holds_the_cart(cart, change, sku):
    """`change()` runs in a transaction left open until an add of `sku` that reads the cart
    (another thread, another connection) waits for the cart's lock. The add's outcome: whether
    its rows were used (`stale`: read again) and its answer, computed in its thread."""
    outcome = {}

    def add():
        try:
            item = services.cart_add(cart=cart, sku_id=sku.pk, quantity=1, read_lines=True)
            outcome["stale"] = item.cart_rows is None
            outcome["answer"] = _answer(selectors.cart_view_after_add(item))
        finally:
            connection.close()

    thread = threading.Thread(target=add)
    with transaction.atomic():
        change()
        thread.start()
        _wait_for_a_lock_waiter(outcome)
    thread.join(timeout=10)
    return outcome


CONCURRENT_CHANGES = {
    # A line inserted meanwhile: the cart row the add locks is newer than its snapshot's.
    "line_added": (lambda cart, kept, other, sku: services.cart_add(cart=cart, sku_id=other.pk), True),
    # A line's quantity changed: the snapshot sees the line's old version, its xmax set.
    "quantity_changed": (
        lambda cart, kept, other, sku: services.cart_update(cart=cart, sku_id=kept.pk, quantity=7),
        True,
    ),
    "line_removed": (lambda cart, kept, other, sku: services.cart_remove(cart=cart, sku_id=kept.pk), True),
    # The added SKU's own line merged meanwhile: the INSERT … ON CONFLICT returns its newest
    # version, and the other lines did not change: the add's rows are right as they are.
    "same_sku_merged": (lambda cart, kept, other, sku: services.cart_add(cart=cart, sku_id=sku.pk, quantity=4), False),
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(CONCURRENT_CHANGES))
def test_an_add_that_waited_for_a_change_of_the_cart_answers_the_cart_with_it(case):
    change, read_again = CONCURRENT_CHANGES[case]
    kept, other, sku = _two_shops_skus(3)
    cart = services.cart_get_or_create(buyer=UserFactory())
    services.cart_add(cart=cart, sku_id=kept.pk, quantity=2)
    services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    outcome = _add_while_a_change_holds_the_cart(cart, lambda: change(cart, kept, other, sku), sku)
    assert outcome["stale"] is read_again
    assert outcome["answer"] == _answer(selectors.cart_view(cart))  # the change is in the add's answer
    expected = {
        "line_added": [(kept.pk, 2), (other.pk, 1), (sku.pk, 2)],
        "quantity_changed": [(kept.pk, 7), (sku.pk, 2)],
        "line_removed": [(sku.pk, 2)],
        "same_sku_merged": [(kept.pk, 2), (sku.pk, 6)],
    }[case]
    assert lines(cart) == sorted(expected)
