"""The pricing engine: a pure function from a cart to the promotions it gets.

`price_cart(lines, offers, *, now, shipping_fees)` reads no database and no clock: the
selectors (`promotions.selectors`) turn promotions and cart items into the frozen values
below, and the checkout freezes the result on the order lines. The same call prices the cart
page, the checkout preview and the checkout itself, so what the buyer saw is what is charged.

The model follows django-oscar's offers: a *condition* (minimum spend / quantity over the
lines in *scope*) and a *benefit* class per type (`BENEFITS`, a plain registry) whose
`apply` returns a result object. The rules (domain.md "Promotions"):
- at most one shop promotion per shop, one platform promotion and one coupon per order; the
  combination with the largest total discount (waived shipping and gifts included) wins;
  ties: higher priority, then lower id, compared offer by offer in application order;
- application order shop → platform → coupon; conditions look at the in-scope gross, each
  discount is capped by what earlier ones left of its lines (a line's discount never exceeds
  its gross) and by the offer's remaining money budget;
- a discount over several lines is spread with `marketplace.money.allocate` in proportion to
  the lines' remaining amounts, then each line's part is split into the merchant- and the
  platform-funded part (allocate again), so every cent is accounted for;
- grade D merchants' lines never join platform promotions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from marketplace.money import ZERO

from .choices import BenefitType, PromotionChannel, PromotionLevel, ScopeKind

#: Grades whose lines stay out of platform promotions.
EXCLUDED_FROM_PLATFORM_GRADES = frozenset({"D"})


# --- Inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartLine:
    """One line of the cart as the engine sees it. `key` is the caller's handle (the cart
    item or SKU id); `category_path` holds the product's category and all its ancestors, so a
    category scope includes its descendants."""

    key: str
    sku_id: int
    product_id: int
    category_path: tuple[int, ...]
    merchant_id: int
    merchant_grade: str
    unit_price: Decimal
    quantity: int

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Condition:
    """What the in-scope lines must hold: a minimum gross and/or a minimum quantity."""

    min_spend: Decimal | None = None
    min_quantity: int | None = None


@dataclass(frozen=True)
class Scope:
    """Which lines an offer looks at (its oscar "range")."""

    kind: str = ScopeKind.PLATFORM
    merchant_id: int | None = None
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Step:
    """A spend-and-save step: from `threshold` of in-scope gross, `amount` off."""

    threshold: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Gift:
    """The SKU a gift promotion adds (one unit, its gross discounted in full)."""

    sku_id: int
    product_id: int
    merchant_id: int
    unit_price: Decimal
    category_path: tuple[int, ...] = ()


@dataclass(frozen=True)
class Benefit:
    """What an offer gives; `type` picks the class of `BENEFITS`, the other fields are those
    that type needs (steps: spend and save; percent; amount: fixed amount; gift)."""

    type: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    steps: tuple[Step, ...] = ()
    gift: Gift | None = None


@dataclass(frozen=True)
class Offer:
    """A live promotion as the engine sees it, for one buyer.

    `budget_left` (money), `uses_left` (total uses) and `buyer_uses_left` are None when the
    promotion has no such limit. `coupon_id` is set on coupon offers: the selectors pass a
    coupon offer only for a coupon the buyer holds."""

    promotion_id: int
    level: str
    channel: str
    merchant_id: int | None
    priority: int
    starts_at: datetime
    ends_at: datetime
    condition: Condition
    scope: Scope
    benefit: Benefit
    platform_share: Decimal = ZERO
    budget_left: Decimal | None = None
    uses_left: int | None = None
    buyer_uses_left: int | None = None
    coupon_id: int | None = None

    @property
    def slot(self) -> tuple:
        """The stacking slot: one offer per slot at most (one coupon, one platform
        promotion, one shop promotion per shop)."""
        if self.channel == PromotionChannel.COUPON:
            return ("coupon",)
        if self.level == PromotionLevel.PLATFORM:
            return ("platform",)
        return ("shop", self.merchant_id)

    @property
    def stage(self) -> int:
        """Application order: shop (0) → platform (1) → coupon (2)."""
        if self.channel == PromotionChannel.COUPON:
            return 2
        return 1 if self.level == PromotionLevel.PLATFORM else 0


# --- Results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftLine:
    """A line the engine adds for a gift: an ordinary line (stock is reserved) whose gross
    is discounted in full by `promotion_id`."""

    key: str
    promotion_id: int
    sku_id: int
    product_id: int
    merchant_id: int
    unit_price: Decimal
    quantity: int = 1

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class BenefitResult:
    """What one benefit gives on the lines it was shown: the discount per line key, the
    merchant whose shipping it waives (and the fee waived), the gift line it adds."""

    discounts: Mapping[str, Decimal] = field(default_factory=dict)
    waived_shipping_merchant_id: int | None = None
    waived_shipping: Decimal = ZERO
    gift: GiftLine | None = None

    @property
    def total(self) -> Decimal:
        return sum(self.discounts.values(), ZERO) + self.waived_shipping


@dataclass(frozen=True)
class LineDiscount:
    """One promotion's part of one line's discount, split by funder."""

    line_key: str
    promotion_id: int
    merchant_part: Decimal
    platform_part: Decimal

    @property
    def amount(self) -> Decimal:
        return self.merchant_part + self.platform_part


@dataclass(frozen=True)
class AppliedOffer:
    """An offer the chosen combination applies, with what it gives in total: `amount` is its
    line discounts (gifts included) plus the shipping it waives; `merchant_part` and
    `platform_part` split the line discounts; waived shipping is merchant-funded."""

    promotion_id: int
    level: str
    channel: str
    merchant_id: int | None
    coupon_id: int | None
    benefit_type: str
    amount: Decimal
    merchant_part: Decimal
    platform_part: Decimal
    waived_shipping: Decimal = ZERO
    waived_shipping_merchant_id: int | None = None
    gift: GiftLine | None = None


@dataclass(frozen=True)
class LinePricing:
    """A line after promotions: gross, the two funded parts of its discount and the
    promotions that gave them (in application order)."""

    key: str
    merchant_id: int
    gross: Decimal
    merchant_discount: Decimal = ZERO
    platform_discount: Decimal = ZERO
    promotion_ids: tuple[int, ...] = ()
    is_gift: bool = False

    @property
    def discount(self) -> Decimal:
        return self.merchant_discount + self.platform_discount

    @property
    def paid(self) -> Decimal:
        return self.gross - self.merchant_discount - self.platform_discount

    @property
    def base(self) -> Decimal:
        return self.gross - self.merchant_discount


@dataclass(frozen=True)
class PricingResult:
    """The engine's answer. `lines` holds the cart's lines then the gift lines, in order;
    `discounts` every (line, promotion) part; `waived_shipping` merchant id → fee waived."""

    applied: tuple[AppliedOffer, ...] = ()
    lines: tuple[LinePricing, ...] = ()
    discounts: tuple[LineDiscount, ...] = ()
    waived_shipping: Mapping[int, Decimal] = field(default_factory=dict)
    gifts: tuple[GiftLine, ...] = ()

    @property
    def total_discount(self) -> Decimal:
        """Line discounts (gifts included) plus waived shipping: what the buyer saves."""
        return sum((line.discount for line in self.lines), ZERO) + sum(self.waived_shipping.values(), ZERO)

    def line(self, key: str) -> LinePricing:
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(key)


def price_cart(
    lines: Sequence[CartLine],
    offers: Sequence[Offer],
    *,
    now: datetime,
    shipping_fees: Mapping[int, Decimal] | None = None,
) -> PricingResult:
    """Price `lines` against `offers` at `now` (see the module's docstring for the rules).
    `shipping_fees` maps a merchant id to the fee its order would be charged (what free
    shipping waives). Pure: the same inputs always give the same result."""
    raise NotImplementedError  # the engine follows in the next commit


__all__ = [
    "AppliedOffer",
    "Benefit",
    "BenefitResult",
    "BenefitType",
    "CartLine",
    "Condition",
    "Gift",
    "GiftLine",
    "LineDiscount",
    "LinePricing",
    "Offer",
    "PricingResult",
    "Scope",
    "Step",
    "price_cart",
]
