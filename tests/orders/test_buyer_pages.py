"""Buyer pages through the Django test client: checkout, payment on the sandbox page,
confirmation, reviews, cancellation, after-sales and disputes, addresses, and who may see what."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Stock
from orders import services
from orders.errors import OrderError, RequestInProgress
from orders.models import (
    Address,
    AfterSalesRequest,
    BuyerOrder,
    CartItem,
    CheckoutAttempt,
    Complaint,
    Dispute,
    GatewayEvent,
    MerchantOrder,
    Payment,
    Refund,
    Review,
)
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import PASSWORD, UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db
_n = itertools.count(1)
ADDRESS = {
    "recipient": "李娜",
    "phone": "139 1234 5678",
    "region": "east",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "line": "文三路 90 号",
    "postcode": "310012",
}


def stocked_sku(*, price="30.00", stock=10, merchant=None, category=None):
    if merchant is None:
        merchant, (category,) = live_merchant()
    item = product(merchant, category, title=f"Lamp {next(_n)}", skus=[{"code": f"B{next(_n)}", "price": price}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        merchant=sku.merchant, sku=sku, warehouse=warehouse(), quantity=stock, actor=merchant.owner
    )
    return sku


def client_for(user=None) -> Client:
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        web.force_login(user)
    return web


def checkout_data(web) -> dict:
    form = web.get(reverse("orders:checkout")).context["form"]
    return {"address": form["address"].value(), "key": form["key"].value(), "items": form["items"].value()}


def shopping_buyer(sku, quantity=2):
    """A signed-in buyer with a saved address and `quantity` of `sku` in the cart."""
    buyer = UserFactory()
    address_for(buyer)
    web = client_for(buyer)
    web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": quantity})
    return buyer, web


def place(web) -> BuyerOrder:
    response = web.post(reverse("orders:checkout"), checkout_data(web))
    assert response.status_code == 302, response.content.decode()[:2000]
    return BuyerOrder.objects.get(number=response["Location"].split("/")[-2])


def pay(web, order, outcome="pay") -> Payment:
    response = web.post(reverse("orders:pay", args=[order.number]))
    payment = Payment.objects.filter(buyer_order=order).latest("id")
    assert response["Location"] == reverse("orders:sandbox_pay", args=[payment.reference])
    web.post(response["Location"], {"outcome": outcome})
    payment.refresh_from_db()
    return payment


def ship(order) -> MerchantOrder:
    part = order.merchant_orders.get()
    return services.merchant_order_ship(
        order=part, merchant=part.merchant, actor=part.merchant.owner, carrier="SF", tracking_number="SF1001"
    )


def paid_order(quantity=2, *, shipped=False):
    sku = stocked_sku()
    buyer, web = shopping_buyer(sku, quantity)
    order = place(web)
    pay(web, order)
    part = ship(order) if shipped else order.merchant_orders.get()
    return buyer, web, order, part


# --- The journey ---------------------------------------------------------------------------


def test_add_to_cart_checkout_pay_ship_confirm_and_review():
    sku = stocked_sku(price="30.00", stock=10)
    buyer = UserFactory(email="journey@example.com")
    web = client_for()
    web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 2})
    response = web.get(reverse("orders:checkout"))
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/checkout/")
    response = web.post(
        "/accounts/login/?next=/checkout/",
        {"username": "journey@example.com", "password": PASSWORD, "next": "/checkout/"},
    )
    assert response["Location"] == "/checkout/"
    page = web.get("/checkout/")
    assert "Add the address we should deliver to." in page.content.decode()
    response = web.post(reverse("orders:addresses"), {**ADDRESS, "next": "/checkout/"})
    assert response["Location"] == "/checkout/"
    address = Address.objects.get(buyer=buyer)
    assert (address.recipient, address.phone, address.is_default) == ("李娜", "139 1234 5678", True)

    data = checkout_data(web)
    assert (data["address"], data["items"]) == (address.pk, f"{sku.pk}:2")
    response = web.post("/checkout/", data)
    order = BuyerOrder.objects.get(buyer=buyer)
    assert response["Location"] == f"/pay/{order.number}/"
    assert (order.goods_total, order.shipping_total, order.payable_total) == (
        Decimal("60.00"),
        Decimal("8.00"),
        Decimal("68.00"),
    )
    assert (order.recipient, order.address) == ("李娜", "浙江省杭州市西湖区文三路 90 号")
    assert CartItem.objects.count() == 0  # the ordered SKU left the cart
    assert Stock.objects.get(sku=sku).reserved == 2
    assert "¥68.00" in web.get(f"/pay/{order.number}/").content.decode()

    response = web.post(f"/pay/{order.number}/")
    payment = Payment.objects.get(buyer_order=order)
    assert (response["Location"], payment.amount, payment.status) == (
        f"/pay/sandbox/{payment.reference}/",
        Decimal("68.00"),
        "pending",
    )
    sandbox_page = web.get(response["Location"]).content.decode()
    assert "¥68.00" in sandbox_page and order.number in sandbox_page
    response = web.post(f"/pay/sandbox/{payment.reference}/", {"outcome": "pay"}, follow=True)
    assert response.redirect_chain == [(f"/orders/{order.number}/", 302)]
    assert "Payment received." in response.content.decode()
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "succeeded")
    assert list(GatewayEvent.objects.values_list("kind", "outcome")) == [("payment.succeeded", "paid")]

    part = ship(order)
    detail = web.get(f"/orders/{order.number}/").content.decode()
    assert "SF, tracking number SF1001" in detail and "Confirm receipt" in detail
    web.post(reverse("orders:order_confirm", args=[order.number, part.number]))
    part.refresh_from_db()
    assert part.status == "completed"
    assert list(part.events.values_list("action", flat=True)) == ["place", "pay", "ship", "complete"]

    line = part.lines.get()
    assert web.get(reverse("orders:review_new", args=[order.number, line.pk])).status_code == 200
    response = web.post(reverse("orders:review_new", args=[order.number, line.pk]), {"rating": "5", "text": "Bright."})
    assert response["Location"] == f"/orders/{order.number}/"
    review = Review.objects.get()
    assert (review.order_line, review.buyer, review.merchant, review.rating, review.text) == (
        line,
        buyer,
        part.merchant,
        5,
        "Bright.",
    )
    assert "★★★★★" in web.get(f"/orders/{order.number}/").content.decode()
    response = web.post(reverse("orders:review_new", args=[order.number, line.pk]), {"rating": "1"})
    assert response.status_code == 400
    assert "You have already reviewed this item." in response.content.decode()
    assert Review.objects.count() == 1


def test_a_double_submitted_checkout_form_places_one_order():
    sku = stocked_sku()
    buyer, web = shopping_buyer(sku, 3)
    data = checkout_data(web)
    first = web.post(reverse("orders:checkout"), data)
    second = web.post(reverse("orders:checkout"), data)
    order = BuyerOrder.objects.get()
    assert first["Location"] == second["Location"] == f"/pay/{order.number}/"
    assert (CheckoutAttempt.objects.count(), Stock.objects.get(sku=sku).reserved) == (1, 3)

    # The same page's key with another address is a different order: refused, nothing placed.
    other = Address.objects.create(buyer=buyer, **{**ADDRESS, "phone": "13700000000"})
    response = web.post(reverse("orders:checkout"), {**data, "address": other.pk})
    assert response.status_code == 422
    assert "already used for another order" in response.content.decode()
    assert (BuyerOrder.objects.count(), Stock.objects.get(sku=sku).reserved) == (1, 3)


def test_a_click_while_the_first_is_still_placing_lands_on_a_waiting_page():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 1)
    data = checkout_data(web)
    with mock.patch("orders.views.services.cart_checkout", side_effect=RequestInProgress(message="busy")):
        response = web.post(reverse("orders:checkout"), data)
    waiting = reverse("orders:checkout_placing", args=[data["key"]])
    assert response["Location"] == waiting
    assert "Placing your order" in web.get(waiting).content.decode()
    web.post(reverse("orders:checkout"), data)
    assert web.get(waiting)["Location"] == f"/pay/{BuyerOrder.objects.get().number}/"


def test_insufficient_stock_shows_the_error_and_creates_nothing():
    sku = stocked_sku(stock=2)
    _buyer, web = shopping_buyer(sku, 3)
    response = web.post(reverse("orders:checkout"), checkout_data(web))
    assert response.status_code == 409
    body = response.content.decode()
    assert f"{sku.product.title} ({sku.code}): you asked for 3, only 2 available." in body
    assert "Your cart is unchanged." in body
    assert (BuyerOrder.objects.count(), CheckoutAttempt.objects.count(), MerchantOrder.objects.count()) == (0, 0, 0)
    assert list(CartItem.objects.values_list("sku_id", "quantity")) == [(sku.pk, 3)]
    assert Stock.objects.get(sku=sku).reserved == 0


def test_an_item_gone_off_sale_is_named_and_nothing_is_placed():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 1)
    data = checkout_data(web)
    catalog_services.product_withdraw(product=sku.product, actor=sku.merchant.owner)
    page = web.get(reverse("orders:checkout")).content.decode()
    assert "No longer on sale" in page and "Place order" not in page
    response = web.post(reverse("orders:checkout"), data)
    assert response.status_code == 400
    assert (
        f"{sku.product.title} ({sku.code}) is no longer on sale; remove it from your cart." in response.content.decode()
    )
    assert (BuyerOrder.objects.count(), CartItem.objects.count()) == (0, 1)


def test_the_order_is_what_the_page_showed_and_only_that_leaves_the_cart():
    shown, added_later = stocked_sku(), stocked_sku(price="12.00")
    _buyer, web = shopping_buyer(shown, 1)
    data = checkout_data(web)
    web.post(reverse("orders:cart_add"), {"sku": added_later.pk, "quantity": 2})  # another tab
    order = BuyerOrder.objects.get(number=web.post(reverse("orders:checkout"), data)["Location"].split("/")[-2])
    assert [line.sku_id for part in order.merchant_orders.all() for line in part.lines.all()] == [shown.pk]
    assert list(CartItem.objects.values_list("sku_id", "quantity")) == [(added_later.pk, 2)]


def test_another_buyers_address_is_refused():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 1)
    response = web.post(reverse("orders:checkout"), {**checkout_data(web), "address": address_for(UserFactory()).pk})
    assert (response.status_code, "Choose a delivery address." in response.content.decode()) == (400, True)
    assert (BuyerOrder.objects.count(), CartItem.objects.count()) == (0, 1)


def test_checkout_with_an_empty_cart_shows_the_empty_state():
    web = client_for(UserFactory())
    assert "Your cart is empty" in web.get(reverse("orders:checkout")).content.decode()


# --- Payment --------------------------------------------------------------------------------


def test_a_failed_sandbox_payment_leaves_the_order_payable_and_a_new_payment_can_be_made():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 1)
    order = place(web)
    failed = pay(web, order, outcome="fail")
    order.refresh_from_db()
    assert (failed.status, order.status) == ("failed", "pending_payment")
    paid = pay(web, order)
    order.refresh_from_db()
    assert (paid.status, order.status, Payment.objects.count()) == ("succeeded", "paid", 2)
    assert paid.reference != failed.reference


def test_after_the_time_to_pay_nothing_can_be_paid():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 1)
    order = place(web)
    payment = services.payment_start(buyer_order=order)
    BuyerOrder.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(minutes=1))
    response = web.get(f"/pay/{order.number}/", follow=True)
    assert "The time to pay for this order has passed." in response.content.decode()
    assert "This payment cannot be made any more." in web.get(f"/pay/sandbox/{payment.reference}/").content.decode()
    web.post(f"/pay/sandbox/{payment.reference}/", {"outcome": "pay"})
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status, GatewayEvent.objects.count()) == ("pending_payment", "pending", 0)


# --- Cancelling -----------------------------------------------------------------------------


def test_cancelling_an_unpaid_order_cancels_it_all_and_releases_the_stock():
    sku = stocked_sku()
    _buyer, web = shopping_buyer(sku, 3)
    order = place(web)
    part = order.merchant_orders.get()
    assert Stock.objects.get(sku=sku).reserved == 3
    response = web.post(reverse("orders:order_cancel", args=[order.number, part.number]), {"reason": "changed my mind"})
    assert response["Location"] == f"/orders/{order.number}/"
    order.refresh_from_db()
    part.refresh_from_db()
    assert (order.status, part.status, Stock.objects.get(sku=sku).reserved) == ("cancelled", "cancelled", 0)
    assert part.events.get(action="cancel").note == "changed my mind"
    assert Refund.objects.count() == 0


def test_cancelling_a_paid_order_before_shipping_refunds_everything():
    _buyer, web, order, part = paid_order(2)
    response = web.post(reverse("orders:order_cancel", args=[order.number, part.number]), follow=True)
    assert "everything you paid for it is refunded" in response.content.decode()
    part.refresh_from_db()
    refund = Refund.objects.get()
    assert (part.status, refund.merchant_order, refund.amount, refund.shipping_amount) == (
        "cancelled",
        part,
        Decimal("68.00"),
        Decimal("8.00"),
    )
    assert Stock.objects.get().reserved == 0


def test_a_shipped_order_cannot_be_cancelled():
    _buyer, web, order, part = paid_order(1, shipped=True)
    response = web.post(reverse("orders:order_cancel", args=[order.number, part.number]), follow=True)
    assert "This cannot be done while the order is “Shipped”." in response.content.decode()
    part.refresh_from_db()
    assert (part.status, Refund.objects.count()) == ("shipped", 0)


# --- After-sales, complaints ----------------------------------------------------------------


def test_an_after_sales_request_is_made_rejected_and_escalated_through_the_pages():
    buyer, web, order, part = paid_order(2, shipped=True)
    line = part.lines.get()
    url = reverse("orders:after_sales_new", args=[order.number, part.number])
    assert web.get(url).status_code == 200
    form = {"kind": "refund", "reason": "It arrived broken.", f"line_{line.pk}_include": "on"}
    too_much = web.post(url, {**form, f"line_{line.pk}_quantity": 1, f"line_{line.pk}_amount": "60.01"})
    assert too_much.status_code == 400
    assert AfterSalesRequest.objects.count() == 0
    nothing = web.post(url, {"kind": "refund", "reason": "?"})
    assert (nothing.status_code, "Tick at least one item." in nothing.content.decode()) == (400, True)

    response = web.post(url, {**form, f"line_{line.pk}_quantity": 1, f"line_{line.pk}_amount": "30.00"})
    assert response["Location"] == f"/orders/{order.number}/"
    request = AfterSalesRequest.objects.get()
    assert (request.kind, request.status, request.reason, request.buyer) == (
        "refund",
        "open",
        "It arrived broken.",
        buyer,
    )
    assert list(request.lines.values_list("order_line", "quantity", "amount")) == [(line.pk, 1, Decimal("30.00"))]
    part.refresh_from_db()
    assert part.after_sales_open is True

    services.after_sales_reject(
        request=request, merchant=request.merchant_order.merchant, actor=part.merchant.owner, note="Used, not broken."
    )
    detail = web.get(f"/orders/{order.number}/").content.decode()
    assert "Used, not broken." in detail and "Ask the platform to decide" in detail
    escalate = reverse("orders:after_sales_escalate", args=[order.number, request.pk])
    assert web.post(escalate, {"statement": " "}).status_code == 400
    assert Dispute.objects.count() == 0
    response = web.post(escalate, {"statement": "Photos show the crack."})
    assert response["Location"] == f"/orders/{order.number}/"
    dispute = Dispute.objects.get()
    request.refresh_from_db()
    part.refresh_from_db()
    assert (dispute.request, dispute.buyer_statement, request.status) == (
        request,
        "Photos show the crack.",
        "escalated",
    )
    assert (part.is_frozen, part.after_sales_open) == (True, True)
    assert "The platform is looking into this dispute." in web.get(f"/orders/{order.number}/").content.decode()


def test_an_open_request_can_be_withdrawn():
    buyer, web, order, part = paid_order(1, shipped=True)
    line = part.lines.get()
    request = services.after_sales_request_create(
        order=part, buyer=buyer, kind="refund", reason="Late", items=[(line.pk, 1, Decimal("10.00"))]
    )
    web.post(reverse("orders:after_sales_withdraw", args=[order.number, request.pk]))
    request.refresh_from_db()
    part.refresh_from_db()
    assert (request.status, part.after_sales_open) == ("closed", False)


def test_complaints_need_a_paid_order():
    sku = stocked_sku()
    buyer, web = shopping_buyer(sku, 1)
    order = place(web)
    part = order.merchant_orders.get()
    url = reverse("orders:complaint_new", args=[order.number, part.number])
    response = web.post(url, {"category": "service", "text": "Rude answer."})
    assert response.status_code == 400
    assert "Complaints are possible once the order is paid." in response.content.decode()
    assert Complaint.objects.count() == 0
    pay(web, order)
    assert web.post(url, {"category": "service", "text": "Rude answer."})["Location"] == f"/orders/{order.number}/"
    complaint = Complaint.objects.get()
    assert (complaint.merchant_order, complaint.buyer, complaint.category, complaint.text) == (
        part,
        buyer,
        "service",
        "Rude answer.",
    )


# --- My orders ------------------------------------------------------------------------------


def test_my_orders_filter_by_status_and_paginate():
    merchant, (cat,) = live_merchant()
    sku = stocked_sku(price="5.00", stock=100, merchant=merchant, category=cat)
    buyer = UserFactory()
    address = address_for(buyer)
    orders = [services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(sku.pk, 1)]) for _ in range(11)]
    web = client_for(buyer)
    pay(web, orders[0])
    first = web.get(reverse("orders:order_list"))
    assert [o.number for o in first.context["page"].object_list] == [o.number for o in reversed(orders[1:])]
    second = web.get(reverse("orders:order_list"), {"page": 2})
    assert [o.number for o in second.context["page"].object_list] == [orders[0].number]
    paid = web.get(reverse("orders:order_list"), {"status": "paid"})
    assert [o.number for o in paid.context["page"].object_list] == [orders[0].number]
    assert web.get(reverse("orders:order_list"), {"status": "nonsense"}).context["page"].paginator.count == 11
    shipped = web.get(reverse("orders:order_list"), {"status": "shipped"}).content.decode()
    assert "No orders in this state." in shipped
    assert "You have not ordered anything yet" in client_for(UserFactory()).get("/orders/").content.decode()


def test_the_order_page_costs_the_same_queries_for_one_shop_or_three():
    def order_with(shops: int):
        buyer = UserFactory()
        address = address_for(buyer)
        skus = [stocked_sku(price="50.00") for _ in range(shops)]
        order = services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(s.pk, 2) for s in skus])
        return client_for(buyer), order

    def count(web, order) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert web.get(f"/orders/{order.number}/").status_code == 200
        return len(ctx.captured_queries)

    assert count(*order_with(1)) == count(*order_with(3))


# --- Addresses ------------------------------------------------------------------------------


def test_exactly_one_default_address():
    buyer = UserFactory()
    first = services.address_create(buyer=buyer, data=ADDRESS)
    second = services.address_create(buyer=buyer, data={**ADDRESS, "recipient": "张三"})
    defaults = lambda: list(Address.objects.filter(buyer=buyer, is_default=True).values_list("pk", flat=True))  # noqa: E731
    assert defaults() == [first.pk]
    services.address_set_default(address=second, buyer=buyer)
    assert defaults() == [second.pk]
    third = services.address_create(buyer=buyer, data=ADDRESS, make_default=True)
    assert defaults() == [third.pk]
    services.address_delete(address=third, buyer=buyer)
    assert defaults() == [second.pk]  # the newest remaining one
    services.address_update(address=first, buyer=buyer, data={**ADDRESS, "city": "宁波市"}, make_default=True)
    assert defaults() == [first.pk]
    assert Address.objects.get(pk=first.pk).city == "宁波市"


def test_address_services_refuse_other_buyers_and_incomplete_data():
    owner, intruder = UserFactory(), UserFactory()
    address = services.address_create(buyer=owner, data=ADDRESS)
    with pytest.raises(OrderError) as info:
        services.address_update(address=address, buyer=intruder, data={**ADDRESS, "city": "X"})
    assert info.value.code == "not_your_address"
    with pytest.raises(OrderError) as info:
        services.address_delete(address=address, buyer=intruder)
    assert info.value.code == "not_your_address"
    with pytest.raises(OrderError) as info:
        services.address_create(buyer=owner, data={**ADDRESS, "line": " "})
    assert (info.value.code, list(info.value.extra["fields"])) == ("address_incomplete", ["line"])
    address.refresh_from_db()
    assert (Address.objects.count(), address.city, address.is_default) == (1, "杭州市", True)


def test_address_pages():
    buyer = UserFactory()
    web = client_for(buyer)
    assert web.post(reverse("orders:addresses"), {**ADDRESS, "phone": "call me"}).status_code == 400
    assert Address.objects.count() == 0
    web.post(reverse("orders:addresses"), ADDRESS)
    web.post(reverse("orders:addresses"), {**ADDRESS, "recipient": "张三"})
    first, second = Address.objects.order_by("id")
    web.post(reverse("orders:address_default", args=[second.pk]))
    web.post(reverse("orders:address_edit", args=[first.pk]), {**ADDRESS, "line": "新地址 1 号"})
    web.post(reverse("orders:address_delete", args=[second.pk]))
    first.refresh_from_db()
    assert list(Address.objects.values_list("pk", "line", "is_default")) == [(first.pk, "新地址 1 号", True)]


# --- Who may see what -----------------------------------------------------------------------


@pytest.fixture
def world():
    """Buyer A's unpaid order (with a started payment) and shipped order with a rejected
    request; buyer B; the selling merchant's owner; a staff user."""
    buyer, web, shipped, part = paid_order(1, shipped=True)
    line = part.lines.get()
    request = services.after_sales_request_create(
        order=part, buyer=buyer, kind="refund", reason="Late", items=[(line.pk, 1, Decimal("5.00"))]
    )
    services.after_sales_reject(
        request=request, merchant=request.merchant_order.merchant, actor=part.merchant.owner, note="No."
    )
    web.post(reverse("orders:cart_add"), {"sku": line.sku_id, "quantity": 1})
    unpaid = place(web)
    payment = services.payment_start(buyer_order=unpaid)
    gets = [
        reverse("orders:order_detail", args=[shipped.number]),
        reverse("orders:pay", args=[unpaid.number]),
        reverse("orders:sandbox_pay", args=[payment.reference]),
        reverse("orders:after_sales_new", args=[shipped.number, part.number]),
        reverse("orders:after_sales_escalate", args=[shipped.number, request.pk]),
        reverse("orders:complaint_new", args=[shipped.number, part.number]),
        reverse("orders:review_new", args=[shipped.number, line.pk]),
        reverse("orders:address_edit", args=[Address.objects.get(buyer=buyer).pk]),
    ]
    posts = [
        (reverse("orders:order_cancel", args=[unpaid.number, unpaid.merchant_orders.get().number]), {}),
        (reverse("orders:order_confirm", args=[shipped.number, part.number]), {}),
        (reverse("orders:after_sales_withdraw", args=[shipped.number, request.pk]), {}),
        (reverse("orders:after_sales_escalate", args=[shipped.number, request.pk]), {"statement": "Please."}),
        (reverse("orders:sandbox_pay", args=[payment.reference]), {"outcome": "pay"}),
        (reverse("orders:pay", args=[unpaid.number]), {}),
        (reverse("orders:review_new", args=[shipped.number, line.pk]), {"rating": "1"}),
        (reverse("orders:complaint_new", args=[shipped.number, part.number]), {"category": "other", "text": "x"}),
        (reverse("orders:address_delete", args=[Address.objects.get(buyer=buyer).pk]), {}),
    ]
    return {"buyer": buyer, "merchant": part.merchant.owner, "gets": gets, "posts": posts, "orders": [shipped, unpaid]}


