"""Checkout with promotions: the engine's answer frozen on the lines (both funded parts,
one discount row per line and promotion), gifts, free shipping, the totals' meaning, limited
promotions consumed (409 `promotion_exhausted` writes nothing) and given back exactly once
when the unpaid order is cancelled."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from catalog.models import Stock
from marketplace.money import quantize
from merchants.models import Merchant
from orders import services
from orders.models import BuyerOrder, MerchantOrder, OrderLine, OrderLineDiscount, ShippingRate
from orders.services import CheckoutItem
from promotions import selectors as promotion_selectors
from promotions.choices import BenefitType, ScopeKind
from promotions.errors import PromotionConflict
from promotions.models import Promotion, PromotionBuyerUsage, PromotionRedemption
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_checkout import _stocked_sku
from tests.promotions.factories import promotion

pytestmark = pytest.mark.django_db
D = Decimal


def _shop(*, grade="B", fee="8.00"):
    """A merchant live for a year (no launch policy), category rate 10 %, flat shipping."""
    merchant, (category,) = live_merchant()
    Merchant.objects.filter(pk=merchant.pk).update(
        live_since=timezone.now() - datetime.timedelta(days=365), credit_grade=grade
    )
    merchant.refresh_from_db()
    ShippingRate.objects.create(merchant=merchant, flat_fee=D(fee), free_over=None)
    return merchant, category


def _place(buyer, *items):
    return services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, qty) for sku, qty in items]
    )


def _lines(order):
    return [
        (line.sku_id, line.gross, line.merchant_discount, line.platform_discount, line.paid, line.base, line.commission)
        for line in OrderLine.objects.filter(merchant_order__buyer_order=order).order_by("merchant_order_id", "id")
    ]


def _counts():
    return (
        BuyerOrder.objects.count(),
        MerchantOrder.objects.count(),
        OrderLine.objects.count(),
        OrderLineDiscount.objects.count(),
        PromotionRedemption.objects.count(),
        list(Promotion.objects.order_by("pk").values_list("budget_spent", "uses_count")),
        list(PromotionBuyerUsage.objects.order_by("pk").values_list("uses", flat=True)),
        list(Stock.objects.order_by("pk").values_list("reserved", flat=True)),
    )


def test_shop_and_platform_discounts_are_frozen_on_the_lines_with_who_paid_them():
    merchant, category = _shop()
    other, other_category = _shop()
    lamp, _ = _stocked_sku(price="199.99", merchant=merchant, category=category)
    cable, _ = _stocked_sku(price="35.50", merchant=merchant, category=category)
    mug, _ = _stocked_sku(price="20.00", merchant=other, category=other_category)
    shop_promo = promotion(merchant=merchant, benefit=BenefitType.SPEND_AND_SAVE, steps=[("300", "30"), ("400", "45")])
    platform_promo = promotion(benefit=BenefitType.PERCENTAGE, percent="10")
    buyer = UserFactory()

    order = _place(buyer, (lamp, 2), (cable, 1), (mug, 1))

    # Shop: gross 435.48 reaches the 400 step: 45 spread 41.33 / 3.67 (by gross).
    # Platform: 10 % of what is left, 390.48 + 20.00 = 41.05, spread by what is left:
    # 3586.68 / 318.32 / 200.01 cents → 35.87 / 3.18 / 2.00. Commission 10 % of the base.
    assert _lines(order) == [
        (lamp.pk, D("399.98"), D("41.33"), D("35.87"), D("322.78"), D("358.65"), D("35.87")),
        (cable.pk, D("35.50"), D("3.67"), D("3.18"), D("28.65"), D("31.83"), D("3.18")),
        (mug.pk, D("20.00"), D("0.00"), D("2.00"), D("18.00"), D("20.00"), D("2.00")),
    ]
    for line in OrderLine.objects.filter(merchant_order__buyer_order=order):
        assert line.commission == quantize(line.base * line.commission_rate)
    assert sorted(
        OrderLineDiscount.objects.filter(line__merchant_order__buyer_order=order).values_list(
            "line__sku_id", "promotion_id", "merchant_part", "platform_part"
        )
    ) == sorted(
        [
            (lamp.pk, shop_promo.pk, D("41.33"), D("0.00")),
            (cable.pk, shop_promo.pk, D("3.67"), D("0.00")),
            (lamp.pk, platform_promo.pk, D("0.00"), D("35.87")),
            (cable.pk, platform_promo.pk, D("0.00"), D("3.18")),
            (mug.pk, platform_promo.pk, D("0.00"), D("2.00")),
        ]
    )
    first, second = order.merchant_orders.order_by("pk")
    # goods = Σ gross; discount = Σ both parts; paid = goods − discount + shipping.
    assert (
        first.goods_total,
        first.discount_total,
        first.platform_discount_total,
        first.shipping_fee,
        first.paid_total,
        first.base_total,
        first.commission_total,
    ) == (D("435.48"), D("84.05"), D("39.05"), D("8.00"), D("359.43"), D("390.48"), D("39.05"))
    assert (second.goods_total, second.discount_total, second.paid_total) == (D("20.00"), D("2.00"), D("26.00"))
    order.refresh_from_db()
    assert (order.goods_total, order.discount_total, order.shipping_total, order.payable_total) == (
        D("455.48"),
        D("86.05"),
        D("16.00"),
        D("385.43"),
    )
    # Unlimited promotions write no counter.
    assert PromotionRedemption.objects.count() == 0
    assert list(Promotion.objects.values_list("uses_count", "budget_spent")) == [(0, D("0.00"))] * 2


def test_grade_d_shops_stay_out_of_platform_promotions():
    merchant, category = _shop(grade="D")
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    promotion(benefit=BenefitType.PERCENTAGE, percent="10")
    order = _place(UserFactory(), (sku, 1))
    assert _lines(order) == [(sku.pk, D("100.00"), D("0.00"), D("0.00"), D("100.00"), D("100.00"), D("10.00"))]


def test_a_gift_is_an_ordinary_line_with_its_stock_reserved_and_its_gross_discounted():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="150.00", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=3)
    made = promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=gift.pk, min_spend="100")
    order = _place(UserFactory(), (sku, 1))
    line = OrderLine.objects.get(merchant_order__buyer_order=order, sku=gift)
    assert (line.is_gift, line.quantity, line.gross, line.merchant_discount, line.paid, line.commission) == (
        True,
        1,
        D("25.00"),
        D("25.00"),
        D("0.00"),
        D("0.00"),
    )
    assert list(OrderLineDiscount.objects.filter(line=line).values_list("promotion_id", "merchant_part")) == [
        (made.pk, D("25.00"))
    ]
    assert Stock.objects.get(sku=gift).reserved == 1
    mo = order.merchant_orders.get()
    assert (mo.goods_total, mo.discount_total, mo.shipping_fee, mo.paid_total) == (
        D("175.00"),
        D("25.00"),
        D("8.00"),
        D("158.00"),
    )
    assert line.shipping_share == D("0.00")  # shipping is spread by what the buyer pays


def test_a_gift_out_of_stock_is_not_given():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="150.00", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=1)
    Stock.objects.filter(sku=gift).update(reserved=1)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=gift.pk)
    order = _place(UserFactory(), (sku, 1))
    assert _lines(order) == [(sku.pk, D("150.00"), D("0.00"), D("0.00"), D("150.00"), D("150.00"), D("15.00"))]


def test_free_shipping_waives_the_merchant_orders_fee():
    merchant, category = _shop(fee="12.00")
    sku, _ = _stocked_sku(price="50.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, benefit=BenefitType.FREE_SHIPPING)
    order = _place(UserFactory(), (sku, 1))
    mo = order.merchant_orders.get()
    assert (mo.shipping_fee, mo.shipping_waived, mo.shipping_promotion_id, mo.discount_total, mo.paid_total) == (
        D("0.00"),
        D("12.00"),
        made.pk,
        D("0.00"),
        D("50.00"),
    )
    order.refresh_from_db()
    assert (order.shipping_total, order.payable_total) == (D("0.00"), D("50.00"))


def test_category_scope_includes_subcategories():
    merchant, category = _shop()
    from tests.merchants.factories import category as make_category

    child = make_category("Lamps", parent=category)
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=child)
    promotion(benefit=BenefitType.PERCENTAGE, percent="5", scope=ScopeKind.CATEGORIES, category_ids=[category.pk])
    order = _place(UserFactory(), (sku, 1))
    assert _lines(order)[0][3] == D("5.00")


def test_a_limited_promotion_is_counted_and_refused_when_it_ran_out_since_pricing():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="15.00", max_uses=1, budget_amount="100.00", per_buyer_limit=1)
    first, second = UserFactory(), UserFactory()
    stale = promotion_selectors.live_offers(merchant_ids=[merchant.pk], now=timezone.now(), buyer=second)

    order = _place(first, (sku, 1))
    made.refresh_from_db()
    assert (made.uses_count, made.budget_spent) == (1, D("15.00"))
    assert list(PromotionRedemption.objects.values_list("order_id", "amount")) == [(order.pk, D("15.00"))]
    assert list(PromotionBuyerUsage.objects.values_list("buyer_id", "uses")) == [(first.pk, 1)]

    # Priced before the first order took the last use: refused, and nothing is written.
    before = _counts()
    with (
        mock.patch("orders.selectors.promotions.live_offers", return_value=stale),
        pytest.raises(PromotionConflict) as caught,
    ):
        _place(second, (sku, 1))
    assert (caught.value.code, caught.value.extra) == ("promotion_exhausted", {"promotion": made.pk})
    assert _counts() == before

    # Re-priced: the promotion is used up, the order goes through without it.
    again = _place(second, (sku, 1))
    assert _lines(again)[0][2:4] == (D("0.00"), D("0.00"))


def test_the_per_buyer_limit_holds_and_other_buyers_still_get_it():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    promotion(merchant=merchant, amount="10.00", per_buyer_limit=1)
    buyer, other = UserFactory(), UserFactory()
    assert _lines(_place(buyer, (sku, 1)))[0][2] == D("10.00")
    assert _lines(_place(buyer, (sku, 1)))[0][2] == D("0.00")
    assert _lines(_place(other, (sku, 1)))[0][2] == D("10.00")


def test_cancelling_the_unpaid_order_gives_uses_and_budget_back_exactly_once():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="15.00", max_uses=5, budget_amount="100.00", per_buyer_limit=1)
    buyer = UserFactory()
    order = _place(buyer, (sku, 1))
    made.refresh_from_db()
    assert (made.uses_count, made.budget_spent) == (1, D("15.00"))

    services.buyer_order_cancel_unpaid(buyer_order=order, actor=buyer)
    made.refresh_from_db()
    assert (made.uses_count, made.budget_spent) == (0, D("0.00"))
    assert PromotionBuyerUsage.objects.get(buyer=buyer).uses == 0
    assert PromotionRedemption.objects.get(order_id=order.pk).released_at is not None

    # A second release (a retried task, a second cancel path) gives nothing more.
    from promotions.services import promotion_usage_release

    assert promotion_usage_release(order_id=order.pk) == 0
    made.refresh_from_db()
    assert (made.uses_count, made.budget_spent) == (0, D("0.00"))
    # The buyer may use it again.
    assert _lines(_place(buyer, (sku, 1)))[0][2] == D("15.00")


def test_the_money_budget_caps_the_last_discount():
    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="15.00", budget_amount="20.00")
    assert _lines(_place(UserFactory(), (sku, 1)))[0][2] == D("15.00")
    assert _lines(_place(UserFactory(), (sku, 1)))[0][2] == D("5.00")
    assert _lines(_place(UserFactory(), (sku, 1)))[0][2] == D("0.00")
    made.refresh_from_db()
    assert made.budget_spent == D("20.00")


def test_the_cart_breakdown_is_what_checkout_freezes(django_assert_max_num_queries):
    from orders.selectors import cart_pricing, cart_view_of
    from orders.services import cart_add

    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="199.99", merchant=merchant, category=category)
    gift, _ = _stocked_sku(price="9.90", merchant=merchant, category=category)
    shop_promo = promotion(merchant=merchant, benefit=BenefitType.SPEND_AND_SAVE, steps=[("300", "30")])
    gift_promo = promotion(
        merchant=merchant,
        benefit=BenefitType.GIFT_SKU,
        gift_sku_id=gift.pk,
        scope=ScopeKind.PRODUCTS,
        product_ids=[lamp.product_id],
        priority=1,
        name="Free cloth",
    )
    platform_promo = promotion(benefit=BenefitType.FIXED_AMOUNT, amount="12.00", name="Welcome")
    buyer = UserFactory()
    cart_add(buyer=buyer, sku_id=lamp.pk, quantity=2)

    view = cart_view_of(buyer=buyer)
    cart_pricing(view, buyer=buyer)  # rebuilds the index of live promotions the services dropped
    with django_assert_max_num_queries(4):  # the offers, the SKUs' pricing facts, the gift, the flash holds
        priced = cart_pricing(view, buyer=buyer)
    # Spend and save (30) beats the gift (9.90) in the shop's slot; the platform adds 12.
    assert [a.promotion_id for a in priced.applied] == [shop_promo.pk, platform_promo.pk]
    assert priced.names == {shop_promo.pk: shop_promo.name, platform_promo.pk: "Welcome"}
    assert gift_promo.pk not in priced.names
    assert (priced.goods_total, priced.discount_total, priced.shipping_total, priced.total) == (
        D("399.98"),
        D("42.00"),
        D("8.00"),
        D("365.98"),
    )
    order = _place(buyer, (lamp, 2))
    order.refresh_from_db()
    assert (order.goods_total, order.discount_total, order.shipping_total, order.payable_total) == (
        priced.goods_total,
        priced.discount_total,
        priced.shipping_total,
        priced.total,
    )


def test_a_cart_without_live_promotions_is_priced_without_a_query(django_assert_num_queries):
    from orders.selectors import cart_pricing, cart_view_of
    from orders.services import cart_add

    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="50.00", merchant=merchant, category=category)
    buyer = UserFactory()
    cart_add(buyer=buyer, sku_id=lamp.pk, quantity=1)
    view = cart_view_of(buyer=buyer)
    cart_pricing(view, buyer=buyer)  # builds the index of live promotions
    with django_assert_num_queries(0):  # the flash holds given, as the pages give the ones they show
        priced = cart_pricing(view, buyer=buyer, holds=[])
    assert (priced.applied, priced.discount_total, priced.total) == ((), D("0.00"), D("58.00"))
    with django_assert_num_queries(1):  # else the buyer's live flash holds are read
        assert cart_pricing(view, buyer=buyer).total == D("58.00")


def test_the_checkout_api_answers_409_promotion_exhausted_and_writes_nothing():
    from tests.orders.test_api import BASE, client_for

    merchant, category = _shop()
    sku, _ = _stocked_sku(price="100.00", merchant=merchant, category=category)
    made = promotion(merchant=merchant, amount="15.00", max_uses=1)
    buyer = UserFactory()
    stale = promotion_selectors.live_offers(merchant_ids=[merchant.pk], now=timezone.now(), buyer=buyer)
    _place(UserFactory(), (sku, 1))  # takes the only use
    body = {"address": address_for(buyer).pk, "items": [{"sku": sku.pk, "quantity": 1}]}
    before = _counts()
    with mock.patch("orders.selectors.promotions.live_offers", return_value=stale):
        answer = client_for(buyer).post(
            BASE + "checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="promo-race-1", HTTP_ACCEPT_LANGUAGE="en"
        )
    assert answer.status_code == 409
    assert answer.json() == {
        "code": "promotion_exhausted",
        "message": "A promotion in your order has just run out. Check the new price and order again.",
        "extra": {"promotion": made.pk},
    }
    assert _counts() == before
    # The same key again, re-priced: the order is placed without the promotion.
    again = client_for(buyer).post(BASE + "checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="promo-race-1")
    assert again.status_code == 201
    assert again.json()["discount_total"] == "0.00"
