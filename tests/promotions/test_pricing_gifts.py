"""The engine's "buy X, get X": a gift whose SKU is a line of the cart is its own line
(`gift:<promotion id>`), discounted in full, beside the ordered line, which keeps its price
and stays open to the other promotions; a platform promotion after it never touches it."""

from __future__ import annotations

from decimal import Decimal

from promotions.choices import BenefitType, PromotionLevel
from promotions.pricing import Benefit, Gift, price_cart
from tests.promotions.test_pricing import NOW, line, offer, percent

D = Decimal


def test_the_gift_of_the_sku_ordered_is_a_separate_line_discounted_in_full():
    mug = line("l1", price="30.00", qty=2, sku=1001, product=501)
    gift = Benefit(
        type=BenefitType.GIFT_SKU, gift=Gift(sku_id=1001, product_id=501, merchant_id=1, unit_price=D("30.00"))
    )
    result = price_cart(
        [mug],
        [offer(1, gift, min_spend="50"), offer(2, percent("10"), level=PromotionLevel.PLATFORM, share="1")],
        now=NOW,
    )

    assert [(g.key, g.sku_id, g.quantity, g.gross) for g in result.gifts] == [("gift:1", 1001, 1, D("30.00"))]
    assert [(p.key, p.gross, p.merchant_discount, p.platform_discount, p.paid, p.is_gift) for p in result.lines] == [
        ("l1", D("60.00"), D("0.00"), D("6.00"), D("54.00"), False),  # 10 % of the ordered units only
        ("gift:1", D("30.00"), D("30.00"), D("0.00"), D("0.00"), True),
    ]
    assert result.total_discount == D("36.00")


def test_below_the_condition_the_sku_ordered_gets_no_gift():
    mug = line("l1", price="30.00", qty=1, sku=1001, product=501)
    gift = Benefit(
        type=BenefitType.GIFT_SKU, gift=Gift(sku_id=1001, product_id=501, merchant_id=1, unit_price=D("30.00"))
    )
    result = price_cart([mug], [offer(1, gift, min_spend="50")], now=NOW)
    assert (result.gifts, result.total_discount) == ((), D("0"))