def _state():
    return (
        list(BuyerOrder.objects.order_by("id").values_list("status", flat=True)),
        list(MerchantOrder.objects.order_by("id").values_list("status", "is_frozen")),
        list(AfterSalesRequest.objects.values_list("status", flat=True)),
        list(Payment.objects.order_by("id").values_list("status", flat=True)),
        Payment.objects.count(),
        Review.objects.count(),
        Complaint.objects.count(),
        Address.objects.count(),
    )


def test_the_buyer_sees_every_page(world):
    web = client_for(world["buyer"])
    assert [web.get(url).status_code for url in world["gets"]] == [200] * len(world["gets"])


@pytest.mark.parametrize("who", ["other_buyer", "merchant_member", "staff"])
def test_anyone_else_gets_404_and_changes_nothing(world, who):
    user = {
        "other_buyer": lambda: UserFactory(),
        "merchant_member": lambda: world["merchant"],
        "staff": lambda: UserFactory(is_staff=True),
    }[who]()
    web = client_for(user)
    before = _state()
    assert [web.get(url).status_code for url in world["gets"]] == [404] * len(world["gets"])
    assert [web.post(url, data).status_code for url, data in world["posts"]] == [404] * len(world["posts"])
    assert _state() == before
    listed = web.get(reverse("orders:order_list")).content.decode()
    assert all(order.number not in listed for order in world["orders"])


