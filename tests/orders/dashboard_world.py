"""Shops with paid, completed and refunded-for orders placed through the real services, at
noon (platform time) of days before today, for the dashboards' tests."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from orders import services as order_services
from orders.gateways import sandbox
from orders.models import MerchantOrder
from orders.services import CheckoutItem
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.settlements.test_runs import Shop

__all__ = ["Shop", "after_sales", "days_ago", "paid_order", "shipped_order"]


def days_ago(days: int, hour: int = 12) -> datetime.datetime:
    """`hour` o'clock (platform time) `days` days before today."""
    day = timezone.localdate() - datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def paid_order(shop: Shop, items, *, when: datetime.datetime, buyer=None, pay: bool = True) -> MerchantOrder:
    """A merchant order of `items` [(price, quantity)] placed (and paid, unless `pay` is
    false) at `when`. Shipping is the shop's ¥8.00."""
    buyer = buyer or UserFactory()
    with mock.patch("django.utils.timezone.now", return_value=when):
        order = order_services.checkout_place(
            buyer=buyer, address=address_for(buyer), items=[CheckoutItem(shop.sku(p).pk, q) for p, q in items]
        )
        if pay:
            payment = order_services.payment_start(buyer_order=order)
            body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
            event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
            order_services.gateway_event_process(gateway="sandbox", event=event)
    return order.merchant_orders.get()


def shipped_order(shop: Shop, items, *, when: datetime.datetime) -> MerchantOrder:
    merchant_order = paid_order(shop, items, when=when)
    with mock.patch("django.utils.timezone.now", return_value=when):
        order_services.merchant_order_ship(
            order=merchant_order, merchant=shop.merchant, actor=shop.merchant.owner, carrier="SF", tracking_number="1"
        )
    merchant_order.refresh_from_db()
    return merchant_order


def after_sales(merchant_order: MerchantOrder, *, when: datetime.datetime, amount: str = "5.00"):
    """A refund-only request on the order's first line, opened at `when` (the order must be shipped)."""
    line = merchant_order.lines.first()
    with mock.patch("django.utils.timezone.now", return_value=when):
        return order_services.after_sales_request_create(
            order=merchant_order,
            buyer=merchant_order.buyer_order.buyer,
            kind="refund",
            reason="Scratched",
            items=[(line.pk, 1, Decimal(amount))],
        )
