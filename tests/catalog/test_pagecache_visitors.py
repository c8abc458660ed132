# ruff: noqa: F811 - the fixtures `world` and `commit` of test_pagecache, taken as arguments
"""Visitors with a session served from the page cache (marketplace.pagecache, `sessions=HOLES`
and `SAME`): one stored page, each visitor's own header, cart count, notifications and
messages filled in; never one visitor's data in another's answer."""

from __future__ import annotations

import copy
import random
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Product
from marketplace import pagecache
from notifications.models import Notification
from orders.services import cart as cart_services
from tests.catalog.test_pagecache import commit, pages, world  # noqa: F401 - fixtures
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HOLES = ("home", "search", "desk", "lamp")
USER_NAME = re.compile(rb'<span class="user-name">([^<]*)</span>')
UNREAD = re.compile(rb"data-unread-count>(\d+)</span>")
CART = re.compile(rb'class="cart-link"[^>]*>[^<]*<span class="badge">(\d+)</span>')


@pytest.fixture
def stored(monkeypatch) -> set[str]:
    """The keys of the pages stored since the fixture started."""
    keys, store = set(), cache.set

    def spy(key, *args, **kwargs):
        if key.startswith("pc:page:"):
            keys.add(key)
        return store(key, *args, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    return keys


def _sorted_query(url: str) -> str:
    """The URL with its query in the page cache's key order (the page is rendered so)."""
    parts = urlsplit(url)
    return f"{parts.path}?{urlencode(sorted(parse_qsl(parts.query)))}" if parts.query else url


def _signed_in(user) -> Client:
    visitor = Client()
    visitor.force_login(user)
    return visitor


def _header(response) -> dict:
    html = response.content
    name = USER_NAME.search(html)
    unread = UNREAD.search(html)
    return {
        "name": name.group(1).decode() if name else None,
        "unread": int(unread.group(1)) if unread else None,
        "cart": int(CART.search(html).group(1)),
        "admin": f'href="{reverse("admin:index")}"'.encode() in html,
        "log_in": f'href="{reverse("login")}"'.encode() in html,
        "my_orders": reverse("orders:order_list").encode() in html,
    }


def _catalog_queries(queries) -> list[str]:
    """The statements that read the catalogue (none on a cache hit): not the session, user,
    cart or notification reads of the visitor's own parts."""
    own = ("django_session", "marketplace_user", "orders_cart", "notifications_notification")
    return [q["sql"] for q in queries if not any(table in q["sql"] for table in own)]


@pytest.fixture
def visitors(world):
    """Two signed-in buyers with their own names, carts and unread notifications, a staff
    user, an anonymous visitor with a cart, and an anonymous visitor without a session."""
    ann = UserFactory(first_name="Ann", last_name="Buyer")
    bob = UserFactory(first_name="Bob", last_name="Shopper")
    staff = UserFactory(first_name="Sam", last_name="Staff", is_staff=True)
    sku = world["lamp"].skus.get()
    cart_services.cart_add(sku_id=sku.pk, quantity=2, buyer=ann)
    cart_services.cart_add(sku_id=sku.pk, quantity=5, buyer=bob)
    Notification.objects.bulk_create(
        [Notification(user=ann, kind="order_paid", params={})]
        + [Notification(user=bob, kind="order_paid", params={}) for _ in range(3)]
    )
    shopper = Client()
    shopper.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 4})
    assert "sessionid" in shopper.cookies
    assert b"message-success" in shopper.get(reverse("orders:cart")).content  # its message shown
    return {
        "ann": _signed_in(ann),
        "bob": _signed_in(bob),
        "staff": _signed_in(staff),
        "shopper": shopper,
        "anonymous": Client(),
    }


EXPECTED = {
    "ann": {"name": "Ann Buyer", "unread": 1, "cart": 2, "admin": False, "log_in": False, "my_orders": True},
    "bob": {"name": "Bob Shopper", "unread": 3, "cart": 5, "admin": False, "log_in": False, "my_orders": True},
    "staff": {"name": "Sam Staff", "unread": 0, "cart": 0, "admin": True, "log_in": False, "my_orders": True},
    "shopper": {"name": None, "unread": None, "cart": 4, "admin": False, "log_in": True, "my_orders": False},
    "anonymous": {"name": None, "unread": None, "cart": 0, "admin": False, "log_in": True, "my_orders": False},
}


