"""Public catalog API: categories, product list with the storefront's filters, product
detail; only products on sale; a constant number of queries per page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from catalog import services
from catalog.filters import ProductPaginator
from catalog.models import Category, Product, Tag
from catalog.services import StockLine
from merchants import services as merchant_services
from merchants.models import Merchant
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category as make_category

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/catalog/products/"


@pytest.fixture
def tree():
    home = make_category("Home")
    lighting = make_category("Lighting", parent=home)
    desk = make_category("Desk lamps", parent=lighting)
    kitchen = make_category("Kitchen", parent=home)
    return {"home": home, "lighting": lighting, "desk": desk, "kitchen": kitchen}


@pytest.fixture
def shop(tree):
    merchant, _ = live_merchant(categories=[tree["home"]])
    return merchant


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_categories_are_a_flat_list_of_active_categories_without_rates(api_client, tree):
    closed = make_category("Closed", parent=tree["home"])
    Category.objects.filter(pk=closed.pk).update(is_active=False)
    Category.objects.filter(pk=tree["kitchen"].pk).update(position=1)

    response = api_client.get("/api/v1/catalog/categories/")

    assert response.status_code == 200
    home, lighting, desk, kitchen = (tree[k] for k in ("home", "lighting", "desk", "kitchen"))
    assert response.json() == [
        {"id": desk.pk, "name": "Desk lamps", "slug": desk.slug, "parent": lighting.pk, "position": 0},
        {"id": home.pk, "name": "Home", "slug": home.slug, "parent": None, "position": 0},
        {"id": lighting.pk, "name": "Lighting", "slug": lighting.slug, "parent": home.pk, "position": 0},
        {"id": kitchen.pk, "name": "Kitchen", "slug": kitchen.slug, "parent": home.pk, "position": 1},
    ]


def test_product_detail_has_the_exact_shape(api_client, tree, shop):
    tag = Tag.objects.create(name="护眼", slug="eye-care")
    item = product(
        shop,
        tree["desk"],
        title="LED 护眼台灯",
        description="Three brightness levels.",
        tag_ids=[tag.pk],
        skus=[
            {"code": "L-W", "price": "199.00", "attributes": {"colour": "white"}},
            {"code": "L-B", "price": "249.50", "attributes": {"colour": "black"}},
            {"code": "L-G", "price": "229.00", "attributes": {"colour": "grey"}},
        ],
    )
    white, black, grey = (item.skus.get(code=c) for c in ("L-W", "L-B", "L-G"))
    depot = warehouse()
    services.stock_receive(merchant=white.merchant, sku=white, warehouse=depot, quantity=20, actor=None)
    services.stock_receive(merchant=black.merchant, sku=black, warehouse=depot, quantity=4, actor=None)
    services.stock_reserve(lines=[StockLine(black.pk, depot.pk, 1)], reference="order-1")
    image = item.images.get()

    response = api_client.get(f"{PRODUCTS}{item.pk}/")

    assert response.status_code == 200
    base = f"http://testserver/images/products/{image.pk}"
    assert response.json() == {
        "id": item.pk,
        "title": "LED 护眼台灯",
        "description": "Three brightness levels.",
        "price": "199.00",
        "price_max": "249.50",
        "in_stock": True,
        "shop": {"slug": shop.slug, "name": "Bright Home"},
        "category": {"id": tree["desk"].pk, "name": "Desk lamps", "slug": tree["desk"].slug},
        "tags": [{"id": tag.pk, "name": "护眼", "slug": "eye-care"}],
        "images": [{"id": image.pk, "small": f"{base}/small/", "medium": f"{base}/medium/", "full": f"{base}/full/"}],
        "skus": [
            {
                "id": white.pk,
                "attributes": {"colour": "white"},
                "price": "199.00",
                "available": True,
                "stock": "in_stock",
                "left": None,
            },
            {
                "id": grey.pk,
                "attributes": {"colour": "grey"},
                "price": "229.00",
                "available": False,
                "stock": "out_of_stock",
                "left": None,
            },
            {
                "id": black.pk,
                "attributes": {"colour": "black"},
                "price": "249.50",
                "available": True,
                "stock": "low",
                "left": 3,
            },
        ],
        "rating_average": None,
        "rating_count": 0,
        "published_at": serializers.DateTimeField().to_representation(item.published_at),
    }


def test_product_list_rows_have_the_exact_shape(api_client, tree, shop):
    item = product(shop, tree["desk"], title="Desk lamp", price="88.80")
    image = item.images.get()

    response = api_client.get(PRODUCTS)

    assert response.status_code == 200
    base = f"http://testserver/images/products/{image.pk}"
    assert response.json() == {
        "count": 1,
        "count_exact": True,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": item.pk,
                "title": "Desk lamp",
                "price": "88.80",
                "in_stock": False,
                "shop": {"slug": shop.slug, "name": "Bright Home"},
                "category": {"id": tree["desk"].pk, "name": "Desk lamps", "slug": tree["desk"].slug},
                "image": {
                    "id": image.pk,
                    "small": f"{base}/small/",
                    "medium": f"{base}/medium/",
                    "full": f"{base}/full/",
                },
                "rating_average": None,
                "rating_count": 0,
                "published_at": serializers.DateTimeField().to_representation(item.published_at),
            }
        ],
    }


def test_list_filters(api_client, tree, shop):
    other, _ = live_merchant(categories=[tree["home"]])
    eco = Tag.objects.create(name="Eco", slug="eco")
    gift = Tag.objects.create(name="Gift", slug="gift")
    lamp = product(shop, tree["desk"], title="LED 护眼台灯", price="120.00", tag_ids=[eco.pk, gift.pk])
    light = product(shop, tree["lighting"], title="Ceiling light", price="600.00", tag_ids=[eco.pk])
    wok = product(other, tree["kitchen"], title="Iron wok", price="45.00")
    services.stock_receive(
        merchant=wok.skus.get().merchant, sku=wok.skus.get(), warehouse=warehouse(), quantity=1, actor=None
    )

    assert ids(api_client.get(PRODUCTS, {"category": tree["lighting"].pk})) == [light.pk, lamp.pk]
    assert ids(api_client.get(PRODUCTS, {"merchant": other.pk})) == [wok.pk]
    assert ids(api_client.get(PRODUCTS, {"price_min": "45", "price_max": "120"})) == [wok.pk, lamp.pk]
    assert ids(api_client.get(f"{PRODUCTS}?tag=eco&tag={gift.pk}")) == [lamp.pk]
    assert ids(api_client.get(PRODUCTS, {"in_stock": "true"})) == [wok.pk]
    assert ids(api_client.get(PRODUCTS, {"q": "台灯"})) == [lamp.pk]
    assert ids(api_client.get(PRODUCTS, {"q": "light"})) == [light.pk]
    assert ids(api_client.get(PRODUCTS, {"ordering": "price"})) == [wok.pk, lamp.pk, light.pk]
    assert ids(api_client.get(PRODUCTS, {"ordering": "-price"})) == [light.pk, lamp.pk, wok.pk]
    assert ids(api_client.get(PRODUCTS, {"ordering": "newest"})) == [wok.pk, light.pk, lamp.pk]


def test_pages_and_a_page_out_of_range(api_client, tree, shop):
    made = [product(shop, tree["desk"]) for _ in range(3)]
    first = api_client.get(PRODUCTS, {"page_size": 2})
    assert (ids(first), first.json()["count"]) == ([made[2].pk, made[1].pk], 3)
    assert first.json()["next"] == "http://testserver/api/v1/catalog/products/?page=2&page_size=2"
    second = api_client.get(PRODUCTS, {"page_size": 2, "page": 2})
    assert (ids(second), second.json()["count"], second.json()["next"]) == ([made[0].pk], 3, None)
    assert ids(api_client.get(PRODUCTS, {"page_size": 2, "page": "last"})) == [made[0].pk]
    response = api_client.get(PRODUCTS, {"page_size": 2, "page": 3})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_count_is_exact_up_to_a_bound_and_says_so(api_client, tree, shop, monkeypatch):
    monkeypatch.setattr(ProductPaginator, "count_bound", 2)
    made = [product(shop, tree["desk"]) for _ in range(4)]
    pages = [api_client.get(PRODUCTS, {"page_size": 1, "page": n}).json() for n in (1, 2, 3, 4)]
    assert [
        ([row["id"] for row in p["results"]], p["count"], p["count_exact"], p["next"] is not None) for p in pages
    ] == [
        ([made[3].pk], 2, False, True),  # more than 2
        ([made[2].pk], 2, False, True),
        ([made[1].pk], 3, False, True),  # more than the end of page 3
        ([made[0].pk], 4, True, False),
    ]
    everything = api_client.get(PRODUCTS, {"page_size": 10}).json()
    assert (everything["count"], everything["count_exact"], everything["next"]) == (4, True, None)


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", str(2**31)])
def test_a_page_number_whose_offset_does_not_fit_postgresql_is_not_found(api_client, tree, shop, page):
    # The offset (page - 1) × size must not reach PostgreSQL's bigint range (a 500 before).
    product(shop, tree["desk"])
    response = api_client.get(PRODUCTS, {"page": page})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_new_shops_come_first(api_client, tree, shop):
    veteran, _ = live_merchant(categories=[tree["home"]])
    Merchant.objects.filter(pk=veteran.pk).update(live_since=timezone.now() - timedelta(days=31))
    old = product(veteran, tree["desk"], price="1.00")
    new = product(shop, tree["desk"], price="999.00")
    assert ids(api_client.get(PRODUCTS, {"ordering": "price"})) == [new.pk, old.pk]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"price_min": "cheap"}, ["price_min"]),
        ({"ordering": "popular"}, ["ordering"]),
        ({"category": "0"}, ["category"]),
        ({"merchant": "99999999999"}, ["merchant"]),
        ({"tag": [f"t{i}" for i in range(11)]}, ["tag"]),
        # PostgreSQL refuses NUL characters in text: refused as input, not a 500.
        ({"tag": "\x00"}, ["tag"]),
        ({"tag": ["lamp", "a\x00b"]}, ["tag"]),
    ],
)
def test_invalid_filters_answer_400(api_client, params, fields):
    response = api_client.get(PRODUCTS, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert sorted(body["extra"]["fields"]) == fields


def test_products_not_on_sale_are_not_listed_and_not_found(api_client, tree, shop):
    reviewer = UserFactory(is_staff=True)
    draft = product(shop, tree["desk"], publish=False)
    rejected = product(shop, tree["desk"], publish=False)
    services.product_image_add(product=rejected, actor=shop.owner, uploaded=image_upload(color=(4, 5, 6)))
    services.product_submit(product=rejected, actor=shop.owner)
    services.product_reject(product=rejected, actor=reviewer, reason="Blurry picture")
    withdrawn = product(shop, tree["desk"])
    services.product_withdraw(product=withdrawn, actor=shop.owner)
    suspended_shop, _ = live_merchant(categories=[tree["home"]])
    of_suspended = product(suspended_shop, tree["desk"])
    merchant_services.merchant_suspend(merchant=suspended_shop, actor=reviewer, reason="Fake shipping")
    on_sale = product(shop, tree["desk"])

    assert ids(api_client.get(PRODUCTS)) == [on_sale.pk]
    for hidden in (draft, rejected, withdrawn, of_suspended):
        response = api_client.get(f"{PRODUCTS}{hidden.pk}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api_client.get(f"{PRODUCTS}999999/").status_code == 404


@pytest.mark.parametrize("user", ["anonymous", "buyer", "merchant", "staff"])
def test_anyone_may_read_and_nobody_may_write(api_client, tree, shop, user):
    item = product(shop, tree["desk"])
    who = {"anonymous": None, "buyer": UserFactory(), "merchant": shop.owner, "staff": UserFactory(is_staff=True)}
    if who[user]:
        api_client.force_authenticate(who[user])
    assert api_client.get(PRODUCTS).status_code == 200
    assert api_client.get(f"{PRODUCTS}{item.pk}/").status_code == 200
    assert api_client.get("/api/v1/catalog/categories/").status_code == 200
    title = item.title
    assert api_client.post(PRODUCTS, {"title": "x"}).status_code == 405
    assert api_client.patch(f"{PRODUCTS}{item.pk}/", {"title": "x"}).status_code == 405
    assert api_client.delete(f"{PRODUCTS}{item.pk}/").status_code == 405
    item.refresh_from_db()
    assert item.title == title


def _queries(api_client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("", 2),  # the count and the page's ids, the page's rows with their first pictures
        ("&category={category}&q=lamp&in_stock=0&ordering=-price", 3),  # and the category tree
    ],
)
def test_list_costs_the_same_queries_for_1_and_50_products(api_client, tree, shop, params, expected):
    url = f"{PRODUCTS}?page_size=50" + params.format(category=tree["home"].pk)
    product(shop, tree["desk"], title="Desk lamp")
    one = _queries(api_client, url)
    for _ in range(49):
        product(shop, tree["desk"], title="Desk lamp")
    response = api_client.get(url)
    assert len(response.json()["results"]) == 50
    assert (one, _queries(api_client, url)) == (expected, expected)


def test_schema_documents_the_public_catalog(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    paths = schema["paths"]
    assert {"/api/v1/catalog/categories/", "/api/v1/catalog/products/", "/api/v1/catalog/products/{id}/"} <= set(paths)
    parameters = {p["name"] for p in paths["/api/v1/catalog/products/"]["get"]["parameters"]}
    assert parameters == {
        "category",
        "merchant",
        "price_min",
        "price_max",
        "tag",
        "in_stock",
        "q",
        "ordering",
        "page",
        "page_size",
    }
    # 401 for a wrong token (anyone may browse, but a token sent is checked), 429 for throttling.
    assert set(paths["/api/v1/catalog/products/{id}/"]["get"]["responses"]) == {"200", "401", "404", "429"}
    assert paths["/api/v1/catalog/products/{id}/"]["get"]["security"] == [
        {"tokenAuth": []},
        {"cookieAuth": []},
        {},
    ]
    # The count is bounded: the schema says so and documents the flag that tells.
    page = paths["/api/v1/catalog/products/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert "count_exact" in page["required"]
    assert page["properties"]["count_exact"]["type"] == "boolean"
    assert f"counted up to {ProductPaginator.count_bound}" in page["properties"]["count"]["description"]


@pytest.mark.parametrize("value", ["maybe", "-58800", "yes", "on"])
def test_a_yes_no_filter_refuses_a_value_that_is_neither(api_client, tree, shop, value):
    # Found by Schemathesis: an unreadable value used to mean "any", silently listing everything.
    product(shop, tree["desk"])
    response = api_client.get(PRODUCTS, {"in_stock": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["extra"] == {"fields": {"in_stock": ["Enter true or false."]}}


def test_a_yes_no_filter_reads_true_false_1_0_and_nothing(api_client, tree, shop):
    empty = product(shop, tree["desk"], title="Empty lamp")
    stocked = product(shop, tree["desk"], title="Stocked lamp")
    services.stock_receive(sku=stocked.skus.get(), warehouse=warehouse(), quantity=1, actor=None, merchant=shop)
    for value, expected in [
        ("true", [stocked.pk]),
        ("1", [stocked.pk]),
        ("false", [empty.pk]),
        ("0", [empty.pk]),
        ("", [stocked.pk, empty.pk]),
    ]:
        assert ids(api_client.get(PRODUCTS, {"in_stock": value, "ordering": "newest"})) == expected, value


def test_the_list_rows_direct_path_answers_the_same_bytes_as_drfs_field_by_field_path(
    api_client, tree, shop, monkeypatch
):
    """ProductListSerializer builds its rows directly: the JSON is byte for byte what DRF's
    generic path answered, for products with and without a picture, in and out of stock, of
    two categories, in English and Chinese."""
    from catalog.api.serializers_public import ProductListSerializer

    product(shop, tree["desk"], title="Desk lamp", price="88.80")
    kettle = product(shop, tree["kitchen"], title="电水壶 “Kettle” <b>&</b>", price="1234.50")
    kettle.images.all().delete()
    # Seven reviews summing 30 stars: 4.2857… shown as 4.3 (half up, as the pages).
    Product.objects.filter(pk=kettle.pk).update(rating_count=7, rating_total=30)
    where = warehouse()
    services.stock_receive(merchant=shop, sku=kettle.skus.get(), warehouse=where, quantity=3, actor=None)
    urls = [PRODUCTS, f"{PRODUCTS}?ordering=price&page_size=1", f"{PRODUCTS}?q=nothing-matches"]
    languages = ["en", "zh-hans"]
    direct = [api_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content for url in urls for lang in languages]
    monkeypatch.setattr(ProductListSerializer, "to_representation", serializers.ModelSerializer.to_representation)
    generic = [api_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content for url in urls for lang in languages]
    assert direct == generic
    rows = {row["title"]: row for row in api_client.get(PRODUCTS).json()["results"]}
    assert rows["电水壶 “Kettle” <b>&</b>"]["image"] is None
    assert rows["电水壶 “Kettle” <b>&</b>"]["price"] == "1234.50"
    assert (rows["电水壶 “Kettle” <b>&</b>"]["rating_average"], rows["电水壶 “Kettle” <b>&</b>"]["rating_count"]) == (
        "4.3",
        7,
    )
    assert (rows["Desk lamp"]["rating_average"], rows["Desk lamp"]["rating_count"]) == (None, 0)


class _CompiledPathSpy:
    """Records whether each list request was answered by the compiled path
    (catalog.api.public_list) or left to the generic one."""

    def __init__(self, monkeypatch):
        import catalog.api.public as public

        self.answered: list[bool] = []
        self._monkeypatch, self._public, self._real = monkeypatch, public, public.unfiltered_page
        monkeypatch.setattr(public, "unfiltered_page", self._spy)

    def _spy(self, pagination, request):
        rows = self._real(pagination, request)
        self.answered.append(rows is not None)
        return rows

    def generic_only(self):
        """From now on every request takes DRF's generic path, with its field-by-field rows."""
        from catalog.api.serializers_public import ProductListSerializer

        self._monkeypatch.setattr(self._public.PublicProductViewSet, "compiled_reads", False)
        self._monkeypatch.setattr(
            ProductListSerializer, "to_representation", serializers.ModelSerializer.to_representation
        )


