"""The public shop page /shops/<slug>/: the shop's products on sale with the storefront's
filters, sorting and pagination, its rating, description and live promotions; constant query
count; 404 for a shop that is not live."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import Product
from merchants import services as merchant_services
from merchants.models import Merchant
from tests.catalog.factories import image_upload, live_merchant, product
from tests.factories import UserFactory
from tests.promotions.pages_factories import shop_promotion

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def titles(html: str) -> list[str]:
    return re.findall(r'<span class="product-title">([^<]+)</span>', html)


@pytest.fixture
def shops():
    shop, (cat,) = live_merchant()
    other, (other_cat,) = live_merchant()
    Merchant.objects.filter(pk=shop.pk).update(description="Lamps since 1998.", rating_count=4, rating_total=18)
    shop.refresh_from_db()
    lamp = product(shop, cat, title="Desk lamp", price="199.00")
    product(shop, cat, title="Floor lamp", price="350.00")
    product(shop, cat, title="Bulb", price="9.90")
    product(shop, cat, title="Draft shade", price="5.00", publish=False)
    product(other, other_cat, title="Other shop's mug", price="20.00")
    return shop, other, cat, lamp


def test_lists_only_the_shops_products_on_sale_with_its_rating_and_description(client, shops):
    shop, _other, _cat, _lamp = shops
    response = client.get(f"/shops/{shop.slug}/", **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert titles(html) == ["Bulb", "Floor lamp", "Desk lamp"]  # newest first
    assert "3 products" in html and "Lamps since 1998." in html
    assert "4.5 (4 reviews)" in html


def test_the_storefronts_filters_sorting_and_pagination_apply(client, shops, monkeypatch):
    shop, *_ = shops
    url = f"/shops/{shop.slug}/"
    assert titles(client.get(url + "?ordering=price", **EN).content.decode()) == ["Bulb", "Desk lamp", "Floor lamp"]
    assert titles(client.get(url + "?price_min=100&price_max=300", **EN).content.decode()) == ["Desk lamp"]
    # The category filter cannot widen the page to other shops.
    other_cat = Product.objects.exclude(merchant=shop).first().category_id
    assert titles(client.get(url + f"?category={other_cat}", **EN).content.decode()) == [
        "Bulb",
        "Floor lamp",
        "Desk lamp",
    ]
    monkeypatch.setattr("catalog.views.PAGE_SIZE", 2)
    first = client.get(url + "?ordering=price", **EN).content.decode()
    second = client.get(url + "?ordering=price&page=2", **EN).content.decode()
    assert (titles(first), titles(second)) == (["Bulb", "Desk lamp"], ["Floor lamp"])
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    empty = client.get(url + "?price_min=1000", **EN).content.decode()
    assert titles(empty) == [] and "No products match these filters." in empty


def test_shows_the_shops_live_promotions_only(client, shops):
    shop, other, *_ = shops
    shop_promotion(shop, live=True, name="Lamp week")
    shop_promotion(shop, live=False, name="Draft sale")
    shop_promotion(other, live=True, name="Mug days")
    html = client.get(f"/shops/{shop.slug}/", **EN).content.decode()
    assert "Lamp week" in html and "Draft sale" not in html and "Mug days" not in html


def test_costs_the_same_queries_whatever_the_number_of_products(client, shops):
    shop, _other, cat, _lamp = shops
    shop_promotion(shop, live=True, name="Lamp week")
    url = f"/shops/{shop.slug}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url, **EN)
    for i in range(6):
        product(shop, cat, title=f"Extra {i}", price="12.00")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, **EN)
    assert len(titles(response.content.decode())) == 9
    assert len(many) == len(few)


def test_a_shop_that_is_not_live_is_not_found(client, shops):
    shop, *_ = shops
    assert client.get("/shops/no-such-shop/").status_code == 404
    merchant_services.merchant_suspend(merchant=shop, actor=UserFactory(is_staff=True), reason="Fake goods")
    assert client.get(f"/shops/{shop.slug}/").status_code == 404
    # The logo route still answers for itself (not swallowed by the page's include).
    assert client.get(f"/shops/{shop.slug}/logo/").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "buyer", "other_merchant", "owner", "staff"])
def test_everyone_sees_a_live_shops_page(client, shops, who):
    shop, other, *_ = shops
    user = {
        "anonymous": None,
        "buyer": UserFactory(),
        "other_merchant": other.owner,
        "owner": shop.owner,
        "staff": UserFactory(is_staff=True, is_superuser=True),
    }[who]
    if user is not None:
        client.force_login(user)
    assert client.get(f"/shops/{shop.slug}/").status_code == 200
    assert client.post(f"/shops/{shop.slug}/").status_code == 405


def test_a_new_product_appears_once_published(client, shops):
    shop, _other, cat, _lamp = shops
    item = product(shop, cat, title="Wall lamp", publish=False)
    assert "Wall lamp" not in client.get(f"/shops/{shop.slug}/").content.decode()
    services.product_image_add(product=item, actor=shop.owner, uploaded=image_upload())
    services.product_submit(product=item, actor=shop.owner)
    services.product_approve(product=item, actor=UserFactory(is_staff=True))
    assert "Wall lamp" in client.get(f"/shops/{shop.slug}/").content.decode()