@pytest.mark.parametrize("filler", ["ann", "shopper", "anonymous"])
@pytest.mark.parametrize("page", HOLES)
def test_every_visitor_gets_their_own_header_from_the_same_stored_page(world, visitors, stored, filler, page):
    url = pages(world)[page]
    assert visitors[filler].get(url, **EN).status_code == 200  # fills
    assert len(stored) == 1
    # Changed behind the cache's back (no bump): a page served from the cache still shows the
    # old title, one rendered from the database the new one.
    Product.objects.filter(pk=world["lamp"].pk).update(title="Renamed lamp")
    for name, visitor in visitors.items():
        with CaptureQueriesContext(connection) as queries:
            response = visitor.get(url, **EN)
        assert response.status_code == 200
        assert b"Renamed lamp" not in response.content, name
        assert _catalog_queries(queries.captured_queries) == [], name
        assert _header(response) == EXPECTED[name], name
        assert b"pc-hole" not in response.content
        assert pagecache.CSRF_PLACEHOLDER.encode() not in response.content
    assert len(stored) == 1


def test_the_home_page_asks_only_anonymous_visitors_to_sign_up(world, visitors):
    visitors["ann"].get("/", **EN)
    assert b"Create an account" not in visitors["ann"].get("/", **EN).content
    assert b"Create an account" in visitors["anonymous"].get("/", **EN).content
    assert b"Create an account" in visitors["shopper"].get("/", **EN).content
    assert b"Create an account" not in visitors["bob"].get("/", **EN).content


def test_a_visitor_with_a_session_gets_the_same_page_as_rendered_whole(world, visitors, settings):
    """Byte for byte (but the CSRF token): the cached page with its holes filled is the page
    the view renders for this visitor without the cache."""
    strip = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
    for page in HOLES:
        url = _sorted_query(pages(world)[page])
        for name in ("bob", "shopper", "staff"):
            settings.PAGE_CACHE_TTL = 0
            whole = visitors[name].get(url, **EN)
            settings.PAGE_CACHE_TTL = 600
            visitors["anonymous"].get(url, **EN)  # stored by an anonymous visitor
            cached = visitors[name].get(url, **EN)
            assert strip.sub(b"", cached.content) == strip.sub(b"", whole.content), (page, name)


def test_a_message_is_shown_once_to_its_visitor_and_never_stored(world, visitors):
    url = pages(world)["lamp"]
    sku = world["lamp"].skus.get()
    visitors["anonymous"].get(url, **EN)  # stored
    ann = visitors["ann"]
    assert ann.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "next": url}, **EN).status_code == 302
    first = ann.get(url, **EN)
    assert first.content.count(b"Added to your cart.") == 1
    assert _header(first)["cart"] == 3
    assert b"Added to your cart." not in ann.get(url, **EN).content  # once
    for name in ("bob", "anonymous", "shopper"):
        assert b"Added to your cart." not in visitors[name].get(url, **EN).content, name


def test_a_message_queued_before_the_page_is_stored_stays_out_of_it(world, visitors, stored):
    url = pages(world)["desk"]
    sku = world["lamp"].skus.get()
    bob = visitors["bob"]
    bob.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "next": url}, **EN)
    assert "messages" in bob.cookies
    assert not stored
    assert b"Added to your cart." in bob.get(url, **EN).content  # fills the cache
    assert len(stored) == 1
    assert b"Added to your cart." not in visitors["anonymous"].get(url, **EN).content
    assert b"Added to your cart." not in visitors["ann"].get(url, **EN).content
    assert b"Added to your cart." not in bob.get(url, **EN).content


def test_a_bump_is_seen_by_every_visitor_at_once(world, visitors, commit):
    url = pages(world)["lamp"]
    visitors["ann"].get(url, **EN)
    Product.objects.filter(pk=world["lamp"].pk).update(title="Renamed lamp")
    assert all(b"Renamed lamp" not in v.get(url, **EN).content for v in visitors.values())
    with commit():
        pagecache.bump([f"product:{world['lamp'].pk}"])
    for name, visitor in visitors.items():
        response = visitor.get(url, **EN)
        assert b"Renamed lamp" in response.content, name
        assert _header(response) == EXPECTED[name], name


def test_headers_of_a_per_visitor_answer(world, visitors):
    url = pages(world)["lamp"]
    visitors["anonymous"].get(url)  # stored
    anonymous = visitors["anonymous"].get(url)
    assert "Cookie" in anonymous["Vary"]
    assert "private" not in anonymous.get("Cache-Control", "")
    for name in ("ann", "shopper"):
        response = visitors[name].get(url)
        assert "Cookie" in response["Vary"], name
        assert response["Cache-Control"] == "private", name


