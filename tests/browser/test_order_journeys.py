"""Buying in a real browser: log in, cart, checkout, sandbox payment; the merchant ships in
the portal; the buyer confirms receipt and reviews. And a double click on "Place order"."""

from __future__ import annotations

import re
import threading
import time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from catalog.models import Stock
from orders import services as order_services
from orders.errors import RequestInProgress
from orders.models import Address, BuyerOrder, CartItem, CheckoutAttempt, MerchantOrder, Payment, Review, Shipment
from orders.services import checkout as checkout_module
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for


def _lamp_for_sale(*, on_hand: int = 10):
    """A live merchant's desk lamp with two colours, both stocked in an East China warehouse."""
    merchant, (category,) = live_merchant()
    lamp = product(
        merchant,
        category,
        title="Desk lamp",
        skus=[
            {"code": "LAMP-WHITE", "price": "32.00", "attributes": {"colour": "white"}},
            {"code": "LAMP-BLACK", "price": "35.50", "attributes": {"colour": "black"}},
        ],
    )
    where = warehouse(region="east")
    for sku in lamp.skus.all():
        catalog_services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=where, quantity=on_hand, actor=None)
    return merchant, lamp


def _stock_of(sku) -> tuple[int, int]:
    stock = Stock.objects.get(sku=sku)
    return stock.on_hand, stock.reserved


def _add_to_cart(page: Page, lamp, *, colour: str, quantity: int) -> None:
    page.goto(f"/p/{lamp.pk}/")
    page.get_by_role("group", name="Choose an option").get_by_role(
        "radio", name=re.compile(f"colour: {colour}")
    ).check()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".messages")).to_contain_text("Added to your cart.")
    expect(page.locator(".cart-link .badge")).to_have_text(str(quantity))


def test_buy_pay_ship_confirm_and_review(page: Page, new_page, log_in):
    merchant, lamp = _lamp_for_sale()
    black = lamp.skus.get(code="LAMP-BLACK")
    buyer = UserFactory(email="wei@example.com", first_name="Wei", last_name="Wang")
    # 2 × ¥35.50 = ¥71.00 is under the ¥99 free-shipping threshold: the default ¥8.00 applies.
    price, shipping = Decimal("35.50"), Decimal("8.00")
    total = 2 * price + shipping
    assert total == Decimal("79.00")

    # The buyer logs in through the login page and puts 2 black lamps in the cart.
    log_in(page, buyer.email)
    expect(page.locator(".user-name")).to_have_text(buyer.display_name)
    _add_to_cart(page, lamp, colour="black", quantity=2)

    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    line = page.locator(".cart-line", has_text="Desk lamp")
    expect(line).to_contain_text("¥35.50")
    expect(line.get_by_label("Quantity")).to_have_value("2")
    expect(line.locator(".cart-line-total")).to_have_text("¥71.00")
    totals = page.locator(".cart-total")
    expect(totals).to_contain_text("¥8.00")
    expect(totals).to_contain_text("¥79.00")

    # Checkout: no saved address yet, so one is added on the way.
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.get_by_text("Add a delivery address first.")).to_be_visible()
    form = page.locator("form.address-form")
    form.get_by_label("Recipient").fill("王伟")
    form.get_by_label("Phone").fill("138 0000 0000")
    form.get_by_label("Region").select_option(label="East China")
    form.get_by_label("Province").fill("上海市")
    form.get_by_label("City").fill("上海市")
    form.get_by_label("District").fill("浦东新区")
    form.get_by_label("Street address").fill("世纪大道 100 号")
    form.get_by_label("Postcode").fill("200120")
    form.get_by_role("button", name="Save address").click()
    expect(page.locator(".messages")).to_contain_text("Address saved.")
    expect(page).to_have_url(re.compile(r"/checkout/$"))
    expect(page.get_by_role("radio", name=re.compile("王伟"))).to_be_checked()
    expect(page.locator(".cart-total")).to_contain_text("¥79.00")

    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay for your order")
    order = BuyerOrder.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/pay/{order.number}/$"))
    assert _stock_of(black) == (10, 2)  # reserved at checkout, not yet gone

    # The sandbox gateway: pay.
    page.get_by_role("button", name="Pay ¥79.00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the payment")
    expect(page.locator(".sandbox-gateway")).to_contain_text("¥79.00")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.locator(".messages")).to_contain_text("Payment received.")
    expect(page.locator(".order-head")).to_contain_text("Paid")

    # The merchant owner, in another browser context, ships it from the portal.
    part = MerchantOrder.objects.get(buyer_order=order)
    shop = new_page()
    log_in(shop, merchant.owner.email, next_url="/portal/orders/")
    expect(shop.get_by_role("heading", level=1)).to_have_text("Orders")
    shop.get_by_role("link", name=part.number).click()
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"Order {part.number}")
    expect(shop.locator(".portal-main")).to_contain_text("Paid")
    shop.get_by_label("Carrier").fill("SF Express")
    shop.get_by_label("Tracking number").fill("SF1234567890")
    shop.get_by_role("button", name="Mark as shipped").click()
    expect(shop.locator(".messages")).to_contain_text("Shipped.")
    shipments = shop.locator("#shipping table")
    expect(shipments).to_contain_text("SF Express")
    expect(shipments).to_contain_text("SF1234567890")
    assert _stock_of(black) == (8, 0)  # shipped: the 2 units left the warehouse

    # The buyer sees the parcel, confirms receipt and reviews the lamp.
    page.goto(f"/orders/{order.number}/")
    expect(page.locator(".shipments")).to_contain_text("SF Express, tracking number SF1234567890")
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator(".messages")).to_contain_text("The order is completed")
    expect(page.locator(".order-part")).to_contain_text("Completed")
    page.get_by_role("link", name="Write a review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Write a review")
    page.get_by_role("radio", name="★★★★★", exact=True).check()
    page.get_by_label("Your review (optional)").fill("Bright and steady, exactly as described.")
    page.get_by_role("button", name="Publish the review").click()
    expect(page.locator(".messages")).to_contain_text("Thank you for your review.")
    expect(page.get_by_label("5 stars")).to_have_text("★★★★★")

    # The database, exactly.
    assert BuyerOrder.objects.filter(buyer=buyer).count() == 1
    order.refresh_from_db()
    assert (order.status, order.goods_total, order.shipping_total, order.payable_total) == (
        "paid",
        Decimal("71.00"),
        shipping,
        total,
    )
    payment = Payment.objects.get(buyer_order=order)
    assert (payment.status, payment.amount) == ("succeeded", total)
    part.refresh_from_db()
    assert (part.status, part.paid_total, part.shipping_fee) == ("completed", total, shipping)
    line = part.lines.get()
    assert (line.sku_id, line.quantity, line.unit_price, line.paid) == (black.pk, 2, price, Decimal("71.00"))
    shipment = Shipment.objects.get()
    assert (shipment.status, shipment.carrier, shipment.tracking_number) == ("shipped", "SF Express", "SF1234567890")
    review = Review.objects.get()
    assert (review.order_line_id, review.buyer_id, review.merchant_id, review.rating) == (
        line.pk,
        buyer.pk,
        merchant.pk,
        5,
    )
    assert review.text == "Bright and steady, exactly as described."
    assert _stock_of(black) == (8, 0)
    assert _stock_of(lamp.skus.get(code="LAMP-WHITE")) == (10, 0)
    address = Address.objects.get(buyer=buyer)
    assert (address.recipient, address.region, address.postcode) == ("王伟", "east", "200120")


