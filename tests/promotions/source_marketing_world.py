"""Flash sales and group buys with known marketing figures, placed, paid and refunded through
the services (`tests.orders.test_source_marketing` checks the figures, the pages' tests use them)."""

from __future__ import annotations

from decimal import Decimal

from orders import services as order_services
from orders.services import CheckoutItem
from orders.services.refunds import RefundItem, refund_issue
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import pay
from tests.promotions.flash_factories import live_sale, stocked_sku
from tests.promotions.group_buy_world import after_close, build_group_world, group_of

D = Decimal


def flash_order(sale, buyer, units, *, paid=True):
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=units)
    order = order_services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, units)]
    )
    return pay(order) if paid else order


def refund(order, amount):
    merchant_order = order.merchant_orders.get()
    line = merchant_order.lines.get()
    refund_issue(merchant_order=merchant_order, items=[RefundItem(line.pk, D(amount), 0)], reason="test")


def build_flash_world():
    """A sale at ¥80 instead of ¥100, the platform funding a quarter: a new buyer's 2 units
    (¥40 off: merchant 30, platform 10; paid 160), a returning buyer's unit (¥20 off: 15 / 5;
    paid 80, half refunded: 7.50 / 2.50 kept, GMV 40) and an unpaid order (counts nowhere)."""
    sku = stocked_sku(price="100.00")
    sale = live_sale(
        sku=sku, special="80.00", quantity=10, limit=2, funding="split", platform_share=D("0.25"), by_staff=True
    )
    newcomer, regular = UserFactory(), UserFactory()
    other = stocked_sku(price="5.00", merchant=sku.merchant, category=sku.product.category)
    pay(order_services.checkout_place(buyer=regular, address=address_for(regular), items=[CheckoutItem(other.pk, 1)]))
    flash_order(sale, newcomer, 2)
    refund(flash_order(sale, regular, 1), "40.00")
    flash_order(sale, UserFactory(), 1, paid=False)
    return sale


def build_closed_group_world():
    """Five new buyers reach the 20 % step of a ¥100.00 group buy funded half by the platform:
    each paid 90 (10 off: 5 / 5) and got 10 back at the close (5 / 5 more), GMV 80 each."""
    world = build_group_world(platform_share="0.5")
    participants = group_of(world, 5)
    assert order_services.group_buys_close_due(now=after_close(participants[0].group)) == 5
    return world, participants