def test_the_compiled_list_answers_the_same_bytes_as_the_generic_path(api_client, tree, shop, monkeypatch):
    """A page without filters is read by statements compiled once and its rows built from plain
    values: byte for byte what the generic path (the filterset, the paginator, DRF's
    field-by-field serializer) answers, for every ordering, page and page size, new and old
    shops, a shop without a shop name, rows with and without a picture, a rating, in English
    and Chinese."""
    veteran, _ = live_merchant(categories=[tree["home"]])
    Merchant.objects.filter(pk=veteran.pk).update(live_since=timezone.now() - timedelta(days=31), shop_name="")
    product(shop, tree["desk"], title="Desk lamp", price="88.80")
    kettle = product(shop, tree["kitchen"], title="电水壶 “Kettle” <b>&</b>", price="1234.50")
    kettle.images.all().delete()
    Product.objects.filter(pk=kettle.pk).update(rating_count=7, rating_total=30)
    services.stock_receive(merchant=shop, sku=kettle.skus.get(), warehouse=warehouse(), quantity=3, actor=None)
    old = product(veteran, tree["lighting"], title="Old lamp", price="1.00")
    Product.objects.filter(pk=old.pk).update(rating_count=2, rating_total=9)  # 4.5: half up
    product(veteran, tree["desk"], title="Old desk", price="1000000.00")
    urls = [
        PRODUCTS,
        f"{PRODUCTS}?ordering=price",
        f"{PRODUCTS}?ordering=-price",
        f"{PRODUCTS}?ordering=newest",
        f"{PRODUCTS}?ordering=relevance",
        f"{PRODUCTS}?page_size=3",
        f"{PRODUCTS}?page_size=3&page=2&ordering=price",
        f"{PRODUCTS}?page=1&page_size=100&utm_source=x",
        f"{PRODUCTS}?page_size=500",
    ]
    languages = ["en", "zh-hans"]
    spy = _CompiledPathSpy(monkeypatch)

    compiled = [api_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content for url in urls for lang in languages]
    assert spy.answered == [True] * len(urls) * len(languages)
    spy.generic_only()
    generic = [api_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content for url in urls for lang in languages]

    assert compiled == generic
    page = api_client.get(f"{PRODUCTS}?page_size=3&page=2&ordering=price").json()
    assert (page["count"], page["count_exact"], [row["title"] for row in page["results"]]) == (
        4,
        True,
        ["Old desk"],  # after the new shop's two
    )
    assert page["previous"] == "http://testserver/api/v1/catalog/products/?ordering=price&page_size=3"
    rows = {row["title"]: row for row in api_client.get(PRODUCTS).json()["results"]}
    assert (rows["Old lamp"]["rating_average"], rows["Old lamp"]["shop"]["name"]) == ("4.5", veteran.company_name)


