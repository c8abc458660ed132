"""The cart page's promotion breakdown (orders.views.cart with orders.selectors.cart_pricing):
the promotions applied, each line's discount, each shop's discount and waived shipping, the
total saved, for buyers and anonymous visitors alike; nothing shown without a promotion."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services as order_services
from orders.models import ShippingRate
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.orders.test_cart import stocked_sku
from tests.promotions.pages_factories import platform_promotion, shop_promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def web():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _summary(html: str) -> list[tuple[str, str]]:
    aside = re.search(r'<aside class="card cart-total".*?</aside>', html, re.S).group(0)
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", aside, re.S)
    return [(re.sub(r"<[^>]+>", "", a).strip(), re.sub(r"<[^>]+>", "", b).strip()) for a, b in pairs]


def test_the_cart_shows_what_each_promotion_gives(web):
    merchant, (category,) = live_merchant()
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("8.00"), free_over=None)
    lamp = stocked_sku(price="150.00", merchant=merchant, category=category)
    bulb = stocked_sku(price="30.00", merchant=merchant, category=category)
    shop_promotion(merchant, live=True, name="Shop steps")  # ≥200 −20, ≥300 −40
    platform_promotion(live=True, name="Platform 10 %", percent=Decimal("10"))
    buyer = UserFactory()
    web.force_login(buyer)
    order_services.cart_add(buyer=buyer, sku_id=lamp.pk, quantity=2)  # 300.00
    order_services.cart_add(buyer=buyer, sku_id=bulb.pk, quantity=1)  # 30.00
    html = web.get(reverse("orders:cart")).content.decode()
    # The shop's ≥300 step (−40), then 10 % of what is left (330 − 40 = 290 → −29): −69.
    assert _summary(html) == [
        ("Goods", "¥330.00"),
        ("Promotions", "−¥69.00"),
        ("Shipping", "¥8.00"),
        ("To pay", "¥269.00"),
    ]
    assert "You save ¥69.00" in html
    section = re.search(r'<section class="cart-promotions".*?</section>', html, re.S).group(0)
    applied = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", section, re.S)
    ]
    assert applied == ["Shop steps −¥40.00", "Platform 10 % −¥29.00"]
    lines = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).strip()
        for m in re.findall(r'<span class="promo-line">(.*?)</span>\s*</div>', html, re.S)
    ]
    # −40 spread 300:30 (−36.36, −3.64); 10 % of the rest (263.64, 26.36): −26.36, −2.64.
    assert lines == ["Shop steps Platform 10 % −¥62.72", "Shop steps Platform 10 % −¥6.28"]


def test_free_shipping_and_anonymous_carts(web):
    merchant, (category,) = live_merchant()
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("12.00"), free_over=None)
    sku = stocked_sku(price="50.00", merchant=merchant, category=category)
    shop_promotion(merchant, live=True, name="Ships free", benefit_type="free_shipping", steps=[])
    web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1})
    html = web.get(reverse("orders:cart")).content.decode()
    assert _summary(html) == [
        ("Goods", "¥50.00"),
        ("Promotions", "−¥0.00"),
        ("Shipping", "¥0.00"),
        ("To pay", "¥50.00"),
    ]
    assert "<s>¥12.00</s> Free" in html
    assert "You save ¥12.00" in html


def test_without_promotions_the_cart_is_as_before_and_costs_no_more_queries(web):
    merchant, (category,) = live_merchant()
    sku = stocked_sku(price="50.00", merchant=merchant, category=category)
    buyer = UserFactory()
    web.force_login(buyer)
    order_services.cart_add(buyer=buyer, sku_id=sku.pk, quantity=1)
    web.get(reverse("orders:cart"))  # warms the live-promotions index
    with CaptureQueriesContext(connection) as without:
        html = web.get(reverse("orders:cart")).content.decode()
    assert "You save" not in html
    assert [label for label, _value in _summary(html)] == ["Goods", "Shipping", "To pay"]
    shop_promotion(live_merchant()[0], live=True)  # another shop's: not this cart's
    web.get(reverse("orders:cart"))
    with CaptureQueriesContext(connection) as other_shop:
        web.get(reverse("orders:cart"))
    assert len(other_shop) == len(without)
