"""Checkout with a coupon: the discount frozen on the lines, the reasons a coupon does not
apply (nothing written), races for one coupon, the coupon given back on an unpaid
cancellation exactly once and not after payment."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Stock
from marketplace.errors import DomainError, NotFoundError
from orders import services
from orders.errors import OrderInvalidTransition
from orders.gateways import sandbox
from orders.models import BuyerOrder, MerchantOrder, OrderLine, OrderLineDiscount
from orders.services import CheckoutItem
from promotions import services as promotion_services
from promotions.choices import CouponState
from promotions.errors import CouponConflict, CouponError
from promotions.models import Coupon
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.coupon_factories import coupon_promotion

pytestmark = pytest.mark.django_db


def _shop(prices=("100.00", "50.00"), quantity=100):
    merchant, (cat,) = live_merchant()
    wh = warehouse()
    skus = []
    for n, price in enumerate(prices):
        sku = product(merchant, cat, skus=[{"code": f"C{n}-{price}", "price": price}]).skus.get()
        catalog_services.stock_receive(
            merchant=sku.merchant, sku=sku, warehouse=wh, quantity=quantity, actor=merchant.owner
        )
        skus.append(sku)
    return merchant, skus


def _nothing_written(coupon, skus):
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.AVAILABLE, None)
    assert BuyerOrder.objects.count() == 0
    assert OrderLineDiscount.objects.count() == 0
    assert sum(Stock.objects.filter(sku__in=skus).values_list("reserved", flat=True)) == 0


def test_a_shop_coupon_discounts_the_lines_merchant_funded_and_is_used():
    merchant, (big, small) = _shop()
    promotion = coupon_promotion(merchant=merchant, amount="20.00", min_spend="100.00")
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=promotion, buyer=buyer)
    order = services.checkout_place(
        buyer=buyer,
        address=address_for(buyer),
        items=[CheckoutItem(big.pk, 1), CheckoutItem(small.pk, 1)],
        coupon_id=coupon.pk,
    )
    lines = {line.sku_id: line for line in OrderLine.objects.filter(merchant_order__buyer_order=order)}
    # 20.00 spread over 100.00 and 50.00 (money.allocate): 13.33 and 6.67, all merchant-funded.
    assert [(lines[s.pk].merchant_discount, lines[s.pk].platform_discount, lines[s.pk].paid) for s in (big, small)] == [
        (Decimal("13.33"), Decimal("0.00"), Decimal("86.67")),
        (Decimal("6.67"), Decimal("0.00"), Decimal("43.33")),
    ]
    assert [lines[s.pk].base for s in (big, small)] == [Decimal("86.67"), Decimal("43.33")]
    merchant_order = MerchantOrder.objects.get(buyer_order=order)
    assert (merchant_order.goods_total, merchant_order.discount_total, merchant_order.shipping_fee) == (
        Decimal("150.00"),
        Decimal("20.00"),
        Decimal("0.00"),  # 130.00 paid for goods ≥ the 99.00 free-shipping threshold
    )
    assert (merchant_order.paid_total, merchant_order.platform_discount_total) == (Decimal("130.00"), Decimal("0.00"))
    order.refresh_from_db()
    assert (order.goods_total, order.discount_total, order.payable_total) == (
        Decimal("150.00"),
        Decimal("20.00"),
        Decimal("130.00"),
    )
    assert sorted(
        OrderLineDiscount.objects.values_list("line__sku_id", "promotion_id", "merchant_part", "platform_part")
    ) == sorted(
        [
            (big.pk, promotion.pk, Decimal("13.33"), Decimal("0.00")),
            (small.pk, promotion.pk, Decimal("6.67"), Decimal("0.00")),
        ]
    )
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.order_number) == (CouponState.USED, order.pk, order.number)


def test_a_platform_coupon_is_platform_funded_and_found_by_its_code():
    _merchant, (big, small) = _shop()
    promotion = coupon_promotion(amount="15.00", min_spend="120.00")
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=promotion, buyer=buyer)
    order = services.checkout_place(
        buyer=buyer,
        address=address_for(buyer),
        items=[CheckoutItem(big.pk, 1), CheckoutItem(small.pk, 1)],
        coupon_code=coupon.code.lower(),
    )
    lines = {line.sku_id: line for line in OrderLine.objects.filter(merchant_order__buyer_order=order)}
    assert [(lines[s.pk].merchant_discount, lines[s.pk].platform_discount, lines[s.pk].base) for s in (big, small)] == [
        (Decimal("0.00"), Decimal("10.00"), Decimal("100.00")),
        (Decimal("0.00"), Decimal("5.00"), Decimal("50.00")),
    ]
    merchant_order = MerchantOrder.objects.get(buyer_order=order)
    assert (merchant_order.discount_total, merchant_order.platform_discount_total, merchant_order.paid_total) == (
        Decimal("15.00"),
        Decimal("15.00"),
        Decimal("135.00"),
    )


def test_a_public_code_is_claimed_and_used_with_the_order_and_not_claimed_when_it_fails():
    _merchant, (big, small) = _shop()
    promotion = coupon_promotion(amount="10.00", min_spend="120.00", max_uses=5, code="WELCOME10")
    buyer = UserFactory()
    address = address_for(buyer)
    with pytest.raises(CouponError) as short:
        services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(big.pk, 1)], coupon_code="welcome10")
    assert short.value.code == "coupon_min_spend_not_reached"
    assert Coupon.objects.count() == 0
    assert Coupon.objects.filter(promotion=promotion).count() == 0
    order = services.checkout_place(
        buyer=buyer,
        address=address,
        items=[CheckoutItem(big.pk, 1), CheckoutItem(small.pk, 1)],
        coupon_code="welcome10",
    )
    coupon = Coupon.objects.get()
    assert (coupon.buyer_id, coupon.promotion_id, coupon.state, coupon.order_id) == (
        buyer.pk,
        promotion.pk,
        CouponState.USED,
        order.pk,
    )
    assert order.discount_total == Decimal("10.00")
    assert Coupon.objects.filter(promotion=promotion).count() == 1


@pytest.mark.parametrize(
    ("case", "code", "extra"),
    [
        ("min_spend", "coupon_min_spend_not_reached", {"min_spend": "200.00", "missing": "100.00"}),
        ("other_shop", "coupon_not_applicable", {}),
        ("expired", "coupon_expired", {}),
        ("not_started", "coupon_not_started", {}),
        ("used", "coupon_unavailable", {}),
        ("budget_spent", "coupon_unavailable", {}),
    ],
)
def test_a_coupon_that_does_not_apply_says_why_and_nothing_is_written(case, code, extra):
    merchant, (big, small) = _shop()
    now = timezone.now()
    kwargs = {"merchant": merchant, "min_spend": "100.00"}
    if case == "min_spend":
        kwargs["min_spend"] = "200.00"
    elif case == "other_shop":
        kwargs["merchant"] = live_merchant()[0]
    elif case == "not_started":
        kwargs["starts_at"] = now + timedelta(hours=1)
    buyer = UserFactory()
    promotion = coupon_promotion(**kwargs)
    if case == "not_started":
        # Claimable only in the window: claimed in it, then the window is moved ahead.
        coupon = Coupon.objects.create(promotion=promotion, buyer=buyer, code="NOTSTARTED01")
    else:
        coupon = promotion_services.coupon_claim(promotion=promotion, buyer=buyer)
    if case == "expired":
        type(promotion).objects.filter(pk=promotion.pk).update(starts_at=now - timedelta(days=2), ends_at=now)
    if case == "used":
        Coupon.objects.filter(pk=coupon.pk).update(state=CouponState.USED, order_id=999, used_at=now)
    if case == "budget_spent":
        type(promotion).objects.filter(pk=promotion.pk).update(
            budget_amount=Decimal("50.00"), budget_spent=Decimal("50.00")
        )
    with pytest.raises(DomainError) as refused:
        services.checkout_place(
            buyer=buyer,
            address=address_for(buyer),
            items=[CheckoutItem(big.pk, 1)],
            coupon_id=coupon.pk,
        )
    assert refused.value.code == code
    assert refused.value.status_code == (409 if code == "coupon_unavailable" else 400)
    for key, value in extra.items():
        assert refused.value.extra[key] == value
    if case == "used":
        coupon.refresh_from_db()
        assert (coupon.state, coupon.order_id) == (CouponState.USED, 999)
        assert BuyerOrder.objects.count() == 0
    else:
        _nothing_written(coupon, [big, small])


def test_another_buyers_coupon_is_not_found_at_checkout():
    merchant, (big, _small) = _shop()
    owner = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant, min_spend=None), buyer=owner)
    stranger = UserFactory()
    with pytest.raises(NotFoundError):
        services.checkout_place(
            buyer=stranger, address=address_for(stranger), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
        )
    with pytest.raises(CouponError) as by_code:
        services.checkout_place(
            buyer=stranger, address=address_for(stranger), items=[CheckoutItem(big.pk, 1)], coupon_code=coupon.code
        )
    assert by_code.value.code == "coupon_code_unknown"
    _nothing_written(coupon, [big])


def _pay(order):
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    services.gateway_event_process(gateway="sandbox", event=event)


def test_cancelling_the_unpaid_order_gives_the_coupon_back_exactly_once():
    merchant, (big, _small) = _shop()
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    order = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
    )
    services.buyer_order_cancel_unpaid(buyer_order=order, actor=buyer)
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.order_number) == (CouponState.AVAILABLE, None, "")
    returned_at = coupon.returned_at
    with pytest.raises(OrderInvalidTransition):
        services.buyer_order_cancel_unpaid(buyer_order=order, actor=buyer)
    coupon.refresh_from_db()
    assert (coupon.state, coupon.returned_at) == (CouponState.AVAILABLE, returned_at)
    # Given back, it buys again.
    again = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
    )
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.USED, again.pk)


def test_the_expiry_job_gives_back_the_coupon_of_an_order_not_paid_in_time():
    merchant, (big, _small) = _shop()
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    order = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
    )
    assert services.cancel_expired_unpaid(now=order.pay_by + timedelta(seconds=1)) == 1
    assert services.cancel_expired_unpaid(now=order.pay_by + timedelta(seconds=2)) == 0
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.AVAILABLE, None)


def test_a_refund_after_payment_does_not_give_the_coupon_back():
    merchant, (big, _small) = _shop()
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    order = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
    )
    _pay(order)
    services.buyer_cancel(order=MerchantOrder.objects.get(buyer_order=order), buyer=buyer, reason="changed my mind")
    assert MerchantOrder.objects.get(buyer_order=order).status == "cancelled"
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.USED, order.pk)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_checkouts_with_one_coupon_use_it_once_and_the_losers_write_nothing():
    merchant, (big, _small) = _shop(quantity=100)
    buyer = UserFactory()
    address = address_for(buyer)
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def buy():
        try:
            barrier.wait()
            services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk)
            outcomes.append("order")
        except CouponConflict as refused:
            outcomes.append(refused.code)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(outcomes) == ["coupon_unavailable"] * 49 + ["order"]
    order = BuyerOrder.objects.get()
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.USED, order.pk)
    assert MerchantOrder.objects.count() == 1
    assert OrderLine.objects.count() == 1
    assert OrderLineDiscount.objects.count() == 1
    assert Stock.objects.get(sku=big).reserved == 1


# --- The checkout page and API -------------------------------------------------------------------


def _page_buyer(sku, quantity=1):
    from django.test import Client

    buyer = UserFactory()
    address_for(buyer)
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(buyer)
    web.post("/cart/add/", {"sku": sku.pk, "quantity": quantity})
    return buyer, web


def _checkout_data(web) -> dict:
    form = web.get("/checkout/").context["form"]
    return {"address": form["address"].value(), "key": form["key"].value(), "items": form["items"].value()}


def test_checkout_page_offers_my_coupons_and_explains_a_refusal_then_places_with_the_coupon():
    merchant, (big, small) = _shop()
    buyer, web = _page_buyer(big)
    coupon = promotion_services.coupon_claim(
        promotion=coupon_promotion(merchant=merchant, amount="20.00", min_spend="120.00"), buyer=buyer
    )
    page = web.get("/checkout/")
    assert f'<option value="{coupon.code}">' in page.content.decode()
    refused = web.post("/checkout/", {**_checkout_data(web), "coupon_code": coupon.code})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Your order was not placed." in body
    assert "This coupon needs ¥120.00 of eligible items; add ¥20.00 more." in body
    assert f'value="{coupon.code}"' in body  # the code stays in the box
    _nothing_written(coupon, [big, small])
    web.post("/cart/add/", {"sku": small.pk, "quantity": 1})
    placed = web.post("/checkout/", {**_checkout_data(web), "coupon_code": coupon.code.lower()})
    assert placed.status_code == 302
    order = BuyerOrder.objects.get()
    assert (order.goods_total, order.discount_total, order.payable_total) == (
        Decimal("150.00"),
        Decimal("20.00"),
        Decimal("130.00"),
    )
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == (CouponState.USED, order.pk)


def test_checkout_api_with_a_coupon_and_with_another_buyers_coupon():
    from rest_framework.test import APIClient

    merchant, (big, small) = _shop()
    buyer, stranger = UserFactory(), UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(stranger)
    body = {"address": address_for(stranger).pk, "items": [{"sku": big.pk, "quantity": 1}], "coupon": coupon.pk}
    refused = api.post("/api/v1/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="stranger-key-1")
    assert (refused.status_code, refused.json()["code"]) == (404, "coupon_not_found")
    _nothing_written(coupon, [big])
    api.force_authenticate(buyer)
    items = [{"sku": big.pk, "quantity": 1}, {"sku": small.pk, "quantity": 1}]
    body = {"address": address_for(buyer).pk, "items": items, "coupon": coupon.pk}
    placed = api.post("/api/v1/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="buyer-key-001")
    assert placed.status_code == 201
    # 150.00 − 20.00, shipping free (over the 99.00 threshold before and after the discount).
    assert (placed.json()["discount_total"], placed.json()["payable_total"]) == ("20.00", "130.00")
    again = api.post("/api/v1/orders/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="buyer-key-002")
    assert (again.status_code, again.json()["code"]) == (409, "coupon_unavailable")
    assert BuyerOrder.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_cancellations_give_the_coupon_back_once():
    merchant, (big, _small) = _shop()
    buyer = UserFactory()
    coupon = promotion_services.coupon_claim(promotion=coupon_promotion(merchant=merchant), buyer=buyer)
    order = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(big.pk, 1)], coupon_id=coupon.pk
    )
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def cancel():
        try:
            barrier.wait()
            services.buyer_order_cancel_unpaid(buyer_order=BuyerOrder.objects.get(pk=order.pk), actor=buyer)
            outcomes.append("cancelled")
        except OrderInvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["cancelled"] + ["refused"] * 9
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id, coupon.order_number) == (CouponState.AVAILABLE, None, "")
    assert Stock.objects.get(sku=big).reserved == 0