def test_the_compiled_list_of_an_empty_catalogue_is_the_generic_one(api_client, monkeypatch):
    spy = _CompiledPathSpy(monkeypatch)
    with CaptureQueriesContext(connection) as captured:
        compiled = api_client.get(PRODUCTS)
    queries = len(captured)  # the next request clears the connection's log
    spy.generic_only()
    generic = api_client.get(PRODUCTS)
    assert (spy.answered, queries, compiled.content) == ([True], 1, generic.content)
    assert compiled.json() == {"count": 0, "count_exact": True, "next": None, "previous": None, "results": []}


def test_the_compiled_list_boosts_new_shops_as_of_each_request(api_client, tree, shop, monkeypatch):
    """The statement is compiled once, the moment from which a shop counts as new is each
    request's own: a month later the same statement no longer puts the shop first."""
    veteran, _ = live_merchant(categories=[tree["home"]])
    Merchant.objects.filter(pk=veteran.pk).update(live_since=timezone.now() - timedelta(days=31))
    old = product(veteran, tree["desk"], price="1.00")
    new = product(shop, tree["desk"], price="999.00")
    spy = _CompiledPathSpy(monkeypatch)
    assert ids(api_client.get(PRODUCTS, {"ordering": "price"})) == [new.pk, old.pk]

    later = timezone.now() + timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert ids(api_client.get(PRODUCTS, {"ordering": "price"})) == [old.pk, new.pk]
    assert spy.answered == [True, True]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?in_stock=1", 200),  # a filter
        ("?category={category}", 200),
        ("?ordering=", 200),
        ("?ordering=popular", 400),
        ("?page=last&page_size=1", 200),
        ("?page=0", 404),
        ("?page=2", 404),  # past the end
        ("?page=241&page_size=1", 404),  # past the counted range
        ("?format=api", 200),  # the browsable API
    ],
)
def test_what_the_compiled_list_leaves_to_the_generic_path(api_client, tree, shop, monkeypatch, query, status):
    product(shop, tree["desk"])
    spy = _CompiledPathSpy(monkeypatch)
    url = PRODUCTS + query.format(category=tree["home"].pk)
    compiled = api_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    spy.generic_only()
    generic = api_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    if query == "?format=api":  # not even asked; its page embeds the request's own CSRF token
        assert (compiled.status_code, spy.answered) == (status, [])
    else:
        assert (compiled.status_code, spy.answered, compiled.content) == (status, [False], generic.content)


