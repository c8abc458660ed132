# ruff: noqa: F811 - the fixtures `world` and `commit` of test_pagecache, taken as arguments
"""The card fragment cache of list pages (catalog.pagecache.PageCards, `{% product_cards %}`):
a page rendered from the database shows exactly the cards it showed without it, a second
rendering takes every card from the cache, and a change of what a card shows is on the next
request."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from redis.exceptions import RedisError

from catalog import services
from catalog.pagecache import PageCards
from marketplace import pagecache
from tests.catalog.test_pagecache import commit, world  # noqa: F401 - fixtures
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SEARCH = "/search/?ordering=price&price_max=1000&price_min=1"  # as the page cache sorts it
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


def page(client, url) -> tuple[str, int]:
    """The page's HTML with its CSRF tokens blanked (masked anew at every request), and its
    number of queries."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **EN)
    assert response.status_code == 200
    return TOKEN.sub(r'\1"', response.content.decode()), len(queries)


def stored(product, language="en") -> str | None:
    """The product's card in the cache, current, in `language`."""
    with translation.override(language):
        return PageCards([product.pk]).get(product.pk)


def urls(world) -> list[str]:
    return [SEARCH, f"/c/{world['home'].slug}/", f"/c/{world['desk'].slug}/", f"/c/{world['kitchen'].slug}/"]


@pytest.mark.usefixtures("pages_rendered")
def test_a_signed_in_buyers_pages_are_the_same_with_cards_from_the_cache(world, settings):
    buyer = signed_in()
    settings.PAGE_CACHE_TTL = 0  # no card cache: the pages as rendered before it
    before = {url: page(buyer, url) for url in urls(world)}
    settings.PAGE_CACHE_TTL = 600
    filled = {url: page(buyer, url) for url in urls(world)}
    assert stored(world["lamp"]) is not None and stored(world["kettle"]) is not None
    assert stored(world["lamp"], "zh-hans") is None
    served = {url: page(buyer, url) for url in urls(world)}
    assert filled[SEARCH] == before[SEARCH]  # the first page, no card stored yet: the same queries
    for url in urls(world):
        assert filled[url][0] == before[url][0]
        # Every card from the cache: neither the page's rows nor (search) their badges are
        # read; a category page reads the live promotions for its banners all the same.
        assert served[url] == (before[url][0], before[url][1] - (2 if url == SEARCH else 1))
    assert served[SEARCH][0].count('class="product-card"') == 2
    assert 'name="csrfmiddlewaretoken"' in served[SEARCH][0]  # the header's forms, the buyer's token


def test_an_anonymous_page_rendered_for_the_page_cache_is_the_same(world, settings):
    settings.PAGE_CACHE_TTL = 0
    before = page(Client(), SEARCH)[0]
    settings.PAGE_CACHE_TTL = 600
    page(signed_in(), SEARCH)  # fills the cards
    assert page(Client(), SEARCH)[0] == before  # a page-cache miss, the cards from their cache
    assert page(Client(), SEARCH)[0] == before  # a page-cache hit


def test_a_page_with_one_stale_card_reads_that_products_row_only(world, commit, settings):
    buyer = signed_in()
    page(buyer, SEARCH)  # both cards stored
    sku = world["lamp"].skus.get()
    with commit():
        services.sku_update(sku=sku, actor=world["merchant"].owner, data={"price": "149.00"})
    settings.PAGE_CACHE_TTL = 0
    fresh = page(buyer, SEARCH)
    settings.PAGE_CACHE_TTL = 600
    with CaptureQueriesContext(connection) as queries:
        mixed = page(buyer, SEARCH)
    assert mixed == fresh  # the same HTML and queries: the lamp's row and badges read, the kettle's card cached
    rows = [q["sql"] for q in queries.captured_queries if "catalog_product" in q["sql"] and "ARRAY(" not in q["sql"]]
    assert any(f"IN ({world['lamp'].pk})" in sql for sql in rows)
    assert not any(str(world["kettle"].pk) in sql.split("IN (")[-1] for sql in rows)


def test_a_price_change_shows_on_the_next_request(world, commit):
    buyer = signed_in()
    html = page(buyer, SEARCH)[0]
    assert "199.00" in html
    assert "199.00" in stored(world["lamp"])
    sku = world["lamp"].skus.get()
    with commit():
        services.sku_update(sku=sku, actor=world["merchant"].owner, data={"price": "149.00"})
    html = page(buyer, SEARCH)[0]
    assert "149.00" in html and "199.00" not in html


def test_running_out_of_stock_shows_on_the_next_request(world, commit):
    buyer = signed_in()
    assert "Out of stock" not in page(buyer, f"/c/{world['desk'].slug}/")[0]
    assert stored(world["lamp"]) is not None
    sku = world["lamp"].skus.get()
    with commit():
        services.stock_adjust(
            merchant=world["merchant"],
            sku=sku,
            warehouse=world["warehouse"],
            on_hand=0,
            actor=world["merchant"].owner,
            reason="count",
        )
    assert stored(world["lamp"]) is None  # its generation bumped
    assert "Out of stock" in page(buyer, f"/c/{world['desk'].slug}/")[0]


def test_a_card_read_before_a_change_is_never_served_after_it(world, commit):
    """The tokens are read before the rows: a card rendered from rows older than a bump is
    stored under the tokens before it, so the next page renders the card again."""
    cards = PageCards([world["lamp"].pk])  # tokens read, as a page does before its rows
    sku = world["lamp"].skus.get()
    with commit():
        services.sku_update(sku=sku, actor=world["merchant"].owner, data={"price": "149.00"})
    cards.store({world["lamp"].pk: "<li>the card of the old price</li>"})
    assert PageCards([world["lamp"].pk]).get(world["lamp"].pk) is None


def test_cards_are_per_language(world):
    buyer = signed_in()
    page(buyer, SEARCH)
    zh = buyer.get(SEARCH, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Desk lamp" in zh
    assert "Desk lamp" in stored(world["lamp"], "zh-hans") and stored(world["lamp"], "zh-hans") != stored(world["lamp"])


def test_with_redis_down_every_card_is_rendered(world, monkeypatch):
    def down(*args, **kwargs):
        raise RedisError("down")

    buyer = signed_in()
    expected = page(buyer, SEARCH)
    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set_many", down)
    assert page(buyer, SEARCH) == expected
