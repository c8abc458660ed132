"""The checkout page shows the cart's breakdown (the same fragment and selector): promotion
discounts per line, per shop and in total, waived shipping, the coupon in the box with what it
saves or why it does not apply, a gift out of stock, and the total to pay — which is what
placing the order charges. Its query count does not grow with the lines, shops or promotions."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.models import BuyerOrder, ShippingRate
from promotions import services as promotion_services
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_cart import stocked_sku
from tests.promotions.coupon_factories import coupon_promotion
from tests.promotions.pages_factories import platform_promotion, shop_promotion

pytestmark = pytest.mark.django_db


def _flat_shipping(merchant, fee="8.00"):
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal(fee), free_over=None)


def _buyer(*items):
    buyer = UserFactory()
    address_for(buyer)
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(buyer)
    for sku, quantity in items:
        web.post("/cart/add/", {"sku": sku.pk, "quantity": quantity})
    return buyer, web


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _summary(html: str) -> list[tuple[str, str]]:
    aside = re.search(r'<aside class="card cart-total".*?</aside>', html, re.S).group(0)
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", aside, re.S)
    return [(_text(a), _text(b)) for a, b in pairs]


def _shop_rows(html: str) -> list[list[str]]:
    return [
        [_text(row) for row in re.findall(r"<tr>(.*?)</tr>", foot, re.S)]
        for foot in re.findall(r"<tfoot>(.*?)</tfoot>", html, re.S)
    ]


def _place(web) -> BuyerOrder:
    form = web.get("/checkout/").context["form"]
    data = {name: form[name].value() for name in ("address", "key", "items", "coupon_code")}
    response = web.post("/checkout/", {k: v or "" for k, v in data.items()})
    assert response.status_code == 302, response.content.decode()[:2000]
    return BuyerOrder.objects.get(number=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_the_checkout_page_shows_the_carts_breakdown_and_placing_charges_it():
    merchant, (category,) = live_merchant()
    lamp = stocked_sku(price="150.00", merchant=merchant, category=category)
    bulb = stocked_sku(price="30.00", merchant=merchant, category=category)
    _flat_shipping(merchant)
    shop_promotion(merchant, live=True, name="Shop steps")  # ≥200 −20, ≥300 −40
    platform_promotion(live=True, name="Platform 10 %", percent=Decimal("10"))
    _, web = _buyer((lamp, 2), (bulb, 1))

    html = web.get("/checkout/").content.decode()

    # The shop's ≥300 step (−40), then 10 % of what is left (290 → −29): −69, as in the cart.
    assert _summary(html) == [
        ("Goods", "¥330.00"),
        ("Promotions", "−¥69.00"),
        ("Shipping", "¥8.00"),
        ("To pay", "¥269.00"),
    ]
    assert _summary(html) == _summary(web.get("/cart/").content.decode())
    assert "You save ¥69.00" in html
    section = re.search(r'<section class="cart-promotions".*?</section>', html, re.S).group(0)
    assert [_text(li) for li in re.findall(r"<li>(.*?)</li>", section, re.S)] == [
        "Shop steps −¥40.00",
        "Platform 10 % −¥29.00",
    ]
    assert [_text(m) for m in re.findall(r'<span class="promo-line">(.*?)</span>\s*\n', html, re.S)] == [
        "Shop steps Platform 10 % −¥62.72",
        "Shop steps Platform 10 % −¥6.28",
    ]
    assert _shop_rows(html) == [["Promotions −¥69.00", "Shipping ¥8.00", "Shop total ¥269.00"]]

    order = _place(web)
    assert (order.goods_total, order.discount_total, order.shipping_total, order.payable_total) == (
        Decimal("330.00"),
        Decimal("69.00"),
        Decimal("8.00"),
        Decimal("269.00"),
    )


def test_waived_shipping_is_shown_struck_through():
    merchant, (category,) = live_merchant()
    ShippingRate.objects.create(merchant=merchant, flat_fee=Decimal("12.00"), free_over=None)
    sku = stocked_sku(price="50.00", merchant=merchant, category=category)
    shop_promotion(merchant, live=True, name="Ships free", benefit_type="free_shipping", steps=[])
    _, web = _buyer((sku, 1))

    html = web.get("/checkout/").content.decode()

    assert _summary(html) == [
        ("Goods", "¥50.00"),
        ("Promotions", "−¥0.00"),
        ("Shipping", "¥0.00"),
        ("To pay", "¥50.00"),
    ]
    assert _shop_rows(html) == [["Shipping ¥12.00 Free", "Shop total ¥50.00"]]
    assert "<s>¥12.00</s> Free" in html
    assert "You save ¥12.00" in html


def test_the_coupon_in_the_box_shows_what_it_saves_or_why_it_does_not_apply():
    merchant, (category,) = live_merchant()
    big = stocked_sku(price="150.00", merchant=merchant, category=category)
    small = stocked_sku(price="100.00", merchant=merchant, category=category)
    _flat_shipping(merchant)
    buyer, web = _buyer((big, 1))
    coupon = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00"), buyer=buyer
    )

    page = web.get("/checkout/", {"coupon": coupon.code})
    html = page.content.decode()
    assert page.context["form"]["coupon_code"].value() == coupon.code
    assert "Your coupon saves ¥20.00" in html
    assert _summary(html) == [
        ("Goods", "¥150.00"),
        ("Promotions", "−¥20.00"),
        ("Shipping", "¥8.00"),
        ("To pay", "¥138.00"),
    ]

    # Another cart, below the coupon's minimum: the reason, and the breakdown without it.
    other, web = _buyer((small, 1))
    mine = promotion_services.coupon_claim(promotion=coupon.promotion, buyer=other)
    html = web.get("/checkout/", {"coupon": mine.code}).content.decode()
    assert "This coupon needs ¥120.00 of eligible items; add ¥20.00 more." in html
    assert "Your coupon saves" not in html
    assert _summary(html) == [("Goods", "¥100.00"), ("Shipping", "¥8.00"), ("To pay", "¥108.00")]
    coupon.refresh_from_db()
    assert (coupon.state, mine.state) == ("available", "available")


def test_a_gift_out_of_stock_is_told_before_placing():
    merchant, (category,) = live_merchant()
    mug = stocked_sku(price="30.00", stock=2, merchant=merchant, category=category)
    shop_promotion(merchant, live=True, name="Mug for a mug", benefit_type="gift_sku", gift_sku_id=mug.pk, steps=[])
    _, web = _buyer((mug, 2))
    html = web.get("/checkout/").content.decode()
    assert f"The gift {mug.product.title} ({mug.label}) is out of stock: an order placed now comes without it." in html


def _queries(web) -> int:
    web.get("/checkout/")  # warms the live-promotions index and the session
    with CaptureQueriesContext(connection) as queries:
        assert web.get("/checkout/").status_code == 200
    return len(queries)


def test_the_checkout_pages_queries_do_not_grow_with_lines_shops_or_promotions():
    first, (first_category,) = live_merchant()
    second, (second_category,) = live_merchant()
    skus = [stocked_sku(price=f"{60 + i}.00", merchant=first, category=first_category) for i in range(3)]
    skus += [stocked_sku(price=f"{80 + i}.00", merchant=second, category=second_category) for i in range(2)]
    shop_promotion(first, live=True, name="First steps")
    shop_promotion(second, live=True, name="Second steps")
    platform_promotion(live=True, name="Platform 10 %", percent=Decimal("10"))

    _one, small = _buyer((skus[0], 1))
    _many, large = _buyer(*((sku, 2) for sku in skus))
    counts = (_queries(small), _queries(large))

    assert counts[0] == counts[1]
    # Session and user, cart (items, SKUs, stock), addresses, coupons, the live offers, the
    # SKUs' pricing facts, the buyer's flash-sale holds (one read for the holds box and the
    # totals), the header's unread notifications (issue #16): stated here so that a change shows.
    assert counts == (EXPECTED_QUERIES, EXPECTED_QUERIES)


EXPECTED_QUERIES = 13
