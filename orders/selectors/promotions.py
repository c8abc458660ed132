"""Promotions as the cart, the checkout preview and the checkout see them: the live offers
(promotions' selector), the SKUs' pricing facts, the pure engine. The cart and the checkout
call the same `order_pricing`, so the breakdown a buyer saw is the one an order freezes (as
long as nothing changed in between: the checkout prices again when it places)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from catalog.selectors import category_ancestor_ids, sku_available_units, sku_list_for_checkout
from marketplace.errors import DomainError
from marketplace.money import ZERO
from merchants.choices import MerchantStatus
from promotions.pricing import GiftLine, Offer, PricingResult, price_cart
from promotions.selectors import (
    FlashHold,
    cart_line_of,
    flash_holds_live_for_buyer,
    flash_holds_plan,
    live_offers,
    live_offers_possible,
)

from .buyer import CartView

#: What pricing reads of a SKU and its product, category and merchant (the checkout reads
#: these and what its lines and answer need: `orders.services.checkout`).
PRICING_SKU_COLUMNS = (
    "id",
    "product_id",
    "merchant_id",
    "code",
    "attributes",
    "price",
    "is_active",
    "product__id",
    "product__title",
    "product__category_id",
    "product__published_at",
    "product__withdrawn_at",
    "product__category__id",
    "product__category__parent_id",
    "product__category__commission_rate",
    "merchant__id",
    "merchant__status",
    "merchant__credit_grade",
)


def sku_pricing_rows(ids: Iterable[int]):
    """SKUs of `ids` with what pricing reads: product, category path (`category_path`),
    merchant (grade, status) and available units (`available_units`), in one query."""
    return (
        sku_list_for_checkout(ids)
        .only(*PRICING_SKU_COLUMNS)
        .annotate(
            available_units=sku_available_units(OuterRef("pk")),
            category_path=category_ancestor_ids("product__category_id"),
        )
    )


def sku_is_on_sale(sku) -> bool:
    """Active, its product published, its shop live."""
    return sku is not None and sku.is_active and sku.product.is_published and sku.merchant.status == MerchantStatus.LIVE


@dataclass(frozen=True)
class OrderPricing:
    """The engine's answer for a set of lines, the offers it was given (by promotion id), the
    gift SKUs by id (loaded, on sale) and the gifts the answer would have added had their SKU
    had a unit left (`missed_gifts`: what the buyer is told)."""

    result: PricingResult
    offers: dict[int, Offer]
    gift_skus: dict
    missed_gifts: tuple[GiftLine, ...] = ()


def order_pricing(
    *,
    lines: Sequence[tuple[object, int]],
    fees: dict[int, Decimal],
    buyer,
    now,
    coupons=(),
    load_gifts: Callable[[set[int]], Iterable] = sku_pricing_rows,
) -> OrderPricing | None:
    """Price (sku, quantity) `lines` — each SKU with `category_path` and its merchant's grade
    loaded — with the promotions live at `now`; `fees` is each shop's shipping fee before any
    promotion. None when no promotion is live for these shops (no query then, when the
    cached index says so). A gift needs its SKU on sale with a unit left beyond the units
    ordered of it (the gift may be the very SKU ordered: "buy X, get X"); one short of stock
    makes its promotion give nothing, and when the answer would have added it, it is in
    `missed_gifts` (priced a second time, without a query, only then). One more query when a
    gift SKU not among the lines is offered."""
    offers = live_offers(
        merchant_ids={sku.merchant_id for sku, _quantity in lines}, now=now, buyer=buyer, coupons=coupons
    )
    if not offers:
        return None
    ordered: dict[int, int] = defaultdict(int)
    rows = {}
    for sku, quantity in lines:
        ordered[sku.pk] += quantity
        rows[sku.pk] = sku
    gift_ids = {o.benefit.gift.sku_id for o in offers if o.benefit.gift is not None}
    gift_skus = {pk: rows[pk] for pk in gift_ids if pk in rows}
    if gift_ids - gift_skus.keys():
        gift_skus.update((sku.pk, sku) for sku in load_gifts(gift_ids - gift_skus.keys()))
    gift_skus = {pk: sku for pk, sku in gift_skus.items() if sku_is_on_sale(sku)}
    short = {pk for pk, sku in gift_skus.items() if (sku.available_units or 0) < ordered[pk] + 1}
    usable = [o for o in offers if o.benefit.gift is None or o.benefit.gift.sku_id in gift_skus.keys() - short]
    cart_lines = [cart_line_of(sku, quantity, category_path=sku.category_path) for sku, quantity in lines]
    result = price_cart(cart_lines, usable, now=now, shipping_fees=fees)
    missed: tuple[GiftLine, ...] = ()
    if any(o.benefit.gift is not None and o.benefit.gift.sku_id in short for o in offers):
        # What the buyer would have got with those gifts in stock: the gifts of that answer
        # that are short are the ones to tell the buyer about.
        would = price_cart(
            cart_lines,
            [o for o in offers if o.benefit.gift is None or o.benefit.gift.sku_id in gift_skus],
            now=now,
            shipping_fees=fees,
        )
        missed = tuple(gift for gift in would.gifts if gift.sku_id in short)
    return OrderPricing(
        result=result, offers={o.promotion_id: o for o in offers}, gift_skus=gift_skus, missed_gifts=missed
    )


@dataclass
class ShopPricing:
    """One shop of the cart after promotions."""

    merchant_id: int
    goods: Decimal = ZERO
    discount: Decimal = ZERO
    shipping: Decimal = ZERO
    shipping_waived: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.goods - self.discount + self.shipping


@dataclass
class CartPricing:
    """The cart's breakdown: per shop and in total, goods (gross), discounts, shipping after
    any free-shipping promotion; the applied promotions with their names; per line key (the
    SKU id as text) the engine's `LinePricing`; the gift lines."""

    shops: list[ShopPricing] = field(default_factory=list)
    result: PricingResult | None = None
    names: dict[int, str] = field(default_factory=dict)
    #: The (sku, quantity) lines the engine priced (SKUs with their pricing facts).
    lines: list = field(default_factory=list)
    #: The coupon the buyer chose (`cart_pricing_with_coupon`), and why it gives nothing.
    coupon: object = None
    coupon_error: DomainError | None = None
    #: The buyer's flash-sale holds the lines use (SKU id → `FlashHold`), priced as checkout
    #: prices them: the held units at the special price, no other promotion on the line.
    flash: dict[int, FlashHold] = field(default_factory=dict)
    #: (merchant part, platform part) of each flash line's discount, by SKU id.
    flash_discounts: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def flash_discount(self, sku_id: int) -> Decimal:
        return sum(self.flash_discounts.get(sku_id, ()), ZERO)

    @property
    def flash_total(self) -> Decimal:
        return sum((sum(parts, ZERO) for parts in self.flash_discounts.values()), ZERO)

    @property
    def saved(self) -> Decimal:
        """Everything the buyer saves: promotions (free shipping included) and flash prices."""
        return (self.result.total_discount if self.result else ZERO) + self.flash_total

    #: The names of the gifts the cart would get were they in stock (`OrderPricing.missed_gifts`).
    missed_gifts: list[str] = field(default_factory=list)

    @property
    def coupon_discount(self) -> Decimal:
        if self.coupon is None or self.result is None:
            return ZERO
        return sum((a.amount for a in self.result.applied if a.coupon_id == self.coupon.pk), ZERO)

    @property
    def goods_total(self) -> Decimal:
        return sum((shop.goods for shop in self.shops), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((shop.discount for shop in self.shops), ZERO)

    @property
    def shipping_total(self) -> Decimal:
        return sum((shop.shipping for shop in self.shops), ZERO)

    @property
    def total(self) -> Decimal:
        return self.goods_total - self.discount_total + self.shipping_total

    @property
    def applied(self):
        return self.result.applied if self.result else ()

    @property
    def gifts(self):
        return self.result.gifts if self.result else ()


def cart_pricing(cart: CartView, *, buyer=None, now=None, coupons=(), holds=None) -> CartPricing:
    """The promotions the cart's orderable lines get now, as checkout would price them: no
    query when no promotion is live for its shops, else the offers' and the SKUs' (and the
    gifts' when one is offered).

    The buyer's live flash-sale holds price their lines as checkout does (the same
    `flash_holds_plan` and `FlashHold.discount`): the held units at the special price, the
    rest at the normal price, and no other promotion on that line (the engine prices the
    other lines only). `holds`: the buyer's live holds (`flash_holds_live_for_buyer`) when
    the caller already read them (the cart and checkout pages show them), else they are read
    here for a signed-in buyer (one query)."""
    now = now or timezone.now()
    orderable = [line for line in cart.lines if line.on_sale]
    fees = {shop.merchant.pk: shop.shipping for shop in cart.shops if any(line.on_sale for line in shop.lines)}
    shops = {merchant_id: ShopPricing(merchant_id=merchant_id, shipping=fee) for merchant_id, fee in fees.items()}
    for line in orderable:
        shops[line.sku.merchant_id].goods += line.line_total
    flash, flash_discounts = {}, {}
    if orderable and buyer is not None and buyer.is_authenticated:
        if holds is None:
            holds = flash_holds_live_for_buyer(buyer, now=now)
        flash = flash_holds_plan(holds, {line.sku.pk: line.quantity for line in orderable})
    for line in orderable:
        if line.sku.pk in flash:
            flash_discounts[line.sku.pk] = flash[line.sku.pk].discount(line.sku.price)
            shops[line.sku.merchant_id].discount += sum(flash_discounts[line.sku.pk], ZERO)
    promoted = [line for line in orderable if line.sku.pk not in flash]
    pricing, lines = None, []
    if promoted and (coupons or live_offers_possible(fees.keys(), now)):
        skus = {sku.pk: sku for sku in sku_pricing_rows({line.sku.pk for line in promoted})}
        lines = [(skus[line.sku.pk], line.quantity) for line in promoted if line.sku.pk in skus]
        pricing = order_pricing(lines=lines, fees=fees, buyer=buyer, now=now, coupons=coupons)
    if pricing is None:
        return CartPricing(shops=list(shops.values()), lines=lines, flash=flash, flash_discounts=flash_discounts)
    result = pricing.result
    for priced in result.lines:
        shop = shops[priced.merchant_id]
        if priced.is_gift:
            shop.goods += priced.gross
        shop.discount += priced.discount
    for merchant_id, waived in result.waived_shipping.items():
        shops[merchant_id].shipping -= waived
        shops[merchant_id].shipping_waived = waived
    names = {a.promotion_id: pricing.offers[a.promotion_id].name for a in result.applied}
    missed = [gift_name(pricing.gift_skus[gift.sku_id]) for gift in pricing.missed_gifts]
    return CartPricing(
        shops=list(shops.values()),
        result=result,
        names=names,
        lines=lines,
        flash=flash,
        flash_discounts=flash_discounts,
        missed_gifts=missed,
    )


def gift_name(sku) -> str:
    """How a gift is named to the buyer: its product's title and the SKU's label."""
    label = sku.label
    return f"{sku.product.title} ({label})" if label else sku.product.title


def missed_gift_message(name: str) -> str:
    """What the buyer is told of a gift that was out of stock when the order was placed."""
    return gettext("The gift %(gift)s was out of stock: your order was placed without it.") % {"gift": name}
