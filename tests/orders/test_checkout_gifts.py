"""Gifts at checkout: "buy X, get X" (the gift is the SKU ordered: a separate zero-paid line,
stock reserved for the ordered and the gift units together), and a gift out of stock — at
pricing, or gone between pricing and the stock lock — which never refuses the order: it is
placed without the gift, the promotion is not counted, and the buyer is told (the checkout's
answer, the order page)."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from catalog.errors import InsufficientStock
from catalog.models import Stock
from catalog.services.stock import stock_allocate_and_reserve
from orders import services
from orders.models import OrderEvent, OrderLine, OrderLineDiscount, ShipmentLine
from orders.selectors import cart_find, cart_pricing, cart_view
from orders.services import checkout as checkout_module
from promotions import services as promotion_services
from promotions.choices import BenefitType
from promotions.models import Promotion, PromotionRedemption
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_checkout_promotions import _counts, _lines, _place, _shop
from tests.promotions.coupon_factories import coupon_promotion
from tests.promotions.factories import promotion

pytestmark = pytest.mark.django_db
D = Decimal


def _gift_lines(order):
    return [
        (line.sku_id, line.quantity, line.is_gift, line.gross, line.merchant_discount, line.paid, line.shipping_share)
        for line in OrderLine.objects.filter(merchant_order__buyer_order=order).order_by("id")
    ]


def _reserved(sku) -> int:
    return Stock.objects.get(sku=sku).reserved


def _sold_out_after_pricing(*skus_and_units):
    """`order_pricing` as the checkout calls it, after which other buyers take units of these
    SKUs (`(sku, units left)`): the stock changes between pricing and the lock."""
    real = checkout_module.order_pricing

    def pricing_then_taken(**kwargs):
        priced = real(**kwargs)
        for sku, left in skus_and_units:
            Stock.objects.filter(sku=sku).update(reserved=F("on_hand") - left)
        return priced

    return mock.patch("orders.services.checkout.order_pricing", side_effect=pricing_then_taken)


def _events(order):
    return list(
        OrderEvent.objects.filter(merchant_order__buyer_order=order)
        .order_by("id")
        .values_list("action", "note", "actor_id")
    )


# --- "Buy X, get X" -----------------------------------------------------------------------


def test_buy_x_get_x_gives_a_separate_gift_line_and_reserves_ordered_and_gift_units_together():
    merchant, category = _shop()
    mug, warehouse = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=5)
    made = promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=mug.pk, min_spend="50")
    buyer = UserFactory()

    order = _place(buyer, (mug, 2))

    assert _gift_lines(order) == [
        (mug.pk, 2, False, D("60.00"), D("0.00"), D("60.00"), D("8.00")),
        (mug.pk, 1, True, D("30.00"), D("30.00"), D("0.00"), D("0.00")),
    ]
    gift_line = OrderLine.objects.get(merchant_order__buyer_order=order, is_gift=True)
    assert list(OrderLineDiscount.objects.values_list("line_id", "promotion_id", "merchant_part", "platform_part")) == [
        (gift_line.pk, made.pk, D("30.00"), D("0.00"))
    ]
    assert _reserved(mug) == 3
    # Each line ships its own units from the warehouse that reserved them.
    assert sorted(
        ShipmentLine.objects.filter(order_line__merchant_order__buyer_order=order).values_list(
            "order_line__is_gift", "quantity", "shipment__warehouse_id"
        )
    ) == [(False, 2, warehouse.pk), (True, 1, warehouse.pk)]
    part = order.merchant_orders.get()
    assert (part.goods_total, part.discount_total, part.shipping_fee, part.paid_total, part.commission_total) == (
        D("90.00"),
        D("30.00"),
        D("8.00"),
        D("68.00"),
        D("6.00"),
    )
    assert (order.goods_total, order.discount_total, order.payable_total) == (D("90.00"), D("30.00"), D("68.00"))
    assert _events(order) == [("place", "", buyer.pk)]


def test_buy_x_get_x_when_stock_covers_the_order_but_not_the_gift_places_the_order_without_it():
    merchant, category = _shop()
    mug, _ = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=2)
    made = promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=mug.pk, max_uses=5)
    buyer = UserFactory()
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(buyer)
    body = {"address": address_for(buyer).pk, "items": [{"sku": mug.pk, "quantity": 2}]}

    answer = client.post("/api/v1/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="gift-key-0001")

    assert answer.status_code == 201
    part = answer.json()["merchant_orders"][0]
    assert [(line["sku"], line["quantity"], line["paid"]) for line in part["lines"]] == [(mug.pk, 2, "60.00")]
    name = f"{mug.product.title} ({mug.label})"
    assert part["gifts_out_of_stock"] == [
        {"gift": name, "message": f"The gift {name} was out of stock: your order was placed without it."}
    ]
    assert (part["goods_total"], part["discount_total"], part["paid_total"]) == ("60.00", "0.00", "68.00")
    assert _reserved(mug) == 2
    made.refresh_from_db()
    assert (made.uses_count, PromotionRedemption.objects.count(), OrderLineDiscount.objects.count()) == (0, 0, 0)


def test_the_cart_tells_which_gift_is_out_of_stock():
    merchant, category = _shop()
    mug, _ = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=2)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=mug.pk)
    buyer = UserFactory()
    services.cart_add(buyer=buyer, sku_id=mug.pk, quantity=2)
    view = cart_view(cart_find(buyer=buyer))

    pricing = cart_pricing(view, buyer=buyer)

    assert (pricing.missed_gifts, pricing.gifts, pricing.total) == (
        [f"{mug.product.title} ({mug.label})"],
        (),
        D("68.00"),
    )
    # One unit more in stock: the gift is given, and nothing is missed.
    Stock.objects.filter(sku=mug).update(on_hand=3)
    pricing = cart_pricing(view, buyer=buyer)
    assert (pricing.missed_gifts, [g.sku_id for g in pricing.gifts], pricing.total) == ([], [mug.pk], D("68.00"))


# --- A gift sold out between pricing and the lock ------------------------------------------


def test_a_gift_sold_out_after_pricing_does_not_refuse_the_order_and_is_not_counted(client):
    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=3)
    made = promotion(
        merchant=merchant,
        benefit=BenefitType.GIFT_SKU,
        gift_sku_id=gift.pk,
        min_spend="100",
        max_uses=10,
        budget_amount="100.00",
        per_buyer_limit=1,
    )
    buyer = UserFactory()
    with _sold_out_after_pricing((gift, 0)):
        before = _counts()
        order = _place(buyer, (lamp, 1))

    assert _lines(order) == [(lamp.pk, D("150.00"), D("0.00"), D("0.00"), D("150.00"), D("150.00"), D("15.00"))]
    assert [line.is_gift for part in order.merchant_orders.all() for line in part.lines.all()] == [False]
    name = f"{gift.product.title} ({gift.label})"
    assert [part.missed_gifts for part in order.merchant_orders.all()] == [[name]]  # the answer says so
    part = order.merchant_orders.get()
    assert (
        part.goods_total,
        part.discount_total,
        part.shipping_fee,
        part.paid_total,
        part.base_total,
        part.platform_discount_total,
        part.commission_total,
    ) == (D("150.00"), D("0.00"), D("8.00"), D("158.00"), D("150.00"), D("0.00"), D("15.00"))
    part.refresh_from_db()
    order.refresh_from_db()
    assert (part.goods_total, part.discount_total, part.paid_total, part.commission_total) == (
        D("150.00"),
        D("0.00"),
        D("158.00"),
        D("15.00"),
    )
    assert (order.goods_total, order.discount_total, order.shipping_total, order.payable_total) == (
        D("150.00"),
        D("0.00"),
        D("8.00"),
        D("158.00"),
    )
    # Nothing of the gift stays: no line, no discount row, no unit reserved, no use counted.
    after = _counts()
    assert after[2:4] == (before[2] + 1, before[3])  # one line (the lamp), no discount row
    made.refresh_from_db()
    assert (made.uses_count, made.budget_spent, PromotionRedemption.objects.count()) == (0, D("0.00"), 0)
    assert made.buyer_usages.count() == 0
    assert (_reserved(gift), _reserved(lamp)) == (3, 1)  # 3: the other buyers' units
    assert _events(order) == [("place", "", buyer.pk), ("gift_out_of_stock", name, None)]

    # The order page says so.
    client.force_login(buyer)
    page = client.get(f"/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert f"The gift {name} was out of stock: your order was placed without it." in page.content.decode()


def test_buy_x_get_x_sold_out_after_pricing_keeps_the_ordered_units():
    merchant, category = _shop()
    mug, _ = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=5)
    made = promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=mug.pk, budget_amount="300.00")
    buyer = UserFactory()
    with _sold_out_after_pricing((mug, 2)):  # enough for the order, none for the gift
        order = _place(buyer, (mug, 2))

    assert _gift_lines(order) == [(mug.pk, 2, False, D("60.00"), D("0.00"), D("60.00"), D("8.00"))]
    assert _reserved(mug) == 5  # 3 by the others, 2 by this order
    made.refresh_from_db()
    assert (made.budget_spent, PromotionRedemption.objects.count(), OrderLineDiscount.objects.count()) == (
        D("0.00"),
        0,
        0,
    )
    assert [action for action, _note, _actor in _events(order)] == ["place", "gift_out_of_stock"]


def test_an_ordered_item_sold_out_after_pricing_still_refuses_the_order_and_writes_nothing():
    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=category, quantity=1)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=3)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=gift.pk, max_uses=10)
    before = _counts()
    events = OrderEvent.objects.count()
    with _sold_out_after_pricing((lamp, 0)), pytest.raises(InsufficientStock) as caught:
        _place(UserFactory(), (lamp, 1))
    assert (caught.value.code, caught.value.extra) == (
        "insufficient_stock",
        {"lines": [{"sku": lamp.pk, "requested": 1, "available": 0}]},
    )
    # All rolled back (the simulated buyers' change too: it ran inside the checkout's transaction).
    assert _counts() == before
    assert OrderEvent.objects.count() == events
    assert (_reserved(lamp), _reserved(gift), Promotion.objects.get().uses_count) == (0, 0, 0)


def test_a_coupon_whose_gift_sold_out_after_pricing_goes_back_to_the_buyer():
    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=3)
    made = coupon_promotion(
        merchant=merchant, amount=None, benefit_type=BenefitType.GIFT_SKU, gift_sku=gift, min_spend="100.00"
    )
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=made, buyer=buyer)
    with _sold_out_after_pricing((gift, 0)):
        order = services.checkout_place(
            buyer=buyer, address=address_for(buyer), items=[services.CheckoutItem(lamp.pk, 1)], coupon_id=coupon.pk
        )

    assert (order.goods_total, order.discount_total, order.payable_total) == (D("150.00"), D("0.00"), D("158.00"))
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.used_at) == ("available", None, None)
    assert [action for action, _note, _actor in _events(order)] == ["place", "gift_out_of_stock"]


# --- The stock service's optional units ----------------------------------------------------


def test_optional_units_are_reserved_whole_from_what_the_required_ones_leave_or_not_at_all():
    merchant, category = _shop()
    mug, warehouse = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=3)
    cup, _ = _stocked_sku(price="10.00", merchant=merchant, category=category, quantity=1)

    allocations = stock_allocate_and_reserve(
        items=[(mug.pk, 2)], optional=[(mug.pk, 2), (cup.pk, 1)], region="east", reference="order:opt-1"
    )

    # 2 mugs required, 2 more optional but only 1 left: not reserved; the cup is.
    assert sorted((a.sku_id, a.warehouse_id, a.quantity) for a in allocations) == sorted(
        [(mug.pk, warehouse.pk, 2), (cup.pk, Stock.objects.get(sku=cup).warehouse_id, 1)]
    )
    assert (_reserved(mug), _reserved(cup)) == (2, 1)
