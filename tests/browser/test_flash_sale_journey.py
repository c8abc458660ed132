"""A flash sale in a real browser: the page counts down, a buyer grabs a unit, sees the hold,
checks out at the special price; a refusal says why."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from orders.models import BuyerOrder, OrderLine
from promotions.choices import FlashReservationStatus
from promotions.models import FlashReservation, FlashSale
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.flash_factories import _flash_redis_clean, live_sale  # noqa: F401

COUNTDOWN = re.compile(r"^\d+:\d\d:\d\d$")


def test_grab_a_unit_see_the_hold_and_check_out_at_the_special_price(page: Page, new_page, log_in):
    sale = live_sale(price="199.99", special="99.00", quantity=1, limit=1, lasts=timedelta(hours=2))
    upcoming = live_sale(price="50.00", special="20.00", quantity=3, starts_in=timedelta(hours=1))
    buyer = UserFactory(email="fan@example.com")
    address_for(buyer)

    # Anyone sees the sales, each with its countdown; the upcoming one cannot be joined yet.
    page.goto("/promotions/flash-sales/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Flash sales")
    on_now = page.locator("#flash-live-title + ul .flash-sale")
    expect(on_now).to_have_count(1)
    expect(on_now).to_contain_text("¥99.00")
    expect(on_now).to_contain_text("1 unit left")
    expect(on_now.locator("[data-flash-until]")).to_have_text(COUNTDOWN)  # the script ticks
    soon = page.locator(".flash-sale", has_text=upcoming.sku.code)
    expect(soon).to_contain_text("Starts in")
    expect(soon.locator("[data-flash-until]")).to_have_text(COUNTDOWN)
    expect(soon.get_by_role("button", name="Grab it")).to_be_disabled()

    # Another buyer opens the page too, while the unit is still there.
    other = UserFactory(email="late@example.com")
    late = new_page()
    log_in(late, other.email, next_url="/promotions/flash-sales/")
    expect(late.locator(".flash-sale", has_text=sale.sku.code)).to_contain_text("1 unit left")

    # The buyer logs in and grabs the unit: the cart holds it and says until when.
    log_in(page, buyer.email, next_url="/promotions/flash-sales/")
    page.locator(".flash-sale", has_text=sale.sku.code).get_by_role("button", name="Grab it").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.locator(".messages")).to_contain_text(
        re.compile(r"You got it: 1 held for you until \d\d:\d\d at the flash-sale price")
    )
    expect(page.locator(".cart-line", has_text=sale.sku.product.title)).to_be_visible()
    expect(page.locator(".flash-hold")).to_contain_text(re.compile(r"1 at ¥99\.00 each, held until \d\d:\d\d"))
    # The cart's total is what checkout will charge: the held unit at the special price.
    expect(page.locator(".cart-total .summary")).to_contain_text(re.compile(r"Promotions\s*−¥100\.99"))
    expect(page.locator(".cart-total .summary")).to_contain_text(re.compile(r"To pay\s*¥99\.00"))
    reservation = FlashReservation.objects.get(buyer=buyer)
    assert (reservation.units, reservation.status) == (1, FlashReservationStatus.PENDING)

    # Another buyer, whose page still showed the unit, is refused with the reason.
    late.locator(".flash-sale", has_text=sale.sku.code).get_by_role("button", name="Grab it").click()
    expect(late).to_have_url(re.compile(r"/promotions/flash-sales/$"))
    expect(late.locator(".messages")).to_contain_text("Sold out: every unit of this flash sale is taken.")
    assert FlashReservation.objects.filter(buyer=other).count() == 0

    # The holder checks out: the unit at the special price (the goods' gross ships free).
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.locator(".flash-hold")).to_contain_text("1 at ¥99.00 each")
    expect(page.locator(".cart-total .summary")).to_contain_text(re.compile(r"To pay\s*¥99\.00"))
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay for your order")
    order = BuyerOrder.objects.get(buyer=buyer)
    expect(page.get_by_role("button", name="Pay ¥99.00")).to_be_visible()
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    assert (line.gross, line.merchant_discount, line.paid, order.payable_total) == (
        Decimal("199.99"),
        Decimal("100.99"),
        Decimal("99.00"),
        Decimal("99.00"),
    )
    reservation.refresh_from_db()
    assert reservation.status == FlashReservationStatus.CONSUMED
    sale = FlashSale.objects.get(pk=sale.pk)
    assert (sale.sold_units, sale.reserved_units) == (1, 0)


def test_a_second_grab_over_the_limit_shows_the_reason(page: Page, log_in):
    sale = live_sale(quantity=5, limit=1)
    buyer = UserFactory(email="twice@example.com")
    log_in(page, buyer.email, next_url="/promotions/flash-sales/")
    card = page.locator(".flash-sale", has_text=sale.sku.code)
    card.get_by_role("button", name="Grab it").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    page.goto("/promotions/flash-sales/")
    expect(card).to_contain_text("4 units left")
    card.get_by_role("button", name="Grab it").click()
    expect(page.locator(".messages")).to_contain_text("You have reached the limit per buyer of this flash sale.")
    assert FlashReservation.objects.filter(buyer=buyer).count() == 1
    assert FlashSale.objects.get(pk=sale.pk).reserved_units == 1
