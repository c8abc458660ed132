"""A notification in a real browser: the buyer pays in the sandbox; the header counts the new
notification, the centre shows it and marks it read; its e-mail went out after commit."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from notifications.models import Notification
from orders import services as order_services
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for


def test_a_paid_order_appears_in_the_header_and_its_email_is_sent(page: Page, log_in):
    merchant, (category,) = live_merchant()
    lamp = product(merchant, category, title="Desk lamp", skus=[{"code": "LAMP", "price": "35.50"}])
    sku = lamp.skus.get()
    catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=warehouse(), quantity=5, actor=None)
    buyer = UserFactory(email="wei@example.com")
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 2)])
    mail.outbox.clear()

    log_in(page, buyer.email, next_url=f"/pay/{order.number}/")
    expect(page.locator(".notifications-link .badge")).to_have_text("0")
    page.get_by_role("button", name=re.compile(r"^Pay ¥")).click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.locator(".notifications-link .badge")).to_have_text("1")

    page.locator(".notifications-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    item = page.locator(".notification").first
    expect(item).to_contain_text(f"Payment received for order {order.number}")
    expect(item).to_contain_text(f"Order {order.number} is paid: ¥{order.payable_total}.")
    item.get_by_role("button", name="Mark read").click()
    expect(page.locator(".notifications-link .badge")).to_have_text("0")
    assert Notification.objects.get(user=buyer).read_at is not None

    # The e-mail: to the buyer, once, in the platform's language (no choice made: zh-hans).
    to_buyer = [m for m in mail.outbox if m.to == ["wei@example.com"]]
    assert len(to_buyer) == 1
    assert order.number in to_buyer[0].subject
    assert f"/orders/{order.number}/" in to_buyer[0].body
