"""The checkout's 201 answer written as a plain dict (`orders.api.answers.buyer_order_body`,
issue #12): byte for byte the JSON of `BuyerOrderDetailSerializer` over orders of every shape
the checkout answers (1 and 2 shops, several lines of a shop, a promotion's discount, free
shipping, a gift, a gift out of stock, a coupon), for the order as placed and as read back;
and its plain body read as `CheckoutSerializer` validates it."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from catalog.models import Stock
from marketplace.api import validated
from orders import selectors, services
from orders.api.answers import buyer_order_body
from orders.api.serializers import BuyerOrderDetailSerializer, CheckoutSerializer
from orders.api.views import _checkout_fields
from orders.services import CheckoutItem
from promotions import services as promotion_services
from promotions.choices import BenefitType
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_checkout_promotions import _shop
from tests.promotions.coupon_factories import coupon_promotion
from tests.promotions.factories import promotion

pytestmark = pytest.mark.django_db

_render = JSONRenderer().render


def _place(*items, buyer=None, **coupon):
    buyer = buyer or UserFactory()
    return services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, qty) for sku, qty in items], **coupon
    )


def _same_answer(order) -> dict:
    """The dict renders as the serializer does, for the order as placed and as its page reads it."""
    body = buyer_order_body(order)
    assert _render(body) == _render(BuyerOrderDetailSerializer(order).data)
    stored = selectors.buyer_order_get(order.buyer, order.number)
    assert _render(buyer_order_body(stored)) == _render(body)
    return body


def test_one_shop_one_line_and_two_shops_with_several_lines():
    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="199.99", merchant=merchant, category=category)
    cable, _ = _stocked_sku(price="9.90", merchant=merchant, category=category)
    mug, _ = _stocked_sku(price="28.00")
    body = _same_answer(_place((lamp, 1)))
    assert [len(part["lines"]) for part in body["merchant_orders"]] == [1]
    body = _same_answer(_place((lamp, 2), (cable, 3), (mug, 1)))
    assert [len(part["lines"]) for part in body["merchant_orders"]] == [2, 1]
    assert [len(part["shipments"]) for part in body["merchant_orders"]] == [2, 1]
    assert body["payable_total"] == "473.68"


def test_a_promotions_discount_and_free_shipping():
    discounting, category = _shop()
    sku, _ = _stocked_sku(price="150.00", merchant=discounting, category=category)
    promotion(merchant=discounting, benefit=BenefitType.FIXED_AMOUNT, amount="15.00", min_spend="100")
    waiving, other_category = _shop(fee="12.00")
    other, _ = _stocked_sku(price="50.00", merchant=waiving, category=other_category)
    promotion(merchant=waiving, benefit=BenefitType.FREE_SHIPPING)
    body = _same_answer(_place((sku, 1), (other, 1)))
    assert [(part["shipping_fee"], part["discount_total"]) for part in body["merchant_orders"]] == [
        ("8.00", "15.00"),
        ("0.00", "0.00"),
    ]


def test_a_gift_and_a_gift_out_of_stock():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="150.00", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=1)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=gift.pk, min_spend="100")
    body = _same_answer(_place((sku, 1)))
    assert [line["discount"] for line in body["merchant_orders"][0]["lines"]] == ["0.00", "25.00"]
    assert Stock.objects.get(sku=gift).reserved == 1
    body = _same_answer(_place((sku, 1)))  # the gift's one unit is gone
    (missed,) = body["merchant_orders"][0]["gifts_out_of_stock"]
    assert missed["gift"]
    assert len(body["merchant_orders"][0]["lines"]) == 1


def test_a_coupon():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="20.00", min_spend="50.00"), buyer=buyer
    )
    body = _same_answer(_place((sku, 1), buyer=buyer, coupon_id=coupon.pk))
    assert (body["discount_total"], body["payable_total"]) == ("20.00", "88.00")


@pytest.mark.parametrize(
    "body",
    [
        {"address": 7, "items": [{"sku": 3, "quantity": 2}]},
        {"address": 7, "items": [{"sku": 3, "quantity": 2}, {"sku": 4, "quantity": 0, "note": "x"}], "x": 1},
        {"address": 7, "items": [{"sku": 3, "quantity": -1}, {"sku": 3, "quantity": 1000}]},
        {"address": 7, "items": [{"sku": 3, "quantity": 1}], "coupon": None},
        {"address": 7, "items": [{"sku": 3, "quantity": 1}], "coupon_code": " C "},
        {"address": "7", "items": [{"sku": "3", "quantity": "2"}]},
    ],
)
def test_the_checkout_body_is_read_as_the_serializer_validates_it(body):
    """The plain body read directly (`_checkout_fields`) gives the serializer's values; the
    others are the serializer's own."""

    def plain(data):
        return {**data, "items": [dict(item) for item in data["items"]]}

    assert plain(_checkout_fields(body)) == plain(validated(CheckoutSerializer, body))


@pytest.mark.parametrize(
    "body",
    [
        {"address": 7, "items": []},
        {"address": 0, "items": [{"sku": 3, "quantity": 1}]},
        {"address": 7, "items": [{"sku": 3, "quantity": True}]},
        {"address": 7, "items": [{"sku": 2**31, "quantity": 1}]},
        {"address": 7, "items": [{"sku": 3, "quantity": 1}] * 201},
        {"address": 7},
        {"address": 7, "items": {"sku": 3, "quantity": 1}},
    ],
)
def test_a_body_the_serializer_refuses_is_refused_by_it(body):
    with pytest.raises(ValidationError):
        _checkout_fields(body)
