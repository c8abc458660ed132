"""Promotions in the storefront: banners on the home and category pages, badges on product cards
and pages, the promotions' own pages (grade A shops first, grade D never in a platform
promotion), constant query counts, and the cached pages a promotion makes stale."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import views as catalog_views
from catalog.models import Product
from merchants.models import Merchant
from promotions import selectors, services
from promotions.models import Promotion
from promotions.pagecache import promotion_windows_pages_invalidate
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category
from tests.promotions.pages_factories import platform_promotion, shop_promotion

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def badges(html: str) -> list[str]:
    return re.findall(r'<a class="promo-badge" href="/promotions/\d+/">([^<]+)</a>', html)


def banners(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", b).strip()
        for b in re.findall(r'<a class="promo-banner"[^>]*><strong>([^<]+)</strong>', html)
    ]


@pytest.fixture
def tree():
    home = make_category("Home")
    lighting = make_category("Lighting", parent=home)
    kitchen = make_category("Kitchen", parent=home)
    return {"home": home, "lighting": lighting, "kitchen": kitchen}


@pytest.fixture
def shop(tree):
    merchant, _ = live_merchant(categories=[tree["home"]])
    Merchant.objects.filter(pk=merchant.pk).update(live_since=timezone.now() - datetime.timedelta(days=60))
    return merchant


def test_badges_on_cards_and_the_product_page(client, tree, shop):
    lamp = product(shop, tree["lighting"], title="Desk lamp", price="199.00")
    kettle = product(shop, tree["kitchen"], title="Kettle", price="88.00")
    shop_promotion(shop, live=True, scope="products", product_ids=[lamp.pk], priority=5)
    platform_promotion(live=True, percent=Decimal("15"))
    shop_promotion(shop, live=True, benefit_type="fixed_amount", amount=Decimal("10"), steps=[], name="Draft only")
    Promotion.objects.filter(name="Draft only").update(status="paused")

    page = client.get(f"/p/{lamp.pk}/", **EN).content.decode()
    assert badges(page) == ["¥20 off orders from ¥200 ¥40 off orders from ¥300", "15% off (pay 8.5/10)"]
    assert badges(client.get(f"/p/{kettle.pk}/", **EN).content.decode()) == ["15% off (pay 8.5/10)"]
    search = client.get("/search/?ordering=price", **EN).content.decode()
    assert badges(search) == [
        "15% off (pay 8.5/10)",
        "¥20 off orders from ¥200 ¥40 off orders from ¥300",
        "15% off (pay 8.5/10)",
    ]


def test_grade_d_shops_never_join_platform_promotions_and_grade_a_come_first(client, tree):
    shops = {}
    for grade in "BAD":
        merchant, _ = live_merchant(categories=[tree["home"]])
        Merchant.objects.filter(pk=merchant.pk).update(credit_grade=grade)
        shops[grade] = merchant
        product(merchant, tree["lighting"], title=f"Lamp {grade}")
    promotion = platform_promotion(live=True)
    page = client.get(f"/promotions/{promotion.pk}/", **EN).content.decode()
    assert re.findall(r'<span class="product-title">([^<]+)</span>', page) == ["Lamp A", "Lamp B"]
    assert "2 products" in page
    grade_d = client.get(f"/c/{tree['lighting'].slug}/?ordering=price", **EN).content.decode()
    cards = re.findall(r'<li class="product-card">(.*?)</li>', grade_d, re.S)
    titles = {re.search(r'product-title">([^<]+)<', c).group(1): badges(c) for c in cards}
    assert titles == {"Lamp B": ["15% off (pay 8.5/10)"], "Lamp A": ["15% off (pay 8.5/10)"], "Lamp D": []}


def test_banners_on_home_and_the_category_pages_they_cover(client, tree, shop):
    product(shop, tree["lighting"])
    platform_promotion(live=True, name="Double 12", priority=1)
    platform_promotion(
        live=True, name="Lights week", scope="categories", category_ids=[tree["lighting"].pk], priority=9
    )
    shop_promotion(shop, live=True, name="Shop days")
    platform_promotion(name="Not yet live")
    assert banners(client.get("/", **EN).content.decode()) == ["Lights week", "Double 12"]
    assert banners(client.get(f"/c/{tree['lighting'].slug}/", **EN).content.decode()) == ["Lights week", "Double 12"]
    assert banners(client.get(f"/c/{tree['kitchen'].slug}/", **EN).content.decode()) == ["Double 12"]


def test_category_banners_from_the_pages_live_promotions_are_those_of_their_own_query(tree, shop):
    platform_promotion(live=True, name="Double 12", priority=1)
    platform_promotion(live=True, name="Home week", scope="categories", category_ids=[tree["home"].pk], priority=3)
    platform_promotion(
        live=True, name="Lights week", scope="categories", category_ids=[tree["lighting"].pk], priority=9
    )
    shop_promotion(shop, live=True, name="Shop lamps", scope="categories", category_ids=[tree["lighting"].pk])
    shop_promotion(shop, live=True, name="Shop days")
    platform_promotion(name="Not yet live", scope="categories", category_ids=[tree["lighting"].pk])
    spent = platform_promotion(live=True, name="Spent", budget_amount=Decimal("10"))
    Promotion.objects.filter(pk=spent.pk).update(budget_spent=Decimal("10"))
    live = selectors.promotion_list_shown()
    names = {}
    for name, path in {
        "lighting": [tree["home"], tree["lighting"]],
        "kitchen": [tree["home"], tree["kitchen"]],
        "home": [tree["home"]],
    }.items():
        shared = selectors.promotion_banners_category(path, live=live)
        own = selectors.promotion_banners_category(path)
        assert [(p.pk, p.steps.all()[:]) for p in shared] == [(p.pk, p.steps.all()[:]) for p in own]
        names[name] = [p.name for p in shared]
    assert names == {
        "lighting": ["Lights week", "Home week", "Double 12", "Shop lamps"],
        "kitchen": ["Home week", "Double 12"],
        "home": ["Home week", "Double 12"],
    }


def test_the_promotion_pages_show_only_live_promotions(client, tree, shop):
    item = product(shop, tree["lighting"], title="Desk lamp")
    live = shop_promotion(shop, live=True, name="Live one", scope="products", product_ids=[item.pk])
    draft = shop_promotion(shop, name="Draft one")
    ended = shop_promotion(shop, live=True, name="Ended one")
    services.promotion_end(promotion=ended, actor=shop.owner)
    exhausted = shop_promotion(shop, live=True, name="Spent", budget_amount=Decimal("10"))
    Promotion.objects.filter(pk=exhausted.pk).update(budget_spent=Decimal("10"))
    listing = client.get("/promotions/", **EN).content.decode()
    assert banners(listing) == ["Live one"]
    page = client.get(f"/promotions/{live.pk}/", **EN).content.decode()
    assert re.findall(r'<span class="product-title">([^<]+)</span>', page) == ["Desk lamp"]
    for hidden in (draft, ended, exhausted):
        assert client.get(f"/promotions/{hidden.pk}/", **EN).status_code == 404


def test_empty_states(client):
    assert "No promotion is running right now." in client.get("/promotions/", **EN).content.decode()
    promotion = platform_promotion(live=True)
    assert (
        "No product of this promotion is on sale right now."
        in client.get(f"/promotions/{promotion.pk}/", **EN).content.decode()
    )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # As tests/catalog counts them (6, 5, 5) plus, with live promotions: their steps and
        # categories, the chosen products among the page's, and the category tree for the
        # promotion that chooses categories. The category page reads the live promotions once
        # for its banners and badges (they had a query and its steps' each).
        ("category", 9),
        ("search", 9),
        ("home", 10),
        # the promotion with its steps, products and categories; the count and the page's
        # ids, the page's rows with their first pictures; the badges' five
        ("promotion", 11),
    ],
)
def test_pages_with_promotions_cost_the_same_queries_for_1_and_30_products(
    client, tree, shop, monkeypatch, page, expected
):
    monkeypatch.setattr(catalog_views, "PAGE_SIZE", 30)
    first = product(shop, tree["lighting"], title="Desk lamp")
    Product.objects.filter(pk=first.pk).update(is_featured=True)
    chosen = shop_promotion(shop, live=True, scope="products", product_ids=[first.pk])
    platform_promotion(live=True, scope="categories", category_ids=[tree["home"].pk])
    platform_promotion(
        live=True, name="All", benefit_type="spend_and_save", percent=None, steps=[(Decimal("99"), Decimal("9"))]
    )
    url = {
        "category": f"/c/{tree['home'].slug}/",
        "search": "/search/",
        "home": "/",
        "promotion": f"/promotions/{chosen.pk}/",
    }[page]
    one = _queries(client, url)
    for _ in range(29):
        item = product(shop, tree["lighting"], title="Desk lamp")
        Product.objects.filter(pk=item.pk).update(is_featured=True)
        chosen.products.add(item)
    assert Product.objects.count() == 30
    many = _queries(client, url)
    assert (one, many) == (expected, expected)


# --- The page cache ---------------------------------------------------------------------------


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _hit(client, url) -> bool:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries) == 0


@pytest.fixture
def world(tree, shop, commit):
    # The shop is past its new-shop boost and nothing is featured: home shows no product.
    with commit():
        lamp = product(shop, tree["lighting"], title="Desk lamp")
        kettle = product(shop, tree["kitchen"], title="Kettle")
        other, _ = live_merchant(categories=[tree["home"]])
        Merchant.objects.filter(pk=other.pk).update(live_since=timezone.now() - datetime.timedelta(days=60))
        cup = product(other, tree["kitchen"], title="Cup")
    return {"lamp": lamp, "kettle": kettle, "cup": cup, "other": other}


def _pages(tree, world) -> dict[str, str]:
    return {
        "home": "/",
        "search": "/search/",
        "root": f"/c/{tree['home'].slug}/",
        "lighting": f"/c/{tree['lighting'].slug}/",
        "kitchen": f"/c/{tree['kitchen'].slug}/",
        "lamp": f"/p/{world['lamp'].pk}/",
        "kettle": f"/p/{world['kettle'].pk}/",
        "cup": f"/p/{world['cup'].pk}/",
        "promotions": "/promotions/",
    }


def _warm(client, urls) -> None:
    for url in urls.values():
        client.get(url)
    assert all(_hit(client, url) for url in urls.values())


def _stale(client, urls) -> set[str]:
    return {name for name, url in urls.items() if not _hit(client, url)}


@pytest.mark.page_cache
def test_a_product_promotion_makes_stale_exactly_the_pages_it_shows_on(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    promotion = shop_promotion(shop, scope="products", product_ids=[world["lamp"].pk])
    _warm(client, urls)
    with commit():
        promotion = services.promotion_publish(promotion=promotion, actor=shop.owner)
    # The lamp's page, the lists and its categories up to the root; not the kettle, the cup,
    # the kitchen or the home page (a shop promotion has no home banner).
    assert _stale(client, urls) == {"lamp", "search", "lighting", "root", "promotions"}
    with commit():
        services.promotion_pause(promotion=promotion, actor=shop.owner)
    assert _stale(client, urls) == {"lamp", "search", "lighting", "root", "promotions"}
    assert badges(client.get(urls["lamp"], **EN).content.decode()) == []


@pytest.mark.page_cache
def test_a_shop_promotion_makes_stale_that_shops_pages_only(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    promotion = shop_promotion(shop)
    _warm(client, urls)
    with commit():
        services.promotion_publish(promotion=promotion, actor=shop.owner)
    assert _stale(client, urls) == {"lamp", "kettle", "search", "lighting", "kitchen", "root", "promotions"}


@pytest.mark.page_cache
def test_a_category_promotion_makes_stale_its_categories_and_home(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    promotion = platform_promotion(scope="categories", category_ids=[tree["kitchen"].pk])
    _warm(client, urls)
    with commit():
        services.promotion_activate(promotion=promotion, actor=UserFactory(is_staff=True))
    assert _stale(client, urls) == {"kettle", "cup", "search", "kitchen", "root", "home", "promotions"}
    assert banners(client.get(urls["kitchen"], **EN).content.decode()) == ["Spring sale"]


@pytest.mark.page_cache
def test_a_platform_wide_promotion_makes_every_page_stale(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    promotion = platform_promotion()
    _warm(client, urls)
    with commit():
        services.promotion_activate(promotion=promotion, actor=UserFactory(is_staff=True))
    assert _stale(client, urls) == set(urls)


@pytest.mark.page_cache
def test_editing_a_draft_makes_nothing_stale(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    promotion = shop_promotion(shop)
    _warm(client, urls)
    data = {name: getattr(promotion, name) for name in services.PROMOTION_FIELDS}
    with commit():
        services.promotion_update(promotion=promotion, actor=shop.owner, data={**data, "steps": [(100, 5)]})
    assert _stale(client, urls) == set()


@pytest.mark.page_cache
def test_the_clock_starting_or_ending_a_window_makes_its_pages_stale(client, tree, shop, world, commit):
    urls = _pages(tree, world)
    now = timezone.now()
    shop_promotion(
        shop,
        live=True,
        scope="products",
        product_ids=[world["kettle"].pk],
        starts_at=now + datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(days=1),
    )
    with commit():
        promotion_windows_pages_invalidate(now=now)  # the bookmark
    _warm(client, urls)
    assert badges(client.get(urls["kettle"], **EN).content.decode()) == []
    with commit():
        assert promotion_windows_pages_invalidate(now=now + datetime.timedelta(minutes=1)) == 0
    assert _stale(client, urls) == set()
    with commit():
        assert promotion_windows_pages_invalidate(now=now + datetime.timedelta(minutes=6)) == 1
    assert _stale(client, urls) == {"kettle", "search", "kitchen", "root", "promotions"}
