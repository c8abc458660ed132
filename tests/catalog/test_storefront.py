"""Storefront pages: filters and orderings, search, visibility, product page, pictures,
and a constant number of queries per list page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services, views
from catalog.filters import ProductPaginator
from catalog.models import Product, ProductImage, Tag
from catalog.services import StockLine
from merchants import services as merchant_services
from merchants.models import Merchant
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def tree():
    """home › lighting › desk lamps, and kitchen beside lighting."""
    home = make_category("Home")
    lighting = make_category("Lighting", parent=home)
    desk = make_category("Desk lamps", parent=lighting)
    kitchen = make_category("Kitchen", parent=home)
    return {"home": home, "lighting": lighting, "desk": desk, "kitchen": kitchen}


@pytest.fixture
def shop(tree):
    merchant, _ = live_merchant(categories=[tree["home"]])
    return merchant


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [p.pk for p in response.context["page"].object_list]


def age(merchant, days: int) -> None:
    """Make the merchant live for `days` already (past the new-shop boost after 30)."""
    Merchant.objects.filter(pk=merchant.pk).update(live_since=timezone.now() - timedelta(days=days))


def stock(sku, quantity: int, *, reserved: int = 0, where=None) -> None:
    where = where or warehouse()
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=where, quantity=quantity, actor=None)
    if reserved:
        services.stock_reserve(lines=[StockLine(sku.pk, where.pk, reserved)], reference="order-1")


# --- Filters ---------------------------------------------------------------------------


def test_category_filter_includes_every_descendant(client, tree, shop):
    in_home = product(shop, tree["home"], title="Vase")
    in_lighting = product(shop, tree["lighting"], title="Ceiling light")
    in_desk = product(shop, tree["desk"], title="Desk lamp")
    in_kitchen = product(shop, tree["kitchen"], title="Wok")

    assert listed(client.get("/search/", {"category": tree["lighting"].pk})) == [in_desk.pk, in_lighting.pk]
    assert listed(client.get("/search/", {"category": tree["desk"].pk})) == [in_desk.pk]
    assert listed(client.get(f"/c/{tree['home'].slug}/")) == [in_kitchen.pk, in_desk.pk, in_lighting.pk, in_home.pk]
    assert listed(client.get(f"/c/{tree['kitchen'].slug}/")) == [in_kitchen.pk]


def test_category_page_ignores_a_category_in_the_query_string(client, tree, shop):
    product(shop, tree["kitchen"], title="Wok")
    lamp = product(shop, tree["desk"], title="Desk lamp")
    assert listed(client.get(f"/c/{tree['lighting'].slug}/", {"category": tree["kitchen"].pk})) == [lamp.pk]


def test_merchant_filter(client, tree, shop):
    other, _ = live_merchant(categories=[tree["home"]])
    mine = product(shop, tree["desk"])
    theirs = product(other, tree["desk"])
    assert listed(client.get("/search/", {"merchant": shop.pk})) == [mine.pk]
    assert listed(client.get("/search/", {"merchant": other.pk})) == [theirs.pk]


def test_price_range_filters_on_the_lowest_price_inclusive(client, tree, shop):
    cheap = product(shop, tree["desk"], price="49.99")
    edge = product(shop, tree["desk"], price="50.00")
    # Its lowest SKU price (80) counts, not the dearer SKU.
    mixed = product(
        shop,
        tree["desk"],
        skus=[{"code": "M-1", "price": "80.00"}, {"code": "M-2", "price": "900.00"}],
    )
    dear = product(shop, tree["desk"], price="500.01")

    assert listed(client.get("/search/", {"price_min": "50", "price_max": "500"})) == [mixed.pk, edge.pk]
    assert listed(client.get("/search/", {"price_max": "50"})) == [edge.pk, cheap.pk]
    assert listed(client.get("/search/", {"price_min": "500.01"})) == [dear.pk]


def test_tag_filter_by_slug_or_id_and_every_tag_must_match(client, tree, shop):
    eco = Tag.objects.create(name="环保", slug="eco")
    gift = Tag.objects.create(name="Gift", slug="gift")
    both = product(shop, tree["desk"], title="Bamboo lamp", tag_ids=[eco.pk, gift.pk])
    eco_only = product(shop, tree["desk"], title="Recycled lamp", tag_ids=[eco.pk])
    product(shop, tree["desk"], title="Plain lamp")

    assert listed(client.get("/search/", {"tag": "eco"})) == [eco_only.pk, both.pk]
    assert listed(client.get("/search/", {"tag": str(eco.pk)})) == [eco_only.pk, both.pk]
    assert listed(client.get("/search/?tag=eco&tag=gift")) == [both.pk]
    assert listed(client.get(f"/search/?tag=gift&tag={eco.pk}")) == [both.pk]
    assert listed(client.get("/search/", {"tag": "no-such-tag"})) == []


def test_in_stock_filter_counts_only_available_units_of_active_skus(client, tree, shop):
    stocked = product(shop, tree["desk"], title="Stocked")
    stock(stocked.skus.get(), 3)
    reserved = product(shop, tree["desk"], title="All reserved")
    stock(reserved.skus.get(), 2, reserved=2)
    inactive = product(shop, tree["desk"], title="Inactive SKU stocked")
    inactive_sku = services.sku_create(product=inactive, actor=shop.owner, data={"code": "OFF-1", "price": "9.00"})
    stock(inactive_sku, 5)
    services.sku_update(sku=inactive_sku, actor=shop.owner, data={"is_active": False})
    empty = product(shop, tree["desk"], title="Never stocked")

    assert listed(client.get("/search/", {"in_stock": "1"})) == [stocked.pk]
    assert listed(client.get("/search/", {"in_stock": "true"})) == [stocked.pk]
    assert listed(client.get("/search/", {"in_stock": "0"})) == [empty.pk, inactive.pk, reserved.pk]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["b", "c", "a"]),
        ("-price", ["a", "c", "b"]),
        ("newest", ["c", "b", "a"]),
        ("", ["c", "b", "a"]),  # newest by default without keywords
    ],
)
def test_orderings(client, tree, shop, ordering, expected):
    made = {
        "a": product(shop, tree["desk"], price="300.00"),
        "b": product(shop, tree["desk"], price="100.00"),
        "c": product(shop, tree["desk"], price="200.00"),
    }
    names = {p.pk: n for n, p in made.items()}
    assert [names[i] for i in listed(client.get("/search/", {"ordering": ordering}))] == expected


@pytest.mark.parametrize("ordering", ["price", "-price", "newest", "relevance"])
def test_new_shops_come_first_in_every_ordering_then_ties_by_id(client, tree, ordering):
    veteran, _ = live_merchant(categories=[tree["home"]])
    newcomer, _ = live_merchant(categories=[tree["home"]])
    age(veteran, 31)
    old_cheap = product(veteran, tree["desk"], title="Desk lamp", price="10.00")
    new_dear = product(newcomer, tree["desk"], title="Desk lamp", price="900.00")
    new_dear_too = product(newcomer, tree["desk"], title="Desk lamp", price="900.00")
    old_cheap_too = product(veteran, tree["desk"], title="Desk lamp", price="10.00")

    # Same price, same words: the id decides, highest first, every time.
    assert listed(client.get("/search/", {"q": "lamp", "ordering": ordering})) == [
        new_dear_too.pk,
        new_dear.pk,
        old_cheap_too.pk,
        old_cheap.pk,
    ]


def test_pages_do_not_overlap(client, tree, shop, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [product(shop, tree["desk"], price="10.00") for _ in range(5)]
    pages = [listed(client.get("/search/", {"ordering": "price", "page": n})) for n in (1, 2, 3)]
    assert pages == [[made[4].pk, made[3].pk], [made[2].pk, made[1].pk], [made[0].pk]]


def test_past_the_count_bound_pages_say_more_than_and_still_list_every_product_once(client, tree, monkeypatch):
    # The count stops at the bound (or the end of the page asked for): nothing counts or
    # sorts every match. New shops' products and the others' are read as two parts.
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(ProductPaginator, "count_bound", 3)
    veteran, _ = live_merchant(categories=[tree["home"]])
    newcomer, _ = live_merchant(categories=[tree["home"]])
    age(veteran, 31)
    old = [product(veteran, tree["desk"]) for _ in range(3)]
    new = [product(newcomer, tree["desk"]) for _ in range(2)]
    expected = [new[1].pk, new[0].pk, old[2].pk, old[1].pk, old[0].pk]  # new shops first, then newest

    pages = [client.get("/search/", {"page": n}, **EN) for n in (1, 2, 3)]

    assert [listed(page) for page in pages] == [expected[0:2], expected[2:4], expected[4:]]
    assert [(p.context["page"].paginator.count, p.context["page"].paginator.count_exact) for p in pages] == [
        (3, False),  # more than 3 (the bound)
        (4, False),  # more than the end of page 2
        (5, True),
    ]
    html = [page.content.decode() for page in pages]
    assert "More than 3 products" in html[0]
    assert "Page 1 of more than 1" in html[0]
    assert 'rel="next" href="?page=2"' in html[0]
    assert "Page 2 of more than 2" in html[1]
    assert 'rel="next" href="?page=3"' in html[1]
    assert "5 products" in html[2]
    assert "Page 3 of 3" in html[2]
    assert 'rel="next"' not in html[2]
    # Within the bound the count is exact, as before.
    monkeypatch.setattr(ProductPaginator, "count_bound", 5)
    first = client.get("/search/", {"page": 1}, **EN)
    assert (first.context["page"].paginator.count, first.context["page"].paginator.count_exact) == (5, True)
    assert "Page 1 of 3" in first.content.decode()


def test_page_numbers_out_of_range_show_the_nearest_page(client, tree, shop, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [product(shop, tree["desk"]) for _ in range(3)]
    assert listed(client.get("/search/", {"page": "99"})) == [made[0].pk]
    assert listed(client.get("/search/", {"page": "0"})) == [made[0].pk]
    assert listed(client.get("/search/", {"page": "abc"})) == [made[2].pk, made[1].pk]
    response = client.get("/search/", {"q": "沙发", "page": "3"})
    assert listed(response) == []
    assert response.context["page"].paginator.count == 0


@pytest.mark.parametrize("listing", ["search", "category"])
@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", str(2**31)])
def test_a_page_number_whose_offset_does_not_fit_postgresql_shows_the_last_page(client, tree, shop, listing, page):
    # (page - 1) × size beyond PostgreSQL's bigint answered 500 before.
    lamp = product(shop, tree["desk"])
    url = "/search/" if listing == "search" else f"/c/{tree['desk'].slug}/"
    assert listed(client.get(url, {"page": page})) == [lamp.pk]


@pytest.mark.parametrize("listing", ["search", "category"])
@pytest.mark.parametrize("tags", ["\x00", ["a\x00b"]])
def test_a_tag_with_a_nul_character_is_ignored_like_any_invalid_filter(client, tree, shop, listing, tags):
    # PostgreSQL refuses NUL characters in text: the filter is invalid, not a 500.
    lamp = product(shop, tree["desk"])
    url = "/search/" if listing == "search" else f"/c/{tree['desk'].slug}/"
    assert listed(client.get(url, {"tag": tags})) == [lamp.pk]


def test_invalid_filters_are_ignored_and_shown_on_the_page(client, tree, shop):
    lamp = product(shop, tree["desk"])
    response = client.get("/search/", {"price_min": "abc", "ordering": "cheapest", "category": "99999999999"}, **EN)
    assert listed(response) == [lamp.pk]
    assert "Enter prices as numbers, e.g. 99.50." in response.content.decode()


def test_filter_forms_share_their_class_but_never_their_fields_or_values(tree, shop):
    from catalog.filters import ProductFilter

    bad = ProductFilter({"price_min": "abc", "ordering": "price"})
    good = ProductFilter({"price_min": "5"})
    assert type(bad.form) is type(good.form)
    assert bad.form.fields["price_min"] is not good.form.fields["price_min"]
    assert list(bad.form.errors) == ["price_min"]
    assert good.form.errors == {}
    assert (bad.form.cleaned_data["ordering"], good.form.cleaned_data["ordering"]) == ("price", "")


# --- Search ----------------------------------------------------------------------------


@pytest.fixture
def lamps(tree, shop):
    return {
        "led": product(shop, tree["lighting"], title="LED 护眼台灯"),
        "pendant": product(shop, tree["lighting"], title="北欧吊灯"),
        "desk": product(shop, tree["desk"], title="Desk lamp", description="Warm light"),
        "wok": product(shop, tree["kitchen"], title="Iron wok 铁锅"),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("台灯", ["led"]),
        ("灯", ["pendant", "led"]),
        ("护眼 台灯", ["led"]),
        ("lamp", ["desk"]),
        ("LAMP", ["desk"]),
        ("lam", ["desk"]),  # words match as prefixes
        ("warm", ["desk"]),  # the description is searched too
        ("lamps", ["desk"]),  # its category, "Desk lamps", is searched too
        ("铁锅 wok", ["wok"]),
        ("沙发", []),
    ],
)
def test_search_in_chinese_and_english(client, lamps, q, expected):
    names = {p.pk: n for n, p in lamps.items()}
    assert [names[i] for i in listed(client.get("/search/", {"q": q}))] == expected


def test_search_ranks_by_relevance_by_default(client, tree, shop):
    often = product(shop, tree["kitchen"], title="Lamp oil", description="For an oil lamp or a storm lamp")
    once = product(shop, tree["kitchen"], title="Desk lamp")
    assert listed(client.get("/search/", {"q": "lamp"})) == [often.pk, once.pk]
    assert listed(client.get("/search/", {"q": "lamp", "ordering": "newest"})) == [once.pk, often.pk]


def test_search_statements_leave_postgresql_no_generic_plan_blind_to_the_keywords(client, lamps):
    """Prepared statements (psycopg's prepare_threshold) get a generic plan that cannot see
    the keywords nor the price range: the count and ids statement carries its values in its
    SQL, and the page's rows are read by id only (the search page's regression, issue #12)."""
    stock(lamps["led"].skus.get(), 3)
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    url = "/search/?q=台灯&price_min=50&price_max=500&in_stock=1&ordering=price"
    with connection.execute_wrapper(record):
        first = listed(client.get(url))
    ids_statement = [(sql, params) for sql, params in sent if "SELECT COUNT(*)" in sql]
    assert len(ids_statement) == 1
    sql, params = ids_statement[0]
    assert params is None
    assert "'台灯'" in sql
    assert ">= 50" in sql
    rows = [sql for sql, _params in sent if '"catalog_product"."title"' in sql]
    assert len(rows) == 1
    assert "@@" not in rows[0]
    assert '"min_price" >=' not in rows[0]
    assert first == [lamps["led"].pk]


def test_search_page_shows_the_count_and_an_empty_state(client, lamps):
    html = client.get("/search/", {"q": "灯"}, **EN).content.decode()
    assert "2 products" in html
    assert "Results for “灯”" in html
    html = client.get("/search/", {"q": "沙发"}, **EN).content.decode()
    assert "0 products" in html
    assert "Nothing matches your search. Try other words or fewer filters." in html


def test_search_without_keywords_lists_every_product(client, lamps):
    assert len(listed(client.get("/search/"))) == 4


def test_pagination_keeps_the_filters(client, tree, shop, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    product(shop, tree["desk"], title="Desk lamp")
    product(shop, tree["desk"], title="Desk lamp")
    html = client.get("/search/", {"q": "lamp", "in_stock": "0"}).content.decode()
    assert 'href="?q=lamp&amp;in_stock=0&amp;page=2"' in html


# --- What buyers never see -------------------------------------------------------------


@pytest.fixture
def hidden(tree, shop):
    """One product in each state buyers must not see, plus one on sale."""
    reviewer = UserFactory(is_staff=True)
    draft = product(shop, tree["desk"], title="Draft lamp", publish=False)
    submitted = product(shop, tree["desk"], title="Submitted lamp", publish=False)
    services.product_image_add(product=submitted, actor=shop.owner, uploaded=image_upload(color=(1, 2, 3)))
    services.product_submit(product=submitted, actor=shop.owner)
    rejected = product(shop, tree["desk"], title="Rejected lamp", publish=False)
    services.product_image_add(product=rejected, actor=shop.owner, uploaded=image_upload(color=(4, 5, 6)))
    services.product_submit(product=rejected, actor=shop.owner)
    services.product_reject(product=rejected, actor=reviewer, reason="Blurry picture")
    withdrawn = product(shop, tree["desk"], title="Withdrawn lamp")
    services.product_withdraw(product=withdrawn, actor=shop.owner)
    suspended_shop, _ = live_merchant(categories=[tree["home"]])
    of_suspended = product(suspended_shop, tree["desk"], title="Suspended shop lamp")
    merchant_services.merchant_suspend(merchant=suspended_shop, actor=reviewer, reason="Fake shipping")
    on_sale = product(shop, tree["desk"], title="Desk lamp on sale")
    return {
        "draft": draft,
        "submitted": submitted,
        "rejected": rejected,
        "withdrawn": withdrawn,
        "suspended": of_suspended,
        "on_sale": on_sale,
    }


def test_products_not_on_sale_are_never_listed(client, tree, hidden):
    on_sale = [hidden["on_sale"].pk]
    assert listed(client.get("/search/")) == on_sale
    assert listed(client.get("/search/", {"q": "lamp"})) == on_sale
    assert listed(client.get(f"/c/{tree['desk'].slug}/")) == on_sale
    assert [p.pk for p in client.get("/").context["featured"]] == on_sale


@pytest.mark.parametrize("state", ["draft", "submitted", "rejected", "withdrawn", "suspended"])
def test_products_not_on_sale_have_no_page_and_no_pictures(client, hidden, state):
    item = hidden[state]
    assert client.get(f"/p/{item.pk}/").status_code == 404
    images = list(ProductImage.objects.filter(product=item))
    assert len(images) == (0 if state == "draft" else 1)
    for image in images:
        for size in ("small", "medium", "full"):
            assert client.get(f"/images/products/{image.pk}/{size}/").status_code == 404


def test_a_picture_waiting_for_review_is_not_served(client, tree, shop):
    item = product(shop, tree["desk"])
    waiting = services.product_image_add(product=item, actor=shop.owner, uploaded=image_upload(color=(9, 9, 9)))
    assert waiting.is_live is False
    assert client.get(f"/images/products/{waiting.pk}/full/").status_code == 404
    live = item.images.get(is_live=True)
    assert client.get(f"/images/products/{live.pk}/full/").status_code == 200


def test_unknown_pages_are_not_found(client):
    assert client.get("/p/999999/").status_code == 404
    assert client.get("/p/99999999999999999999/").status_code == 404
    assert client.get("/c/no-such-category/").status_code == 404
    assert client.get("/images/products/1/huge/").status_code == 404


# --- Pictures --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "field"), [("small", "thumb_small"), ("medium", "thumb_medium"), ("full", "image")])
def test_pictures_are_served_in_three_sizes_with_cache_headers(client, tree, shop, size, field):
    image = product(shop, tree["desk"]).images.get()
    response = client.get(f"/images/products/{image.pk}/{size}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"
    with getattr(image, field).open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


# --- Product page ----------------------------------------------------------------------


def test_product_page_shows_pictures_prices_skus_stock_shop_and_tags(client, tree, shop):
    tag = Tag.objects.create(name="护眼", slug="eye-care")
    item = product(
        shop,
        tree["desk"],
        title="LED 护眼台灯",
        description="Three brightness levels.",
        tag_ids=[tag.pk],
        skus=[
            {"code": "L-W", "price": "199.00", "attributes": {"colour": "white", "size": "S"}},
            {"code": "L-B", "price": "249.50", "attributes": {"colour": "black", "size": "L"}},
            {"code": "L-G", "price": "229.00", "attributes": {"colour": "grey"}},
            {"code": "L-R", "price": "219.00", "attributes": {"colour": "red"}},
        ],
    )
    second = services.product_image_add(product=item, actor=shop.owner, uploaded=image_upload(color=(0, 90, 0)))
    services.revision_approve(revision=item.revisions.get(), actor=UserFactory(is_staff=True))
    white, black, grey = (item.skus.get(code=c) for c in ("L-W", "L-B", "L-G"))  # L-R: no stock row
    depot = warehouse()
    stock(white, 6, where=depot)  # above the threshold of 5
    stock(black, 4, reserved=1, where=depot)  # 3 available
    stock(black, 2)  # and 2 more elsewhere: 5 in all
    stock(grey, 1, reserved=1, where=depot)  # all reserved
    services.sku_create(product=item, actor=shop.owner, data={"code": "L-X", "price": "1.00", "is_active": False})

    response = client.get(f"/p/{item.pk}/", **EN)
    html = response.content.decode()
    assert response.status_code == 200
    first = item.images.get(position=0)
    assert f'src="/images/products/{first.pk}/medium/"' in html
    assert f'src="/images/products/{first.pk}/small/"' in html
    assert f'src="/images/products/{second.pk}/small/"' in html
    assert "¥199.00 – ¥249.50" in html
    assert f'href="/shops/{shop.slug}/"' in html
    assert 'href="/search/?tag=eye-care"' in html
    assert "Three brightness levels." in html
    assert [(s.code, s.stock_level, s.available) for s in response.context["product"].active_skus] == [
        ("L-W", "in_stock", 6),
        ("L-R", "out_of_stock", 0),
        ("L-G", "out_of_stock", 0),
        ("L-B", "low", 5),
    ]
    assert "colour: white" in html
    assert "size: L" in html
    assert "In stock" in html
    assert "Only 5 left" in html
    assert html.count("Out of stock") == 2
    assert html.count(" disabled>") == 2
    assert "L-X" not in html


# --- Home ------------------------------------------------------------------------------


def test_home_lists_top_categories_and_featured_products(client, tree, shop):
    closed = make_category("Closed")
    closed.is_active = False
    closed.save()
    featured = product(shop, tree["desk"], title="Featured lamp")
    Product.objects.filter(pk=featured.pk).update(is_featured=True)
    age(shop, 40)  # no longer a new shop: only the featured flag puts products on the home page
    product(shop, tree["desk"], title="Ordinary lamp")

    response = client.get("/", **EN)
    html = response.content.decode()
    assert [p.pk for p in response.context["featured"]] == [featured.pk]
    assert f'href="/c/{tree["home"].slug}/"' in html
    assert f'href="/c/{tree["lighting"].slug}/"' in html
    assert "Closed" not in html
    assert 'action="/search/"' in html


def test_home_without_products_shows_the_empty_state(client):
    html = client.get("/", **EN).content.decode()
    assert "The catalogue is being stocked" in html


def test_category_page_shows_breadcrumb_and_subcategories(client, tree, shop):
    html = client.get(f"/c/{tree['lighting'].slug}/", **EN).content.decode()
    assert f'<a href="/c/{tree["home"].slug}/">Home</a>' in html
    assert '<span aria-current="page">Lighting</span>' in html
    assert f'href="/c/{tree["desk"].slug}/">Desk lamps</a>' in html
    assert "No products match these filters." in html


# --- Queries ---------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # the category table (the category, its path, subcategories, the categories below
        # it), tags, the count and the page's ids, the page's rows with their first pictures,
        # the live promotions for the banners and the badges (none here: tests/promotions)
        ("category", 5),
        # categories for the filter, tags, the count and the page's ids, the page's rows with
        # their first pictures, live promotions for the badges
        ("search", 5),
        # category tree, featured ids, their rows with their first pictures, live promotions
        # for the badges, promotion banners
        ("home", 5),
    ],
)
def test_list_pages_cost_the_same_queries_for_1_and_50_products(client, tree, shop, monkeypatch, page, expected):
    monkeypatch.setattr(views, "PAGE_SIZE", 50)
    Tag.objects.create(name="Gift", slug="gift")
    url = {"category": f"/c/{tree['home'].slug}/?ordering=-price", "search": "/search/?q=lamp", "home": "/"}[page]
    product(shop, tree["desk"], title="Desk lamp")
    one = _queries(client, url)
    for _ in range(49):
        product(shop, tree["desk"], title="Desk lamp")
    assert Product.objects.count() == 50
    fifty = _queries(client, url)
    assert (one, fifty) == (expected, expected)


def test_the_category_page_reads_the_tree_once_as_the_four_category_selectors_would(tree, django_assert_num_queries):
    from catalog import selectors

    closed_middle = make_category("Closed middle", parent=tree["home"])
    below_closed = make_category("Below the closed one", parent=closed_middle)
    closed_leaf = make_category("Closed leaf", parent=tree["lighting"])
    for closed in (closed_middle, closed_leaf):
        closed.is_active = False
        closed.save()

    for category in [tree["home"], tree["lighting"], tree["desk"], below_closed]:
        with django_assert_num_queries(1):
            page = selectors.category_page(category.slug)
        assert page.category == selectors.category_get_by_slug(category.slug)
        assert page.path == selectors.category_path(category)
        assert page.children == list(selectors.category_children(category))
        assert page.listed_ids == selectors.category_descendant_ids([category.pk])
    # The products of a closed subcategory are still listed under an open ancestor, as before.
    assert {closed_middle.pk, below_closed.pk, closed_leaf.pk} <= selectors.category_page(tree["home"].slug).listed_ids
    assert selectors.category_page(below_closed.slug).path == [tree["home"], below_closed]
    assert selectors.category_page(closed_middle.slug) is None
    assert selectors.category_page("no-such-category") is None


def test_a_list_pages_statement_is_compiled_once_per_filters_and_reads_the_new_shop_window_each_time(
    client, tree, monkeypatch
):
    # ProductPaginator keeps the compiled count-and-ids statement by the page's filters
    # (ProductFilter.statement_key); only the new-shop window's start is put in anew.
    monkeypatch.setattr(ProductPaginator, "_statements", {})
    compiled = []
    compile_statement = ProductPaginator._compile

    def counting(queryset, limit, stop):
        compiled.append((limit, stop))
        return compile_statement(queryset, limit, stop)

    monkeypatch.setattr(ProductPaginator, "_compile", staticmethod(counting))
    veteran, _ = live_merchant(categories=[tree["home"]])
    newcomer, _ = live_merchant(categories=[tree["home"]])
    age(veteran, 31)
    lamp = product(veteran, tree["desk"], price="10.00")
    kettle = product(newcomer, tree["kitchen"], price="20.00")

    assert listed(client.get("/search/", {"ordering": "price"})) == [kettle.pk, lamp.pk]  # new shop first
    assert listed(client.get("/search/", {"ordering": "price"})) == [kettle.pk, lamp.pk]
    assert len(compiled) == 1
    # The newcomer leaves the new-shop window: the same statement, the window read again.
    age(newcomer, 31)
    assert listed(client.get("/search/", {"ordering": "price"})) == [lamp.pk, kettle.pk]
    assert len(compiled) == 1
    # Other filters, a category page and a category filter: a statement each, right answers.
    assert listed(client.get("/search/", {"ordering": "price", "price_min": "15"})) == [kettle.pk]
    assert listed(client.get(f"/c/{tree['lighting'].slug}/")) == [lamp.pk]
    assert listed(client.get(f"/c/{tree['lighting'].slug}/")) == [lamp.pk]
    assert listed(client.get("/search/", {"category": tree["kitchen"].pk})) == [kettle.pk]
    assert len(compiled) == 4
    # The tree changes under a category filter: another statement (its categories differ),
    # which lists the product of the new subcategory.
    kettles = make_category("Kettles", parent=tree["kitchen"])
    Product.objects.filter(pk=lamp.pk).update(category=kettles)
    assert listed(client.get("/search/", {"category": tree["kitchen"].pk})) == [kettle.pk, lamp.pk]
    assert len(compiled) == 5


def test_the_search_pages_category_menu_marks_the_filtered_category_only(client, tree, shop):
    product(shop, tree["desk"])
    html = client.get("/search/", {"category": tree["lighting"].pk}, **EN).content.decode()
    assert f'<option value="{tree["lighting"].pk}" selected>Home › Lighting</option>' in html
    assert html.count(" selected>") == 3  # the category, the sort order and the language
    unfiltered = client.get("/search/", **EN).content.decode()
    assert unfiltered.count(" selected>") == 2  # the sort order and the language