@pytest.mark.parametrize("size", ["0", "abc", "-1"])
def test_a_bad_page_size_is_refused_by_the_compiled_list_as_by_the_generic_one(api_client, monkeypatch, size):
    spy = _CompiledPathSpy(monkeypatch)
    compiled = api_client.get(PRODUCTS, {"page_size": size}, HTTP_ACCEPT_LANGUAGE="en")
    spy.generic_only()
    generic = api_client.get(PRODUCTS, {"page_size": size}, HTTP_ACCEPT_LANGUAGE="en")
    assert (compiled.status_code, compiled.json()["code"]) == (400, "validation_error")
    assert compiled.content == generic.content


def test_the_compiled_lists_statements_carry_their_values_as_parameters(api_client, tree, shop, monkeypatch):
    """So psycopg prepares them and PostgreSQL plans each once per connection (written into
    the SQL, the count-and-ids statement was parsed and planned on every request)."""
    product(shop, tree["desk"])
    spy = _CompiledPathSpy(monkeypatch)
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert api_client.get(PRODUCTS).status_code == 200
    assert spy.answered == [True]
    (ids_sql, ids_params), (rows_sql, rows_params) = sent
    assert (ids_sql.count("%s"), len(ids_params)) == (len(ids_params), len(ids_params))
    assert sum(isinstance(value, datetime) for value in ids_params) == 2  # the boost moment, twice
    assert str(timezone.now().year) not in ids_sql
    assert rows_sql.count("%s") == len(rows_params)