def test_a_visitor_with_a_session_gets_a_csrf_cookie_and_can_post(world, visitors):
    url = pages(world)["lamp"]
    visitors["anonymous"].get(url)  # stored
    buyer = Client(enforce_csrf_checks=True)
    buyer.force_login(UserFactory(first_name="Cat", last_name="Poster"))
    assert "csrftoken" not in buyer.cookies
    html = buyer.get(url, **EN).content.decode()
    assert "csrftoken" in buyer.cookies
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert len(tokens) == 3  # the language switch, log out (their own part), add to cart
    sku = world["lamp"].skus.get()
    response = buyer.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "csrfmiddlewaretoken": tokens[-1]})
    assert response.status_code == 302
    assert _header(buyer.get(url, **EN))["cart"] == 1


def test_the_api_list_is_the_same_for_a_session_and_served_without_a_query(world, visitors, stored):
    url = pages(world)["api_list"]
    anonymous = visitors["anonymous"].get(url)
    assert len(stored) == 1
    for name in ("ann", "staff", "shopper"):
        with CaptureQueriesContext(connection) as queries:
            response = visitors[name].get(url)
        assert response.status_code == 200
        assert response.content == anonymous.content, name
        assert queries.captured_queries == [], name  # not even the session's
        assert "Cookie" in response["Vary"]
        assert "private" not in response.get("Cache-Control", "")


def test_the_api_list_stored_by_a_signed_in_caller_is_the_anonymous_one(world, visitors, stored, settings):
    url = pages(world)["api_list"]
    from_session = visitors["bob"].get(url)
    assert len(stored) == 1
    settings.PAGE_CACHE_TTL = 0
    assert Client().get(url).content == from_session.content
    settings.PAGE_CACHE_TTL = 600
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(url).content == from_session.content
    assert queries.captured_queries == []


def test_a_not_found_page_filled_in_for_the_cache_carries_no_placeholder(world, visitors, stored):
    for name in ("anonymous", "ann"):
        response = visitors[name].get("/p/99999999/", **EN)
        assert response.status_code == 404
        assert b"pc-hole" not in response.content
        assert pagecache.CSRF_PLACEHOLDER.encode() not in response.content
    assert _header(visitors["ann"].get("/p/99999999/", **EN))["name"] == "Ann Buyer"
    assert not stored


@pytest.mark.django_db(transaction=True)
def test_visitors_served_at_the_same_time_each_get_their_own_parts(world, visitors):
    """Threads with their own connections, as gunicorn's workers' requests: each answer,
    whoever is served beside it, carries its own visitor's parts."""
    url = pages(world)["lamp"]
    visitors["anonymous"].get(url, **EN)  # stored
    names = [name for name in visitors for _ in range(6)]
    random.Random(12).shuffle(names)

    def visit(name: str):
        visitor = Client()
        visitor.cookies = copy.deepcopy(visitors[name].cookies)
        try:
            return name, visitor.get(url, **EN)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(visit, names))
    assert len(answers) == 30
    for name, response in answers:
        assert response.status_code == 200
        assert _header(response) == EXPECTED[name], name


@pytest.mark.parametrize("marker", ["_header_account.html", "no/such/template.html"])
def test_a_hole_marker_in_a_merchants_text_is_only_text(world, visitors, stored, marker):
    """The JSON API writes `<` as is: a merchant's title that spells a hole's marker must not
    make the cache render a template into it (another visitor's header, or a missing template's
    500 for every visitor), in the API list nor on an HTML page."""
    import json

    from marketplace.pagecache import visitor_part_marker

    class Filling:
        _page_cache_fill = "guess"

    forged = [
        f"<!--pc-hole-3a9e61d4:{marker}-->",  # the marker as it was before it carried a nonce
        visitor_part_marker(Filling(), marker),
    ]
    Product.objects.filter(pk=world["lamp"].pk).update(title="Lamp " + " ".join(forged))
    url = pages(world)["api_list"]
    for name in ("anonymous", "ann", "anonymous", "bob"):
        response = visitors[name].get(url)
        assert response.status_code == 200, name
        titles = [row["title"] for row in json.loads(response.content)["results"]]
        assert "Lamp " + " ".join(forged) in titles, name
        assert b"Ann Buyer" not in response.content
    page = visitors["ann"].get(pages(world)["lamp"], **EN)
    assert page.status_code == 200
    assert _header(page)["name"] == "Ann Buyer"
