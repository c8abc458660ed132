"""Builders for the members tests: paid orders placed through the real checkout."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from catalog import services as catalog_services
from orders import services as order_services
from orders.gateways import sandbox
from orders.models import BuyerOrder, MerchantOrder
from orders.services import CheckoutItem
from promotions.models import MembershipLevel
from tests.catalog.factories import live_merchant, product, warehouse
from tests.orders.factories import address_for

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def levels(*rows: tuple[str, str, str]) -> list[MembershipLevel]:
    """Replace the default levels by (code, name, threshold) rows."""
    MembershipLevel.objects.all().delete()
    return [MembershipLevel.objects.create(code=c, name=n, threshold=Decimal(t)) for c, n, t in rows]


class Shop:
    """A live merchant selling SKUs at the prices asked for, with stock."""

    def __init__(self):
        self.merchant, (self.category,) = live_merchant()
        self.wh = warehouse()
        self.skus = {}

    def sku(self, price: str):
        if price not in self.skus:
            item = product(self.merchant, self.category, skus=[{"code": f"P{price}", "price": price}])
            sku = item.skus.get()
            catalog_services.stock_receive(
                merchant=sku.merchant, sku=sku, warehouse=self.wh, quantity=1000, actor=self.merchant.owner
            )
            self.skus[price] = sku
        return self.skus[price]

    def order(self, buyer, price: str, *, paid_at: datetime.datetime | None, quantity: int = 1) -> MerchantOrder:
        """An order of `quantity` × the SKU at `price`, paid at `paid_at` (None: left unpaid)."""
        with mock.patch("django.utils.timezone.now", return_value=paid_at or at(2026, 12, 1, 12)):
            order = order_services.checkout_place(
                buyer=buyer, address=address_for(buyer), items=[CheckoutItem(self.sku(price).pk, quantity)]
            )
            if paid_at is not None:
                payment = order_services.payment_start(buyer_order=order)
                body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
                event = sandbox.SandboxGateway().parse_callback(
                    headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body
                )
                order_services.gateway_event_process(gateway="sandbox", event=event)
        merchant_order = order.merchant_orders.get()
        if paid_at is not None:
            MerchantOrder.objects.filter(pk=merchant_order.pk).update(paid_at=paid_at)
            BuyerOrder.objects.filter(pk=order.pk).update(paid_at=paid_at)
        merchant_order.refresh_from_db()
        return merchant_order