def test_filtered_pages_rows_read_by_id_answer_the_same_bytes_as_the_generic_path(api_client, tree, shop, monkeypatch):
    """With filters the count and ids are the generic statement's, the rows are read by id
    from the unfiltered list (compiled once) and built from plain values: byte for byte what
    DRF's generic path answers, for every filter, keyword searches, orderings and pages."""
    other, _ = live_merchant(categories=[tree["home"]])
    Merchant.objects.filter(pk=other.pk).update(live_since=timezone.now() - timedelta(days=31))
    eco = Tag.objects.create(name="Eco", slug="eco")
    gift = Tag.objects.create(name="Gift", slug="gift")
    lamp = product(shop, tree["desk"], title="LED 护眼台灯", price="120.00", tag_ids=[eco.pk, gift.pk])
    product(shop, tree["lighting"], title="Ceiling light", price="600.00", tag_ids=[eco.pk])
    wok = product(other, tree["kitchen"], title="Iron wok 台灯", price="45.00")
    wok.images.all().delete()
    Product.objects.filter(pk=lamp.pk).update(rating_count=3, rating_total=13)
    services.stock_receive(
        merchant=wok.skus.get().merchant, sku=wok.skus.get(), warehouse=warehouse(), quantity=1, actor=None
    )
    queries = [
        {"category": tree["lighting"].pk},
        {"merchant": other.pk},
        {"price_min": "45", "price_max": "120", "ordering": "price"},
        {"tag": ["eco", str(gift.pk)]},
        {"in_stock": "true"},
        {"q": "台灯"},
        {"q": "台灯", "ordering": "-price", "page_size": 1, "page": 2},
        {"q": "light", "ordering": "relevance"},
        {"q": "nothing-matches"},
        {"category": tree["home"].pk, "page_size": 2, "page": "last"},
    ]
    languages = ["en", "zh-hans"]
    compiled = [api_client.get(PRODUCTS, query, HTTP_ACCEPT_LANGUAGE=lang) for query in queries for lang in languages]
    _CompiledPathSpy(monkeypatch).generic_only()
    generic = [api_client.get(PRODUCTS, query, HTTP_ACCEPT_LANGUAGE=lang) for query in queries for lang in languages]

    assert [r.status_code for r in compiled] == [200] * len(compiled)
    assert [r.content for r in compiled] == [r.content for r in generic]
    assert [row["title"] for row in compiled[12].json()["results"]] == ["Iron wok 台灯"]  # after the new shop's
    found = {row["title"]: (row["rating_average"], row["image"] is None) for row in compiled[10].json()["results"]}
    assert found == {"LED 护眼台灯": ("4.3", False), "Iron wok 台灯": (None, True)}
