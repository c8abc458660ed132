"""Builders for notification tests."""

from __future__ import annotations

from catalog import services as catalog_services
from merchants.choices import MemberRole
from merchants.models import MerchantMember
from orders import services
from orders.gateways import sandbox
from orders.services import CheckoutItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for


def members(merchant) -> dict[str, object]:
    """A member of each non-owner role (and an inactive orders member, who is told nothing)."""
    team = {}
    for role in (MemberRole.ORDERS, MemberRole.CATALOG, MemberRole.FINANCE):
        user = UserFactory()
        MerchantMember.objects.create(merchant=merchant, user=user, role=role)
        team[str(role)] = user
    gone = UserFactory(is_active=False)
    MerchantMember.objects.create(merchant=merchant, user=gone, role=MemberRole.ORDERS)
    return team


def pay(buyer_order) -> None:
    payment = services.payment_start(buyer_order=buyer_order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    services.gateway_event_process(gateway="sandbox", event=event)


def paid_order(*, ship: bool, buyer=None):
    """A paid order of one shop with a member of every role; shipped with SF/SF1 if `ship`."""
    merchant, (cat,) = live_merchant()
    team = members(merchant)
    item = product(merchant, cat, skus=[{"code": "L1", "price": "35.50"}])
    sku = item.skus.get()
    catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=warehouse(), quantity=20, actor=merchant.owner)
    buyer = buyer or UserFactory()
    order = services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 2)])
    pay(order)
    merchant_order = order.merchant_orders.get()
    if ship:
        services.merchant_order_ship(
            order=merchant_order, merchant=merchant, actor=merchant.owner, carrier="SF", tracking_number="SF1"
        )
    merchant_order.refresh_from_db()
    return merchant_order, buyer, merchant, team