def _wait_for(page: Page, event: threading.Event, what: str, timeout_s: float = 5.0) -> None:
    """Let the browser run until the server thread has set `event`."""
    deadline = time.monotonic() + timeout_s
    while not event.is_set():
        assert time.monotonic() < deadline, f"the server never got to: {what}"
        page.wait_for_timeout(10)


@pytest.mark.parametrize("second_click", ["while_the_first_places", "after_the_first_placed"])
def test_a_double_click_on_place_order_places_one_order(page: Page, log_in, monkeypatch, second_click):
    """Two clicks on "Place order" in quick succession: one order, whenever the second lands.

    Playwright's `dblclick()` is not enough: its two clicks come within the same instant and
    Chromium drops the second form submission before the first request has left, so the
    server only ever sees one POST. Here the second mouse click comes as soon as the server
    is busy with the first submission (well under a human double click's 150 ms on a quick
    machine), so both POSTs reach the server, as they do from a user on a slow connection.
    The server is slowed down (1 s) so the first answer cannot have replaced the page yet.
    """
    _merchant, lamp = _lamp_for_sale()
    white = lamp.skus.get(code="LAMP-WHITE")
    buyer = UserFactory()
    address_for(buyer)  # a saved default address: the checkout page is ready to place
    log_in(page, buyer.email)
    _add_to_cart(page, lamp, colour="white", quantity=1)

    # Spy on the checkout service the view calls (in the live server's thread): what it did
    # with each submission, and when the first one holds the lock or has committed.
    seen: list[tuple[str, str]] = []
    placing, committed = threading.Event(), threading.Event()
    real_checkout, real_place = order_services.cart_checkout, checkout_module._place

    def slow_place(**kwargs):  # runs inside the placement, under the checkout lock
        placing.set()
        time.sleep(1.0)
        return real_place(**kwargs)

    def spy(**kwargs):
        try:
            order, created = real_checkout(**kwargs)
        except RequestInProgress:
            seen.append((kwargs["key"], "in_progress"))
            raise
        seen.append((kwargs["key"], "placed" if created else "replayed"))
        if created:
            committed.set()
            if second_click == "after_the_first_placed":
                time.sleep(1.0)  # committed, but the answer is slow to come back
        return order, created

    monkeypatch.setattr(order_services, "cart_checkout", spy)
    if second_click == "while_the_first_places":
        monkeypatch.setattr(checkout_module, "_place", slow_place)

    page.goto("/checkout/")
    expect(page.get_by_role("radio", name=re.compile("王伟"))).to_be_checked()
    button = page.get_by_role("button", name="Place order")
    box = button.bounding_box()
    assert box is not None, "no Place order button"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    if second_click == "while_the_first_places":
        _wait_for(page, placing, "placing the first submission")
    else:
        _wait_for(page, committed, "committing the first submission")
    page.mouse.click(x, y)

    if second_click == "while_the_first_places":
        # The second submission finds the first still placing: a waiting page that
        # refreshes itself until the order is there.
        expect(page.get_by_role("heading", level=1)).to_have_text("Placing your order…")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay for your order")
    order = BuyerOrder.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/pay/{order.number}/$"))
    expect(page.locator(".card")).to_contain_text(order.number)

    # The server got both submissions, with the same idempotency key, and placed once.
    key = CheckoutAttempt.objects.get().key
    if second_click == "while_the_first_places":
        assert seen == [(key, "in_progress"), (key, "placed")]
    else:
        assert seen == [(key, "placed"), (key, "replayed")]
    assert BuyerOrder.objects.count() == 1
    assert CheckoutAttempt.objects.get().buyer_order_id == order.pk
    assert MerchantOrder.objects.count() == 1
    assert order.payable_total == Decimal("40.00")  # ¥32.00 + ¥8.00 shipping
    assert _stock_of(white) == (10, 1)  # reserved once
    assert not CartItem.objects.filter(cart__buyer=buyer).exists()
