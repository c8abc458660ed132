"""Fixed orders for the marketing view's tests, written row by row (the figures must be known
to the cent): two promotions — a shop one of `shop` whose platform share of 0.5 operations
approved (each discount split half and half) and a platform one — a new buyer and a returning
one, a partial refund on each promotion, and an order cancelled before payment that must count
nowhere.

Expected figures (goods paid after discounts, shipping excluded, less refunds):
- shop: orders 2 (new 1); cost merchant = platform = 15 + 10 × 120/180 = 21.67;
  GMV 308 (first order, shop A) + 120 (second order) = 428.00; ROI 428 / 43.34 = 9.9;
  per day: 2 Dec 15.00 + 15.00 / 308.00 / new 1, 3 Dec 6.67 + 6.67 / 120.00 / new 0 (paid at
  00:30 in Shanghai: still 2 Dec in UTC).
- platform: orders 1 (new 1); cost merchant 0, platform 12 + 4 × 48/96 = 14.00;
  GMV 308 (shop A) + 48 (shop B) = 356.00; ROI 356 / 14 = 25.4.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from django.db.models import F

from orders.choices import BuyerOrderStatus, OrderStatus
from orders.models import BuyerOrder, MerchantOrder, OrderLine, OrderLineDiscount
from promotions.choices import BenefitType
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.promotions.factories import promotion

SH = ZoneInfo("Asia/Shanghai")
D = Decimal
_numbers = count(1)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


class _Shop:
    def __init__(self):
        self.merchant, (self.category,) = live_merchant()
        self.sku = product(self.merchant, self.category, skus=[{"code": "M1", "price": "10.00"}]).skus.get()


def place(buyer, shops, *, paid_at, cancelled=False) -> BuyerOrder:
    """A buyer order of (shop, [(gross, {promotion: (merchant part, platform part)})]) merchant
    orders, shipping ¥8 each; paid at `paid_at` (None: unpaid, cancelled if asked)."""
    number = next(_numbers)
    orders, goods, discounts = [], D(0), D(0)
    for shop, lines in shops:
        gross = sum((D(g) for g, _d in lines), D(0))
        off = sum((D(m) + D(p) for _g, parts in lines for m, p in parts.values()), D(0))
        orders.append((shop, lines, gross, off))
        goods, discounts = goods + gross, discounts + off
    status = BuyerOrderStatus.PAID if paid_at else (BuyerOrderStatus.CANCELLED if cancelled else "pending_payment")
    placed = paid_at or at(2026, 12, 2, 9)
    border = BuyerOrder.objects.create(
        number=f"MKT{number}",
        buyer=buyer,
        status=status,
        recipient="R",
        phone="13800000000",
        region="east",
        address="A",
        goods_total=goods,
        discount_total=discounts,
        shipping_total=D(8) * len(orders),
        payable_total=goods - discounts + D(8) * len(orders),
        placed_at=placed,
        pay_by=placed + datetime.timedelta(minutes=30),
        paid_at=paid_at,
        cancelled_at=None if paid_at or not cancelled else placed,
    )
    for i, (shop, lines, gross, off) in enumerate(orders):
        mstatus = OrderStatus.PAID if paid_at else (OrderStatus.CANCELLED if cancelled else OrderStatus.PENDING_PAYMENT)
        morder = MerchantOrder.objects.create(
            buyer_order=border,
            merchant=shop.merchant,
            number=f"MKT{number}-{i}",
            status=mstatus,
            goods_total=gross,
            discount_total=off,
            shipping_fee=D(8),
            paid_total=gross - off + D(8),
            placed_at=placed,
            paid_at=paid_at,
        )
        for g, parts in lines:
            m = sum((D(x) for x, _y in parts.values()), D(0))
            p = sum((D(y) for _x, y in parts.values()), D(0))
            line = OrderLine.objects.create(
                merchant_order=morder,
                merchant=shop.merchant,
                sku=shop.sku,
                category=shop.category,
                product_title="Mug",
                sku_code="M1",
                unit_price=D(g),
                quantity=1,
                gross=D(g),
                merchant_discount=m,
                platform_discount=p,
                paid=D(g) - m - p,
                base=D(g) - m,
                category_rate=D("0.1"),
                commission_rate=D("0.1"),
                commission=D(0),
            )
            for promo, (mp, pp) in parts.items():
                OrderLineDiscount.objects.create(line=line, promotion=promo, merchant_part=D(mp), platform_part=D(pp))
    return border


def refund(order: BuyerOrder, shop, gross: str, amount: str) -> None:
    """Record `amount` refunded on the line of `gross` of `shop`'s merchant order."""
    OrderLine.objects.filter(merchant_order__buyer_order=order, merchant=shop.merchant, gross=D(gross)).update(
        refunded=F("refunded") + D(amount)
    )


@dataclass
class World:
    shop: _Shop
    other_shop: _Shop
    shop_promo: object
    platform_promo: object
    new_buyer: object
    returning_buyer: object


def build() -> World:
    shop, other = _Shop(), _Shop()
    shop_promo = promotion(
        merchant=shop.merchant,
        platform_share="0.5",
        name="Winter sale",
        starts_at=at(2026, 12, 1),
        ends_at=at(2026, 12, 4, 23, 59),
    )
    platform_promo = promotion(
        benefit=BenefitType.PERCENTAGE,
        percent="4",
        name="Double 12",
        starts_at=at(2026, 12, 1),
        ends_at=at(2026, 12, 3, 23, 59),
    )
    new_buyer, returning = UserFactory(email="new@example.com"), UserFactory(email="back@example.com")
    # The returning buyer's first paid order, before either promotion.
    place(returning, [(other, [("40.00", {})])], paid_at=at(2026, 11, 20, 10))
    first = place(
        new_buyer,
        [
            (shop, [("300.00", {shop_promo: ("15", "15"), platform_promo: ("0", "12")}), ("50.00", {})]),
            (other, [("100.00", {platform_promo: ("0", "4")})]),
        ],
        paid_at=at(2026, 12, 2, 10),
    )
    refund(first, other, "100.00", "48.00")
    second = place(returning, [(shop, [("200.00", {shop_promo: ("10", "10")})])], paid_at=at(2026, 12, 3, 0, 30))
    refund(second, shop, "200.00", "60.00")
    # Cancelled before payment: counts nowhere (and does not make its buyer "returning").
    place(UserFactory(), [(shop, [("300.00", {shop_promo: ("15", "15")})])], paid_at=None, cancelled=True)
    return World(shop, other, shop_promo, platform_promo, new_buyer, returning)
