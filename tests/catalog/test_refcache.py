# ruff: noqa: F811 - the fixtures `world` and `commit` of test_pagecache, taken as arguments
"""The reference cache (catalog.refcache: the category tree, the featured products' ids) and
the card cache on the home page: a home page rendered from the database shows exactly what it
showed without them, a second rendering reads neither the tree nor the featured products,
and a change of what it shows is on the next request."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.exceptions import RedisError

from catalog import refcache, services
from marketplace import pagecache
from promotions import services as promotion_services
from tests.catalog.test_pagecache import commit, world  # noqa: F401 - fixtures
from tests.factories import UserFactory
from tests.promotions.pages_factories import shop_promotion

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')


@pytest.fixture
def pages_rendered(monkeypatch):
    """Every request misses the page cache (a new key each time), so that the page is rendered
    from the database, the fragment caches under it on: a signed-in buyer is served cached
    pages too (their own parts filled in, marketplace.pagecache)."""
    monkeypatch.setattr(pagecache, "_page_key", lambda *args: f"pc:page:test:{uuid.uuid4().hex}")


def signed_in() -> Client:
    buyer = Client()
    buyer.force_login(UserFactory())
    return buyer


def home(client) -> tuple[str, list[str]]:
    """The home page's HTML (CSRF tokens blanked) and its statements."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/", **EN)
    assert response.status_code == 200
    return TOKEN.sub(r'\1"', response.content.decode()), [q["sql"] for q in queries.captured_queries]


def featured_titles(html: str) -> list[str]:
    section = html.split('id="featured-title"', 1)[1]
    return re.findall(r'<span class="product-title">([^<]+)</span>', section)


def lamp_card(html: str) -> str:
    return html.split("Desk lamp", 1)[1].split("</li>", 1)[0]


def reads_products(statements) -> bool:
    return any('FROM "catalog_product"' in sql or "catalog_category" in sql for sql in statements)


@pytest.fixture
def featured(world, commit):
    staff = UserFactory(is_staff=True)
    with commit():
        for name in ("lamp", "kettle"):
            services.product_set_featured(product=world[name], featured=True, actor=staff)
    return world


@pytest.mark.usefixtures("pages_rendered")
def test_the_home_page_is_the_same_and_reads_no_product_nor_category_once_cached(featured, settings):
    buyer = signed_in()
    settings.PAGE_CACHE_TTL = 0  # no reference nor card cache: the page as rendered before them
    before, uncached = home(buyer)
    settings.PAGE_CACHE_TTL = 600
    filled, filling = home(buyer)
    served, cached = home(buyer)
    assert filled == before and served == before
    assert featured_titles(served) == ["Kettle", "Desk lamp"]
    assert ">Lighting<" in served and ">Kitchen<" in served  # the category tree
    assert len(filling) == len(uncached) and reads_products(filling)
    # The tree, the featured ids, their rows and badges: 4 statements fewer, none of them read.
    assert len(cached) == len(uncached) - 4
    assert not reads_products(cached)


def test_featuring_and_unfeaturing_show_on_the_next_request(world, commit):
    buyer, staff = signed_in(), UserFactory(is_staff=True)
    assert featured_titles(home(buyer)[0]) == []
    home(buyer)
    with commit():
        services.product_set_featured(product=world["lamp"], featured=True, actor=staff)
    assert featured_titles(home(buyer)[0]) == ["Desk lamp"]
    with commit():
        services.product_set_featured(product=world["lamp"], featured=False, actor=staff)
    assert featured_titles(home(buyer)[0]) == []


def test_a_price_change_of_a_featured_product_shows_on_the_next_request(featured, commit):
    buyer = signed_in()
    assert "199.00" in home(buyer)[0]
    assert not reads_products(home(buyer)[1])
    with commit():
        services.sku_update(sku=featured["lamp"].skus.get(), actor=featured["merchant"].owner, data={"price": "149.00"})
    html = home(buyer)[0]
    assert "149.00" in html and "199.00" not in html
    assert featured_titles(html) == ["Kettle", "Desk lamp"]


def test_running_out_of_stock_shows_on_the_next_request(featured, commit):
    buyer = signed_in()
    assert "Out of stock" not in lamp_card(home(buyer)[0])
    assert not reads_products(home(buyer)[1])
    with commit():
        services.stock_adjust(
            merchant=featured["merchant"],
            sku=featured["lamp"].skus.get(),
            warehouse=featured["warehouse"],
            on_hand=0,
            actor=featured["merchant"].owner,
            reason="count",
        )
    assert "Out of stock" in lamp_card(home(buyer)[0])


def test_a_promotion_on_a_featured_product_shows_on_the_next_request(featured, commit):
    buyer = signed_in()
    promotion = shop_promotion(featured["merchant"], scope="products", product_ids=[featured["lamp"].pk])
    assert 'class="promo-badge"' not in home(buyer)[0]
    assert not reads_products(home(buyer)[1])
    with commit():
        promotion_services.promotion_publish(promotion=promotion, actor=featured["merchant"].owner)
    assert 'class="promo-badge"' in lamp_card(home(buyer)[0])
    with commit():
        promotion_services.promotion_pause(promotion=promotion, actor=featured["merchant"].owner)
    assert 'class="promo-badge"' not in home(buyer)[0]


def test_withdrawing_a_featured_product_takes_it_off_at_once(featured, commit):
    buyer = signed_in()
    home(buyer)
    with commit():
        services.product_withdraw(product=featured["kettle"], actor=featured["merchant"].owner)
    assert featured_titles(home(buyer)[0]) == ["Desk lamp"]


def test_category_changes_show_on_the_next_request(world, commit):
    buyer, staff = signed_in(), UserFactory(is_staff=True)
    home(buyer)
    with commit():
        services.category_update(category=world["kitchen"], actor=staff, name="Cooking")
    html = home(buyer)[0]
    assert "Cooking" in html and ">Kitchen<" not in html


def test_a_value_built_before_a_change_is_never_served_after_it(featured, commit, monkeypatch):
    """The tokens are read before the value is built: a value built from rows older than a
    bump is stored under the tokens before it, so the next page builds it again."""
    built = refcache._VALUES["featured_ids"][1]

    def build_then_unfeature(limit=12):
        ids = built(limit)
        with commit():
            services.product_set_featured(product=featured["kettle"], featured=False, actor=UserFactory(is_staff=True))
        return ids

    monkeypatch.setitem(refcache._VALUES, "featured_ids", ((refcache.HOME,), build_then_unfeature))
    assert refcache.reference("featured_ids")["featured_ids"] == [featured["kettle"].pk, featured["lamp"].pk]
    monkeypatch.setitem(refcache._VALUES, "featured_ids", ((refcache.HOME,), built))
    assert refcache.reference("featured_ids")["featured_ids"] == [featured["lamp"].pk]


def test_with_redis_down_the_home_page_is_read_from_the_database(featured, monkeypatch):
    def down(*args, **kwargs):
        raise RedisError("down")

    buyer = signed_in()
    expected = home(buyer)
    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set_many", down)
    assert home(buyer)[0] == expected[0]
    assert reads_products(home(buyer)[1])


def test_nothing_is_cached_with_the_page_cache_off(featured, settings):
    settings.PAGE_CACHE_TTL = 0
    buyer = signed_in()
    home(buyer)
    assert reads_products(home(buyer)[1])
    assert cache.get("pc:ref:featured_ids") is None