def test_anonymous_visitors_are_sent_to_log_in_except_for_the_cart(world):
    web = client_for()
    before = _state()
    pages = [*world["gets"], reverse("orders:order_list"), reverse("orders:checkout"), reverse("orders:addresses")]
    for url in pages:
        response = web.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={url}")
    for url, data in world["posts"]:
        assert web.post(url, data)["Location"].startswith("/accounts/login/")
    assert _state() == before
    assert web.get(reverse("orders:cart")).status_code == 200


def test_after_sales_photos_are_uploaded_through_the_page():
    from orders.models import AfterSalesPhoto
    from tests.catalog.factories import image_upload

    _buyer, web, order, part = paid_order(1, shipped=True)
    line = part.lines.get()
    url = reverse("orders:after_sales_new", args=[order.number, part.number])
    response = web.post(
        url,
        {
            "kind": "refund",
            "reason": "Dented box.",
            f"line_{line.pk}_include": "on",
            f"line_{line.pk}_quantity": 1,
            f"line_{line.pk}_amount": "5.00",
            "photos": [image_upload(color=(9, 8, 7), name="a.png"), image_upload(color=(7, 8, 9), name="b.jpg")],
        },
    )
    assert response.status_code == 302
    request = AfterSalesRequest.objects.get()
    assert AfterSalesPhoto.objects.filter(request=request).count() == 2
    detail = web.get(f"/orders/{order.number}/").content.decode()
    assert detail.count("/after-sales/photos/") == 4  # link and image of each photo


