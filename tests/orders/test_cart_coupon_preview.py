"""The cart shows the chosen coupon's discount before placing (one of the buyer's, or a
public code), or why it gives nothing, and writes nothing."""

from decimal import Decimal

import pytest
from django.test import Client

from orders.models import BuyerOrder
from promotions import services as promotion_services
from promotions.choices import CouponState
from promotions.models import Coupon
from tests.factories import UserFactory
from tests.orders.test_checkout_coupons import _nothing_written, _page_buyer, _shop
from tests.promotions.coupon_factories import coupon_promotion

pytestmark = pytest.mark.django_db


def _totals(page) -> tuple:
    pricing = page.context["pricing"]
    return pricing.goods_total, pricing.discount_total, pricing.shipping_total, pricing.total


def test_the_cart_shows_my_coupons_discount_and_the_total_to_pay_and_writes_nothing():
    merchant, (big, small) = _shop()
    buyer, web = _page_buyer(big)
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    coupon = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00"), buyer=buyer
    )
    plain = web.get("/cart/")
    assert plain.context["pricing"] is None  # no automatic promotion: no breakdown without the coupon
    page = web.get("/cart/", {"coupon": coupon.code.lower()})
    assert page.status_code == 200
    assert _totals(page) == (Decimal("150.00"), Decimal("20.00"), Decimal("0.00"), Decimal("130.00"))
    assert page.context["coupon_discount"] == Decimal("20.00")
    assert page.context["coupon_error"] is None
    body = page.content.decode()
    assert "Your coupon saves ¥20.00" in body
    assert f'href="/checkout/?coupon={coupon.code}"' in body  # the checkout's box gets the code
    _nothing_written(coupon, [big, small])


def test_a_coupon_that_does_not_apply_says_why_and_the_cart_is_priced_without_it():
    merchant, (big, small) = _shop()
    buyer, web = _page_buyer(big)
    coupon = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00"), buyer=buyer
    )
    page = web.get("/cart/", {"coupon": coupon.code})
    assert page.status_code == 200
    assert page.context["pricing"] is None
    assert page.context["coupon_error"] == "This coupon needs ¥120.00 of eligible items; add ¥20.00 more."
    body = page.content.decode()
    assert "This coupon needs ¥120.00 of eligible items; add ¥20.00 more." in body
    assert 'href="/checkout/"' in body  # a refused coupon is not carried to the checkout
    _nothing_written(coupon, [big, small])


def test_a_public_code_is_previewed_without_claiming_a_coupon():
    _merchant, (big, small) = _shop()
    coupon_promotion(amount="15.00", min_spend="120.00", max_uses=5, code="WELCOME15")
    _buyer, web = _page_buyer(big)
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    page = web.get("/cart/", {"coupon": "welcome15"})
    assert _totals(page) == (Decimal("150.00"), Decimal("15.00"), Decimal("0.00"), Decimal("135.00"))
    assert page.context["coupon_discount"] == Decimal("15.00")
    assert Coupon.objects.count() == 0
    assert BuyerOrder.objects.count() == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown", "There is no coupon with this code."),
        ("another_buyers", "There is no coupon with this code."),
        ("expired", "This coupon has expired."),
    ],
)
def test_a_coupon_that_cannot_be_used_says_why(case, message):
    merchant, (big, small) = _shop()
    buyer, web = _page_buyer(big)
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    promotion = coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00")
    holder = UserFactory() if case == "another_buyers" else buyer
    coupon = promotion_services.coupon_claim(promotion=promotion, buyer=holder)
    if case == "expired":
        Coupon.objects.filter(pk=coupon.pk).update(state=CouponState.EXPIRED)
    page = web.get("/cart/", {"coupon": "NOSUCHCODE" if case == "unknown" else coupon.code})
    assert page.status_code == 200
    assert page.context["coupon_error"] == message
    assert page.context["pricing"] is None
    assert message in page.content.decode()
    coupon.refresh_from_db()
    assert coupon.state == (CouponState.EXPIRED if case == "expired" else CouponState.AVAILABLE)
    assert BuyerOrder.objects.count() == 0


def test_an_anonymous_cart_ignores_a_coupon():
    merchant, (big, _small) = _shop()
    coupon_promotion(merchant=merchant, amount="20.00", code="OPEN20")
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.post("/cart/add/", {"sku": big.pk, "quantity": 1})
    page = web.get("/cart/", {"coupon": "OPEN20"})
    assert page.status_code == 200
    assert (page.context["pricing"], page.context["coupon_code"], page.context["coupon_error"]) == (None, "", None)
    assert 'name="coupon"' not in page.content.decode()


def _api(buyer):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(buyer)
    return client


PRICING = "/api/v1/orders/cart/pricing/"


def test_the_cart_api_prices_my_coupon_and_says_why_another_gives_nothing():
    merchant, (big, small) = _shop()
    buyer, web = _page_buyer(big)
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    promotion = coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00")
    coupon = promotion_services.coupon_claim(promotion=promotion, buyer=buyer)
    far = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="30.00", min_spend="200.00"), buyer=buyer
    )
    api = _api(buyer)
    plain = api.get(PRICING)
    assert plain.status_code == 200
    assert plain.json() == {
        "goods_total": "150.00",
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "total": "150.00",
        "applied": [],
        "coupon_discount": "0.00",
        "flash_discount": "0.00",
        "coupon_error": None,
    }
    mine = api.get(PRICING, {"coupon": coupon.pk})
    assert mine.json() == {
        "goods_total": "150.00",
        "discount_total": "20.00",
        "shipping_total": "0.00",
        "total": "130.00",
        "applied": [{"promotion": promotion.pk, "name": promotion.name, "amount": "20.00", "coupon": coupon.pk}],
        "coupon_discount": "20.00",
        "flash_discount": "0.00",
        "coupon_error": None,
    }
    assert api.get(PRICING, {"coupon_code": coupon.code.lower()}).json() == mine.json()
    short = api.get(PRICING, {"coupon": far.pk}).json()
    assert (short["total"], short["applied"], short["coupon_discount"]) == ("150.00", [], "0.00")
    assert short["coupon_error"] == {
        "code": "coupon_min_spend_not_reached",
        "message": "This coupon needs ¥200.00 of eligible items; add ¥50.00 more.",
        "extra": {"coupon": far.pk, "min_spend": "200.00", "missing": "50.00"},
    }
    others = promotion_services.coupon_claim(promotion=promotion, buyer=UserFactory())
    assert api.get(PRICING, {"coupon": others.pk}).json()["coupon_error"]["code"] == "coupon_not_found"
    assert api.get(PRICING, {"coupon": "x"}).status_code == 400
    for held in (coupon, far, others):
        _nothing_written(held, [big, small])


def test_the_cart_api_previews_a_public_code_without_claiming():
    _merchant, (big, small) = _shop()
    promotion = coupon_promotion(amount="15.00", min_spend="120.00", max_uses=5, code="WELCOME15")
    buyer, web = _page_buyer(big)
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    answer = _api(buyer).get(PRICING, {"coupon_code": "welcome15"}).json()
    assert (answer["discount_total"], answer["total"], answer["coupon_discount"]) == ("15.00", "135.00", "15.00")
    assert answer["applied"] == [{"promotion": promotion.pk, "name": promotion.name, "amount": "15.00", "coupon": None}]
    assert Coupon.objects.count() == 0


def test_the_cart_pricing_api_needs_a_buyer():
    from rest_framework.test import APIClient

    assert APIClient().get(PRICING).status_code == 401
    staff = UserFactory(is_staff=True)
    assert _api(staff).get(PRICING).status_code == 404
