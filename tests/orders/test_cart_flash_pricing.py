"""The cart page, the checkout page and the cart pricing API price the buyer's flash-sale holds
as the checkout charges them (`orders.selectors.cart_pricing` and the checkout share
`flash_holds_plan` and `FlashHold.discount`): the held units at the special price, the rest at
the normal price, no other promotion on that line; an expired hold gives nothing. Each case
compares the cart's totals with the order then placed, to the cent."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from orders import services as order_services
from orders.models import BuyerOrder, ShippingRate
from orders.services.checkout import CheckoutItem
from promotions.models import FlashReservation
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401
from tests.promotions.pages_factories import shop_promotion

pytestmark = pytest.mark.django_db
D = Decimal
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PRICING = "/api/v1/orders/cart/pricing/"


def _summary(html: str) -> list[tuple[str, str]]:
    aside = re.search(r'<aside class="card cart-total".*?</aside>', html, re.S).group(0)
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", aside, re.S)
    return [(re.sub(r"<[^>]+>", "", a).strip(), re.sub(r"<[^>]+>", "", b).strip()) for a, b in pairs]


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _shop(*, fee="8.00"):
    """A live shop charging a flat `fee` per order, a flash sale of one of its SKUs (80.00,
    30.00 in the sale, 2 per buyer) and a second SKU (250.00)."""
    sale = live_sale(price="80.00", special="30.00", quantity=5, limit=2)
    merchant = sale.sku.merchant
    ShippingRate.objects.update_or_create(merchant=merchant, defaults={"flat_fee": D(fee), "free_over": None})
    other = stocked_sku(price="250.00", merchant=merchant, category=sale.sku.product.category)
    return sale, other


def _buyer(sale, *, held: int, cart: dict):
    buyer = UserFactory()
    address_for(buyer)
    if held:
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=held)
    for sku_id, quantity in cart.items():
        order_services.cart_add(buyer=buyer, sku_id=sku_id, quantity=quantity)
    return buyer


def _shown(buyer) -> dict:
    """The totals the cart page, the checkout page and the API show the buyer, each as
    (goods, discount, shipping, to pay); they must all be the same."""
    web = Client(**EN)
    web.force_login(buyer)
    api = APIClient(**EN)
    api.force_authenticate(buyer)
    answer = api.get(PRICING).json()
    shown = {
        "api": tuple(D(answer[k]) for k in ("goods_total", "discount_total", "shipping_total", "total")),
        "api_flash": D(answer["flash_discount"]),
    }
    for name, url in (("cart", "/cart/"), ("checkout", "/checkout/")):
        page = web.get(url)
        assert page.status_code == 200
        pricing = page.context["pricing"]
        shown[name] = (
            (pricing.goods_total, pricing.discount_total, pricing.shipping_total, pricing.total) if pricing else None
        )
        shown[f"{name}_html"] = _summary(page.content.decode())
    return shown


def _place(buyer, items) -> BuyerOrder:
    order = order_services.checkout_place(
        buyer=buyer, address=buyer.addresses.get(), items=[CheckoutItem(sku.pk, qty) for sku, qty in items]
    )
    order.refresh_from_db()
    return order


def _assert_cart_is_the_order(shown: dict, order: BuyerOrder) -> None:
    totals = (order.goods_total, order.discount_total, order.shipping_total, order.payable_total)
    assert shown["api"] == totals
    for page in ("cart", "checkout"):
        if totals[1]:
            assert shown[page] == totals, page
            assert shown[f"{page}_html"] == [
                ("Goods", _yuan(totals[0])),
                ("Promotions", f"−{_yuan(totals[1])}"),
                ("Shipping", _yuan(totals[2])),
                ("To pay", _yuan(totals[3])),
            ], page
        else:
            assert shown[page] is None, page  # nothing saved: the plain cart totals
            assert shown[f"{page}_html"] == [
                ("Goods", _yuan(totals[0])),
                ("Shipping", _yuan(totals[2])),
                ("To pay", _yuan(totals[3])),
            ], page


def test_held_units_only_are_shown_at_the_special_price_as_checkout_charges_them():
    sale, _other = _shop()
    buyer = _buyer(sale, held=2, cart={sale.sku_id: 2})
    shown = _shown(buyer)
    # 2 × 80.00 = 160.00, 2 × (80.00 − 30.00) = 100.00 off, shipping 8.00: 68.00 to pay.
    assert shown["api"] == (D("160.00"), D("100.00"), D("8.00"), D("68.00"))
    assert shown["api_flash"] == D("100.00")
    order = _place(buyer, [(sale.sku, 2)])
    _assert_cart_is_the_order(shown, order)


def test_more_ordered_than_held_pays_the_normal_price_for_the_rest():
    sale, _other = _shop()
    buyer = _buyer(sale, held=1, cart={sale.sku_id: 3})
    shown = _shown(buyer)
    # 3 × 80.00 = 240.00; one held unit at 30.00: 50.00 off; 240 − 50 + 8 = 198.00.
    assert shown["api"] == (D("240.00"), D("50.00"), D("8.00"), D("198.00"))
    assert shown["api_flash"] == D("50.00")
    order = _place(buyer, [(sale.sku, 3)])
    _assert_cart_is_the_order(shown, order)
    line = order.merchant_orders.get().lines.get()
    assert (line.quantity, line.merchant_discount, line.paid) == (3, D("50.00"), D("190.00"))


def test_an_expired_hold_gives_nothing_in_the_cart_nor_at_checkout():
    sale, _other = _shop()
    buyer = _buyer(sale, held=2, cart={sale.sku_id: 2})
    FlashReservation.objects.filter(buyer=buyer).update(expires_at=timezone.now() - timedelta(seconds=1))
    shown = _shown(buyer)
    assert shown["api"] == (D("160.00"), D("0.00"), D("8.00"), D("168.00"))
    assert shown["api_flash"] == D("0.00")
    order = _place(buyer, [(sale.sku, 2)])
    _assert_cart_is_the_order(shown, order)
    assert order.discount_total == D("0.00")


def test_a_hold_and_a_shop_promotion_on_another_line():
    sale, other = _shop()
    # ≥200 −20, ≥300 −40 on the shop: the flash line does not count towards it (checkout
    # prices it apart), so 250.00 reaches the first step only (80 + 250 would reach −40).
    promotion = shop_promotion(other.merchant, live=True, name="Shop steps")
    buyer = _buyer(sale, held=1, cart={sale.sku_id: 1, other.pk: 1})
    shown = _shown(buyer)
    # Goods 330.00; flash 50.00 + shop step 20.00 = 70.00 off; 330 − 70 + 8 = 268.00.
    assert shown["api"] == (D("330.00"), D("70.00"), D("8.00"), D("268.00"))
    assert shown["api_flash"] == D("50.00")
    order = _place(buyer, [(sale.sku, 1), (other, 1)])
    _assert_cart_is_the_order(shown, order)
    lines = {line.sku_id: line for line in order.merchant_orders.get().lines.all()}
    assert (lines[sale.sku_id].merchant_discount, lines[other.pk].merchant_discount) == (D("50.00"), D("20.00"))
    assert list(lines[other.pk].discounts.values_list("promotion_id", flat=True)) == [promotion.pk]


def test_the_cart_shows_the_flash_line_and_the_hold_box_says_the_totals_include_it():
    sale, _other = _shop()
    buyer = _buyer(sale, held=1, cart={sale.sku_id: 1})
    web = Client(**EN)
    web.force_login(buyer)
    html = web.get("/cart/").content.decode()
    line = re.sub(
        r"\s+",
        " ",
        re.sub(r"<[^>]+>", " ", re.search(r'<span class="promo-line">(.*?)</span>\s*</div>', html, re.S).group(1)),
    ).strip()
    assert line == "Flash sale −¥50.00"
    assert "You save ¥50.00" in html
    assert "as the totals on this page show" in html


def _page_queries(web) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert web.get("/cart/").status_code == 200
    return len(queries)


@pytest.mark.parametrize("promoted", [False, True])
def test_the_cart_page_reads_the_holds_once_with_or_without_one(promoted):
    sale, other = _shop()
    if promoted:
        shop_promotion(other.merchant, live=True)
    cart = {sale.sku_id: 1, other.pk: 1}
    counts = []
    for held in (0, 1):
        web = Client(**EN)
        web.force_login(_buyer(sale, held=held, cart=cart))
        web.get("/cart/")  # warms the session and the live-promotions index
        counts.append(_page_queries(web))
    # The holds' query is the one the holds box always ran: the view reads the holds once for
    # the box and the pricing, so a hold costs no query more than no hold.
    assert counts[0] == counts[1]


def _api_totals(buyer) -> tuple:
    api = APIClient(**EN)
    api.force_authenticate(buyer)
    answer = api.get(PRICING).json()
    return tuple(D(answer[k]) for k in ("goods_total", "discount_total", "shipping_total", "total", "flash_discount"))


@pytest.mark.parametrize(("held", "ordered"), [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)])
def test_the_api_total_is_the_placed_orders_for_any_units_held_and_ordered(held, ordered):
    sale, _other = _shop()
    buyer = _buyer(sale, held=held, cart={sale.sku_id: ordered})
    shown = _api_totals(buyer)
    used = min(held, ordered)
    assert shown == (
        D("80.00") * ordered,
        D("50.00") * used,
        D("8.00"),
        D("80.00") * ordered - D("50.00") * used + D("8.00"),
        D("50.00") * used,
    )
    order = _place(buyer, [(sale.sku, ordered)])
    assert shown[:4] == (order.goods_total, order.discount_total, order.shipping_total, order.payable_total)


def test_another_buyers_hold_prices_nothing_in_my_cart():
    sale, _other = _shop()
    _buyer(sale, held=2, cart={sale.sku_id: 2})
    me = _buyer(sale, held=0, cart={sale.sku_id: 2})
    assert _api_totals(me) == (D("160.00"), D("0.00"), D("8.00"), D("168.00"), D("0.00"))
    order = _place(me, [(sale.sku, 2)])
    assert (order.discount_total, order.payable_total) == (D("0.00"), D("168.00"))


def test_the_checkout_page_shop_total_includes_the_flash_discount():
    sale, other = _shop()
    shop_promotion(other.merchant, live=True, name="Shop steps")
    buyer = _buyer(sale, held=1, cart={sale.sku_id: 1, other.pk: 1})
    web = Client(**EN)
    web.force_login(buyer)
    html = web.get("/checkout/").content.decode()
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    rows = [
        tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
        for row in re.findall(r"<tr>(.*?)</tr>", foot, re.S)
    ]
    assert rows == [("Promotions", "−¥70.00"), ("Shipping", "¥8.00"), ("Shop total", "¥268.00")]
    applied = re.search(r'<section class="cart-promotions"[^>]*>.*?<ul>(.*?)</ul>', html, re.S).group(1)
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", applied)]
    assert items == ["Shop steps −¥20.00", "Flash sale −¥50.00"]