def test_three_after_sales_photos_of_12000_by_12000_are_refused_through_the_page():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from orders.models import AfterSalesPhoto
    from tests.factories import no_decoding, png_bomb

    _buyer, web, order, part = paid_order(1, shipped=True)
    line = part.lines.get()
    url = reverse("orders:after_sales_new", args=[order.number, part.number])
    with no_decoding() as load:
        response = web.post(
            url,
            {
                "kind": "refund",
                "reason": "Dented box.",
                f"line_{line.pk}_include": "on",
                f"line_{line.pk}_quantity": 1,
                f"line_{line.pk}_amount": "5.00",
                "photos": [SimpleUploadedFile(f"{n}.png", png_bomb()) for n in range(3)],
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400
    assert "The image is larger than 40 megapixels. Scale it down and upload it again." in response.content.decode()
    assert load.call_count == 0
    assert AfterSalesRequest.objects.count() == 0
    assert AfterSalesPhoto.objects.count() == 0


@pytest.mark.parametrize("next_url", ["cart", "%00", "orders:cart", "https://evil.example/", "//evil.example/"])
def test_a_next_url_that_is_not_a_path_of_this_site_falls_back_to_the_page_itself(next_url):
    # redirect() reads a string without "/" or "." as a view name: "cart" or "%00" answered 500.
    sku = stocked_sku()
    buyer = UserFactory()
    web = client_for(buyer)
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "next": next_url})
    assert (response.status_code, response["Location"]) == (302, reverse("orders:cart"))
    assert CartItem.objects.get(cart__buyer=buyer).quantity == 1
    response = web.post(reverse("orders:addresses"), {**ADDRESS, "next": next_url})
    assert (response.status_code, response["Location"]) == (302, reverse("orders:addresses"))
    assert Address.objects.filter(buyer=buyer).count() == 1


def test_a_next_path_of_this_site_is_followed():
    sku = stocked_sku()
    web = client_for(UserFactory())
    response = web.post(reverse("orders:cart_add"), {"sku": sku.pk, "quantity": 1, "next": "/checkout/"})
    assert (response.status_code, response["Location"]) == (302, "/checkout/")
