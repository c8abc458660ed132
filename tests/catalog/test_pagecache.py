"""The page cache of the storefront and the public catalog API (marketplace.pagecache,
catalog.pagecache): hits cost no query, each change makes stale exactly the pages that show
it, and only GETs without an API token read or fill the cache (visitors with a session get
their own parts filled in: test_pagecache_visitors.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog import services
from catalog.models import SKU, Stock
from catalog.services import StockLine
from catalog.services import stock as stock_services
from merchants import services as merchant_services
from merchants.models import Merchant
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks of what the block does, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def world(commit):
    """home › lighting › desk lamps, kitchen beside lighting; a lamp with 100 units in desk
    lamps, a kettle in kitchen."""
    home = make_category("Home")
    lighting = make_category("Lighting", parent=home)
    desk = make_category("Desk lamps", parent=lighting)
    kitchen = make_category("Kitchen", parent=home)
    merchant, _ = live_merchant(categories=[home])
    # Past the new-shop boost: its products are not on the home page unless featured.
    Merchant.objects.filter(pk=merchant.pk).update(live_since=timezone.now() - timedelta(days=60))
    with commit():
        lamp = product(merchant, desk, title="Desk lamp", price="199.00")
        kettle = product(merchant, kitchen, title="Kettle", price="88.00")
        where = warehouse()
        services.stock_receive(merchant=merchant, sku=lamp.skus.get(), warehouse=where, quantity=100, actor=None)
    return {
        "home": home,
        "lighting": lighting,
        "desk": desk,
        "kitchen": kitchen,
        "merchant": merchant,
        "lamp": lamp,
        "kettle": kettle,
        "warehouse": where,
    }


def pages(world) -> dict[str, str]:
    return {
        "home": "/",
        "search": "/search/?q=台灯&in_stock=0&price_min=1&price_max=1000&ordering=price",
        "desk": f"/c/{world['desk'].slug}/",
        "lighting": f"/c/{world['lighting'].slug}/",
        "root": f"/c/{world['home'].slug}/",
        "kitchen": f"/c/{world['kitchen'].slug}/",
        "lamp": f"/p/{world['lamp'].pk}/",
        "kettle": f"/p/{world['kettle'].pk}/",
        "api_list": "/api/v1/catalog/products/?page_size=5",
        "api_lamp": f"/api/v1/catalog/products/{world['lamp'].pk}/",
    }


def hit(client, url, django_assert_num_queries, **extra) -> bool:
    """Whether `url` is served from the cache (no query); fills the cache if not."""
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **extra)
    return len(queries) == 0


def warm(client, world, django_assert_num_queries) -> dict[str, str]:
    urls = pages(world)
    for url in urls.values():
        hit(client, url, django_assert_num_queries)
    assert all(hit(client, url, django_assert_num_queries) for url in urls.values())
    return urls


def stale(client, urls, django_assert_num_queries) -> set[str]:
    return {name for name, url in urls.items() if not hit(client, url, django_assert_num_queries)}


# --- Hits ------------------------------------------------------------------------------------


def test_a_hit_makes_no_query_and_serves_the_same_page(client, world, django_assert_num_queries):
    for url in pages(world).values():
        first = client.get(url)
        with django_assert_num_queries(0):
            second = client.get(url)
        assert second.status_code == 200
        strip = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
        assert strip.sub(b"", second.content) == strip.sub(b"", first.content)
        assert second["Content-Type"] == first["Content-Type"]


def test_hits_work_with_debug_on_or_off(client, world, settings, django_assert_num_queries):
    for debug in (True, False):
        settings.DEBUG = debug
        client.get("/")
        with django_assert_num_queries(0):
            assert client.get("/").status_code == 200


def test_ttl_zero_turns_the_cache_off(client, world, settings, django_assert_num_queries):
    settings.PAGE_CACHE_TTL = 0
    client.get("/")
    assert not hit(client, "/", django_assert_num_queries)


def test_unknown_parameters_are_dropped_and_known_ones_sorted(client, world, django_assert_num_queries):
    client.get("/search/?q=lamp&ordering=price")
    assert hit(client, "/search/?ordering=price&utm_source=ad&q=lamp", django_assert_num_queries)
    # The page is the one of its key: no trace of the dropped parameter.
    assert b"utm_source" not in client.get("/search/?utm_source=ad&q=lamp&ordering=price").content


def test_a_query_string_too_long_is_not_cached(client, world, django_assert_num_queries):
    url = "/search/?q=" + "x" * 90 + "&tag=" + "&tag=".join(f"t{i}" for i in range(60))
    client.get(url)
    assert not hit(client, url, django_assert_num_queries)


def test_a_not_found_page_is_never_cached(client, world, django_assert_num_queries):
    assert client.get("/p/99999999/").status_code == 404
    with django_assert_num_queries(1):
        assert client.get("/p/99999999/").status_code == 404


def test_a_page_in_chinese_is_not_served_in_english(client, world, django_assert_num_queries):
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh["Content-Language"] == "zh-hans"
    assert not hit(client, "/", django_assert_num_queries, **EN)
    en = client.get("/", **EN)
    assert en["Content-Language"] == "en"
    assert b"Featured" in en.content
    assert b"Featured" not in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content


# --- Who reads and fills the cache ------------------------------------------------------------


def test_a_page_stored_by_a_logged_in_user_shows_anonymous_visitors_their_own_header(
    client, world, django_assert_num_queries
):
    user = UserFactory(first_name="Logged", last_name="Lin")
    signed_in = Client()
    signed_in.force_login(user)
    url = pages(world)["lamp"]
    # Signed in first: the page is stored without their parts (tests/catalog/test_pagecache_visitors.py).
    assert b"Logged Lin" in signed_in.get(url).content
    assert hit(client, url, django_assert_num_queries)
    assert b"Logged Lin" not in client.get(url).content
    # The signed-in user gets their own parts: their session and user read, not the catalogue.
    with django_assert_num_queries(4):  # session, user, cart count, unread notifications
        assert b"Logged Lin" in signed_in.get(url).content


def test_an_anonymous_visitor_with_a_cart_gets_their_own_page(client, world, django_assert_num_queries):
    shopper = Client()
    sku = world["lamp"].skus.get()
    shopper.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 2})
    assert "sessionid" in shopper.cookies
    url = pages(world)["lamp"]
    client.get(url)
    assert hit(client, url, django_assert_num_queries)
    assert not hit(shopper, url, django_assert_num_queries)
    badge = re.compile(rb'class="cart-link"[^>]*>[^<]*<span class="badge">(\d+)</span>')
    assert badge.search(shopper.get(url).content).group(1) == b"2"
    assert badge.search(client.get(url).content).group(1) == b"0"


def test_an_api_token_never_reads_nor_fills_the_cache(api_client, world, django_assert_num_queries):
    url = pages(world)["api_list"]
    token = Token.objects.create(user=UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    api_client.get(url)
    assert not hit(api_client, url, django_assert_num_queries)
    assert not hit(Client(), url, django_assert_num_queries)


def test_the_browsable_api_page_is_not_cached(client, world, django_assert_num_queries):
    url = pages(world)["api_list"]
    client.get(url, HTTP_ACCEPT="text/html")
    assert not hit(client, url, django_assert_num_queries, HTTP_ACCEPT="text/html")
    assert client.get(url)["Content-Type"] == "application/json"


def test_posts_never_fill_the_cache(client, world, django_assert_num_queries):
    assert client.post("/search/?q=lamp").status_code == 405
    assert not hit(client, "/search/?q=lamp", django_assert_num_queries)


def test_each_visitor_gets_their_own_csrf_token_and_can_post(world, django_assert_num_queries):
    url = pages(world)["lamp"]
    tokens = []
    for _ in range(2):
        visitor = Client(enforce_csrf_checks=True)
        html = visitor.get(url).content.decode()
        assert "csrf-placeholder" not in html
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        tokens.append(token)
        sku = world["lamp"].skus.get()
        response = visitor.post(
            reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302
    assert tokens[0] != tokens[1]
    assert hit(Client(), url, django_assert_num_queries)


# --- Precise invalidation --------------------------------------------------------------------


def test_a_price_change_makes_stale_only_the_pages_that_show_the_product(
    client, world, commit, django_assert_num_queries
):
    urls = warm(client, world, django_assert_num_queries)
    sku = world["lamp"].skus.get()
    with commit():
        services.sku_update(sku=sku, actor=world["merchant"].owner, data={"price": "149.00"})
    assert stale(client, urls, django_assert_num_queries) == {
        "search",
        "desk",
        "lighting",
        "root",
        "lamp",
        "api_list",
        "api_lamp",
    }
    assert "149.00" in client.get(urls["lamp"]).content.decode()


def test_a_rolled_back_change_makes_nothing_stale(client, world, django_assert_num_queries):
    urls = warm(client, world, django_assert_num_queries)
    sku = world["lamp"].skus.get()
    services.sku_update(sku=sku, actor=world["merchant"].owner, data={"price": "149.00"})  # never commits
    assert stale(client, urls, django_assert_num_queries) == set()


def test_withdrawing_a_product_takes_it_off_its_pages(client, world, commit, django_assert_num_queries):
    urls = warm(client, world, django_assert_num_queries)
    with commit():
        services.product_withdraw(product=world["kettle"], actor=world["merchant"].owner)
    assert stale(client, urls, django_assert_num_queries) >= {"kitchen", "root", "search", "api_list"}
    assert "lighting" not in stale(client, urls, django_assert_num_queries)
    assert client.get(urls["kettle"]).status_code == 404
    assert b"Kettle" not in client.get(urls["kitchen"]).content


def test_featuring_a_product_makes_the_home_page_stale(client, world, commit, django_assert_num_queries):
    urls = warm(client, world, django_assert_num_queries)
    with commit():
        services.product_set_featured(product=world["kettle"], featured=True, actor=UserFactory(is_staff=True))
    assert {"home", "kitchen", "kettle"} <= stale(client, urls, django_assert_num_queries)
    assert "desk" not in stale(client, urls, django_assert_num_queries)


def test_a_category_rename_makes_every_page_stale(client, world, commit, django_assert_num_queries):
    urls = warm(client, world, django_assert_num_queries)
    with commit():
        services.category_update(category=world["kitchen"], actor=UserFactory(is_staff=True), name="Cooking")
    assert stale(client, urls, django_assert_num_queries) == set(urls)
    assert "Cooking" in client.get("/").content.decode()


def test_a_suspended_shop_leaves_every_page(client, world, commit, django_assert_num_queries):
    urls = warm(client, world, django_assert_num_queries)
    with commit():
        merchant_services.merchant_suspend(merchant=world["merchant"], actor=UserFactory(is_staff=True), reason="Audit")
    assert stale(client, urls, django_assert_num_queries) == set(urls)
    assert client.get(urls["lamp"]).status_code == 404


def _reserve(world, quantity: int, commit) -> None:
    sku = world["lamp"].skus.get()
    with commit():
        services.stock_reserve(lines=[StockLine(sku.pk, world["warehouse"].pk, quantity)], reference="o-1")


def test_a_sale_that_leaves_plenty_of_stock_makes_nothing_stale(client, world, commit, django_assert_num_queries):
    _reserve(world, 1, commit)  # the row's level is now remembered
    urls = warm(client, world, django_assert_num_queries)
    _reserve(world, 3, commit)
    assert stale(client, urls, django_assert_num_queries) == set()


def test_the_last_units_change_the_product_page_only(client, world, commit, django_assert_num_queries):
    _reserve(world, 95, commit)  # 5 left: "only 5 left"
    urls = warm(client, world, django_assert_num_queries)
    _reserve(world, 1, commit)
    assert stale(client, urls, django_assert_num_queries) == {"lamp", "api_lamp"}
    assert "4" in re.search(r'class="badge badge-warn">([^<]+)<', client.get(urls["lamp"], **EN).content.decode())[1]


def test_selling_out_makes_the_lists_stale_too(client, world, commit, django_assert_num_queries):
    _reserve(world, 99, commit)
    urls = warm(client, world, django_assert_num_queries)
    _reserve(world, 1, commit)
    assert stale(client, urls, django_assert_num_queries) == {
        "search",
        "desk",
        "lighting",
        "root",
        "lamp",
        "api_list",
        "api_lamp",
    }
    assert Stock.objects.get(sku__product=world["lamp"]).available == 0
    assert client.get(urls["api_lamp"]).json()["in_stock"] is False


def test_a_stock_import_makes_the_restocked_product_stale(client, world, commit, django_assert_num_queries):
    sku = SKU.objects.get(product=world["kettle"])
    urls = warm(client, world, django_assert_num_queries)
    with commit():
        stock_services.stock_set_levels(
            merchant=world["merchant"],
            levels=[(sku, world["warehouse"], 7)],
            actor=world["merchant"].owner,
            reason="Import",
        )
    assert stale(client, urls, django_assert_num_queries) == {"search", "kitchen", "root", "kettle", "api_list"}
