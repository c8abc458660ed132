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

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from marketplace.money import ZERO, allocate, quantize

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
    #: For display only (the cart's breakdown); the engine never reads it.
    name: str = ""

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


# --- Benefits: one class per type, in a plain registry -----------------------------------


@dataclass(frozen=True)
class Slice:
    """The lines an offer is shown: each line with what earlier offers left of it."""

    lines: tuple[CartLine, ...]
    remaining: tuple[Decimal, ...]
    gross: Decimal
    quantity: int

    @property
    def remaining_total(self) -> Decimal:
        return sum(self.remaining, ZERO)


class BenefitClass:
    """A benefit type. `line_amount` is the discount to spread over the in-scope lines
    before caps (from the in-scope gross and what is left of it); `apply` returns the
    result: the capped amount spread over the lines, the gift or the waived shipping."""

    #: Whether the benefit discounts the in-scope lines (gifts and shipping do not).
    discounts_lines = True

    def line_amount(self, benefit: Benefit, *, gross: Decimal, remaining: Decimal) -> Decimal:
        return ZERO

    def apply(self, offer: Offer, view: Slice, *, shipping_fees: Mapping[int, Decimal], waived) -> BenefitResult:
        amount = capped(offer, self.line_amount(offer.benefit, gross=view.gross, remaining=view.remaining_total), view)
        if amount <= 0:
            return BenefitResult()
        parts = allocate(amount, view.remaining)
        return BenefitResult(
            discounts={line.key: part for line, part in zip(view.lines, parts, strict=True) if part > 0}
        )


class SpendAndSave(BenefitClass):
    """The highest step whose threshold the in-scope gross reaches."""

    def line_amount(self, benefit, *, gross, remaining):
        reached = [step.amount for step in benefit.steps if gross >= step.threshold]
        return max(reached) if reached else ZERO


class PercentageOff(BenefitClass):
    """`percent` of what is left of the in-scope lines after earlier promotions."""

    def line_amount(self, benefit, *, gross, remaining):
        return quantize(remaining * benefit.percent / 100)


class FixedAmountOff(BenefitClass):
    def line_amount(self, benefit, *, gross, remaining):
        return benefit.amount


class GiftSku(BenefitClass):
    """One unit of the gift SKU, its gross discounted in full (not partly: a budget smaller
    than the gift's price makes the offer give nothing). The gift may be a SKU of the cart
    ("buy X, get X"): its line is separate (`gift:<promotion id>`), the ordered line keeps
    its own price; whether a unit is left for it is the caller's to say (offers are given
    only with a gift in stock)."""

    discounts_lines = False

    def apply(self, offer, view, *, shipping_fees, waived):
        gift = offer.benefit.gift
        if gift is None or (offer.budget_left is not None and offer.budget_left < gift.unit_price):
            return BenefitResult()
        line = GiftLine(
            key=f"gift:{offer.promotion_id}",
            promotion_id=offer.promotion_id,
            sku_id=gift.sku_id,
            product_id=gift.product_id,
            merchant_id=gift.merchant_id,
            unit_price=gift.unit_price,
        )
        return BenefitResult(discounts={line.key: line.gross}, gift=line)


class FreeShipping(BenefitClass):
    """The promotion's shop's shipping fee, waived whole (merchant-funded); nothing when it
    is already free or waived, or the budget cannot pay it all."""

    discounts_lines = False

    def apply(self, offer, view, *, shipping_fees, waived):
        fee = shipping_fees.get(offer.merchant_id, ZERO)
        if fee <= 0 or offer.merchant_id in waived:
            return BenefitResult()
        if offer.budget_left is not None and offer.budget_left < fee:
            return BenefitResult()
        return BenefitResult(waived_shipping_merchant_id=offer.merchant_id, waived_shipping=fee)


BENEFITS: dict[str, BenefitClass] = {
    BenefitType.SPEND_AND_SAVE: SpendAndSave(),
    BenefitType.PERCENTAGE: PercentageOff(),
    BenefitType.FIXED_AMOUNT: FixedAmountOff(),
    BenefitType.GIFT_SKU: GiftSku(),
    BenefitType.FREE_SHIPPING: FreeShipping(),
}


def capped(offer: Offer, amount: Decimal, view: Slice) -> Decimal:
    """`amount` capped by what is left of the lines and by the remaining money budget."""
    amount = min(amount, view.remaining_total)
    if offer.budget_left is not None:
        amount = min(amount, offer.budget_left)
    return max(amount, ZERO)


# --- Which offers may apply ---------------------------------------------------------------


def in_scope(offer: Offer, line: CartLine) -> bool:
    """Whether `line` is one the offer looks at. Platform offers skip grade D merchants'
    lines; shop offers see only their shop's."""
    if offer.level == PromotionLevel.PLATFORM:
        if line.merchant_grade in EXCLUDED_FROM_PLATFORM_GRADES:
            return False
    elif line.merchant_id != offer.merchant_id:
        return False
    scope = offer.scope
    if scope.kind == ScopeKind.SHOP:
        return line.merchant_id == (scope.merchant_id if scope.merchant_id is not None else offer.merchant_id)
    if scope.kind == ScopeKind.PRODUCTS:
        return line.product_id in scope.product_ids
    if scope.kind == ScopeKind.CATEGORIES:
        return not scope.category_ids.isdisjoint(line.category_path)
    return True


def is_live(offer: Offer, now: datetime) -> bool:
    """In its window, with budget and uses left (for this buyer too)."""
    return (
        offer.starts_at <= now < offer.ends_at
        and (offer.budget_left is None or offer.budget_left > 0)
        and (offer.uses_left is None or offer.uses_left > 0)
        and (offer.buyer_uses_left is None or offer.buyer_uses_left > 0)
        and offer.benefit.type in BENEFITS
    )


def condition_met(offer: Offer, lines: Sequence[CartLine]) -> bool:
    """The condition on the in-scope gross and quantity (before any discount)."""
    if not lines:
        return False
    condition = offer.condition
    if condition.min_spend is not None and sum((line.gross for line in lines), ZERO) < condition.min_spend:
        return False
    return condition.min_quantity is None or sum(line.quantity for line in lines) >= condition.min_quantity


# --- The engine ---------------------------------------------------------------------------


class _Candidate:
    """An applicable offer with its in-scope lines (indexes into the cart)."""

    __slots__ = ("benefit", "gross", "index_set", "indexes", "offer", "quantity", "rank")

    def __init__(self, offer: Offer, indexes: tuple[int, ...], lines: Sequence[CartLine]):
        self.offer = offer
        self.indexes = indexes
        self.index_set = frozenset(indexes)
        self.gross = sum((lines[i].gross for i in indexes), ZERO)
        self.quantity = sum(lines[i].quantity for i in indexes)
        self.benefit = BENEFITS[offer.benefit.type]
        # Tie-break inside a slot: higher priority, then lower id.
        self.rank = (-offer.priority, offer.promotion_id)


def _apply(
    candidate: _Candidate,
    lines: Sequence[CartLine],
    remaining: list[Decimal],
    *,
    shipping_fees: Mapping[int, Decimal],
    waived: Mapping[int, Decimal],
) -> BenefitResult:
    view = Slice(
        lines=tuple(lines[i] for i in candidate.indexes),
        remaining=tuple(remaining[i] for i in candidate.indexes),
        gross=candidate.gross,
        quantity=candidate.quantity,
    )
    return candidate.benefit.apply(candidate.offer, view, shipping_fees=shipping_fees, waived=waived)


def _run(
    combination: Sequence[_Candidate],
    lines: Sequence[CartLine],
    shipping_fees: Mapping[int, Decimal],
) -> tuple[Decimal, list[tuple[_Candidate, BenefitResult]]] | None:
    """Apply `combination` (in application order) to the cart: the total it gives and each
    offer's result, or None when one of its offers would give nothing (the combination
    without it is the same for the buyer, and is tried too)."""
    remaining = [line.gross for line in lines]
    index = {line.key: i for i, line in enumerate(lines)}
    waived: dict[int, Decimal] = {}
    results = []
    total = ZERO
    for candidate in combination:
        result = _apply(candidate, lines, remaining, shipping_fees=shipping_fees, waived=waived)
        if result.total <= 0:
            return None
        for key, part in result.discounts.items():
            if key in index:
                remaining[index[key]] -= part
        if result.waived_shipping_merchant_id is not None:
            waived[result.waived_shipping_merchant_id] = result.waived_shipping
        results.append((candidate, result))
        total += result.total
    return total, results


def _funding(offer: Offer, amount: Decimal) -> tuple[Decimal, Decimal]:
    """A line's part of a discount split into (merchant, platform) by the platform share."""
    if amount <= 0:
        return ZERO, ZERO
    merchant, platform = allocate(amount, [1 - offer.platform_share, offer.platform_share])
    return merchant, platform


def _choices(candidates: Sequence[_Candidate]) -> list[_Candidate | None]:
    return [*sorted(candidates, key=lambda c: c.rank), None]


def price_cart(
    lines: Sequence[CartLine],
    offers: Sequence[Offer],
    *,
    now: datetime,
    shipping_fees: Mapping[int, Decimal] | None = None,
) -> PricingResult:
    """Price `lines` against `offers` at `now` (see the module's docstring for the rules).
    `shipping_fees` maps a merchant id to the fee its order would be charged (what free
    shipping waives). Pure: the same inputs always give the same result, whatever the order
    of `offers`."""
    lines = tuple(lines)
    shipping_fees = dict(shipping_fees or {})
    slots: dict[tuple, list[_Candidate]] = {}
    for offer in offers:
        if not is_live(offer, now):
            continue
        indexes = tuple(i for i, line in enumerate(lines) if in_scope(offer, line))
        if not condition_met(offer, [lines[i] for i in indexes]):
            continue
        slots.setdefault(offer.slot, []).append(_Candidate(offer, indexes, lines))

    best = _search(slots, lines, shipping_fees)
    return _result(best, lines)


def _slot_order(slot: tuple) -> tuple:
    # Application order: shops (by merchant id), the platform, the coupon.
    return {"shop": (0, slot[-1]), "platform": (1, 0), "coupon": (2, 0)}[slot[0]]


def _search(slots, lines, shipping_fees):
    """The best combination (one choice per slot, none allowed) and its results: the largest
    total; ties go slot by slot in application order to the higher priority, then the lower
    id, an offer before none.

    Exhaustive, but cheap per combination: shop stages come first and shops' lines are
    disjoint, so each shop offer is applied once, alone; two offers of one shop that leave
    every line a later offer looks at the same (and the same shipping to waive) differ only
    in their own value, so only the better stays. The later stages (platform, coupon) are
    priced from the sums of what is left of their lines, allocating a discount line by line
    only when the next stage sees part of its lines. (Two later stages at most, platform then
    coupon: the platform's split is over what the shops left.) The winner is then applied for real by
    `_run`, which must give the same total."""
    ordered = sorted(slots, key=_slot_order)
    shop_slots = [slot for slot in ordered if slot[0] == "shop"]
    later_slots = [slot for slot in ordered if slot[0] != "shop"]
    later = [c for slot in later_slots for c in slots[slot]]
    watched = frozenset().union(*(c.index_set for c in later if c.benefit.discounts_lines))
    ships = {c.offer.merchant_id for c in later if c.offer.benefit.type == BenefitType.FREE_SHIPPING}
    index = {line.key: i for i, line in enumerate(lines)}

    shop_choices = [
        _shop_options(slots[slot], slot, lines, shipping_fees, watched, ships, index) for slot in shop_slots
    ]
    later_choices = [_choices(slots[slot]) for slot in later_slots]
    # What each shop option takes from each later offer's lines.
    taken = {
        id(option): {id(c): sum((option.discounts.get(i, ZERO) for i in c.indexes), ZERO) for c in later}
        for options in shop_choices
        for option in options
    }

    best_key = None
    best: tuple = ()
    # A gift's or free shipping's value depends only on whether its shop's fee is waived already.
    others: dict[tuple, Decimal] = {}
    for shop_pick in itertools.product(*shop_choices):
        value = sum((option.value for option in shop_pick), ZERO)
        waived = {option.waived for option in shop_pick if option.waived is not None}
        left = {id(c): c.gross - sum((taken[id(option)][id(c)] for option in shop_pick), ZERO) for c in later}
        per_line = None
        spreads: dict[tuple, list[Decimal]] = {}
        for later_pick in itertools.product(*later_choices):
            total = value
            valid = True
            earlier: list[tuple[_Candidate, Decimal]] = []
            for candidate in later_pick:
                if candidate is None:
                    continue
                if candidate.benefit.discounts_lines:
                    remaining = left[id(candidate)]
                    partial = []
                    for before, before_amount in earlier:
                        common = before.index_set & candidate.index_set
                        if common == before.index_set:
                            remaining -= before_amount
                        elif common:
                            partial.append((before, before_amount, common))
                    amount = _line_total(candidate, remaining)
                    # Only part of an earlier discount's lines are this one's: how much of it
                    # fell on them depends on the line-by-line split. It is between none and
                    # all of it; when both give this offer the same amount (monotone in what is
                    # left), that is the amount, and no split needs computing.
                    if partial and amount != _line_total(candidate, remaining - sum(b for _, b, _c in partial)):
                        if per_line is None:
                            per_line = _remaining_after_shops(lines, shop_pick)
                        for before, before_amount, common in partial:
                            parts = spreads.get((id(before), before_amount))
                            if parts is None:
                                parts = allocate(before_amount, [per_line[i] for i in before.indexes])
                                spreads[(id(before), before_amount)] = parts
                            remaining -= sum(
                                (part for i, part in zip(before.indexes, parts, strict=True) if i in common),
                                ZERO,
                            )
                        amount = _line_total(candidate, remaining)
                    earlier.append((candidate, amount))
                else:
                    other_key = (id(candidate), candidate.offer.merchant_id in waived)
                    amount = others.get(other_key)
                    if amount is None:
                        amount = others[other_key] = _other_total(candidate, shipping_fees, waived)
                if amount <= 0:
                    valid = False
                    break
                total += amount
            if not valid or (best_key is not None and total < best_key[0]):
                continue
            picked = dict(zip(shop_slots, (o.candidate for o in shop_pick), strict=True))
            picked.update(zip(later_slots, later_pick, strict=True))
            key = (total, _tie_key(picked, ordered))
            if best_key is None or _better(key, best_key):
                best_key = key
                best = tuple(picked[slot] for slot in ordered if picked[slot] is not None)
    if best_key is None:
        return []
    total, results = _run(best, lines, shipping_fees)
    if total != best_key[0]:  # pragma: no cover - the two ways of pricing must agree
        raise AssertionError(f"pricing search found {best_key[0]}, applying gives {total}")
    return results


#: The most shop combinations the search tries. Beyond it (a cart of many shops, each with
#: several promotions that touch lines the platform offers see) the shops with the most options
#: keep only their most valuable ones, so the time per pricing stays bounded; the choice is
#: then the best among those (exact below the bound, which the tests stay under).
MAX_SHOP_COMBINATIONS = 2048


def _bound(shop_choices: list[list]) -> None:
    def count():
        return math.prod(len(options) for options in shop_choices)

    while count() > MAX_SHOP_COMBINATIONS:
        widest = max(range(len(shop_choices)), key=lambda i: (len(shop_choices[i]), -i))
        options = shop_choices[widest]
        options.remove(min(options, key=lambda o: (o.value, -(o.candidate.rank[0] if o.candidate else 0))))


class _ShopOption:
    """One choice for a shop slot, applied alone: its value, its discounts by line index and
    the merchant whose shipping it waives."""

    __slots__ = ("candidate", "discounts", "value", "waived")

    def __init__(self, candidate, value, discounts, waived):
        self.candidate = candidate
        self.value = value
        self.discounts = discounts
        self.waived = waived


def _shop_options(candidates, slot, lines, shipping_fees, watched, ships, index) -> list[_ShopOption]:
    by_effect: dict[tuple, _ShopOption] = {}
    for candidate in sorted(candidates, key=lambda c: c.rank):
        run = _run([candidate], lines, shipping_fees)
        if run is None:
            continue
        value, [(_, result)] = run
        discounts = {index[key]: part for key, part in result.discounts.items() if key in index}
        option = _ShopOption(candidate, value, discounts, result.waived_shipping_merchant_id)
        effect = _effect(option, watched, ships, slot)
        kept = by_effect.get(effect)
        # Sorted by rank: a later one replaces only with a strictly larger value.
        if kept is None or value > kept.value:
            by_effect[effect] = option
    none = _ShopOption(None, ZERO, {}, None)
    by_effect.setdefault(_effect(none, watched, ships, slot), none)
    return list(by_effect.values())


def _effect(option, watched, ships, slot) -> tuple:
    return (
        tuple(sorted((i, part) for i, part in option.discounts.items() if i in watched)),
        option.waived is not None and slot[1] in ships,
    )


def _line_total(candidate: _Candidate, remaining: Decimal) -> Decimal:
    """What a line benefit gives when `remaining` is left of its lines (as `apply` does)."""
    offer = candidate.offer
    amount = candidate.benefit.line_amount(offer.benefit, gross=candidate.gross, remaining=remaining)
    amount = min(amount, remaining)
    if offer.budget_left is not None:
        amount = min(amount, offer.budget_left)
    return max(amount, ZERO)


def _other_total(candidate: _Candidate, shipping_fees, waived) -> Decimal:
    """What a gift or free-shipping benefit gives (nothing of its lines is used)."""
    waived_fees = dict.fromkeys(waived, ZERO)
    view = Slice(lines=(), remaining=(), gross=candidate.gross, quantity=candidate.quantity)
    result = candidate.benefit.apply(candidate.offer, view, shipping_fees=shipping_fees, waived=waived_fees)
    return result.total


def _remaining_after_shops(lines, shop_pick) -> list[Decimal]:
    remaining = [line.gross for line in lines]
    for option in shop_pick:
        for i, part in option.discounts.items():
            remaining[i] -= part
    return remaining


def _tie_key(picked, ordered) -> tuple:
    # Smaller is better: per slot in application order, (priority desc, id asc), none last.
    return tuple((0, *picked[slot].rank) if picked[slot] is not None else (1,) for slot in ordered)


def _better(key, than) -> bool:
    total, ties = key
    best_total, best_ties = than
    return total > best_total or (total == best_total and ties < best_ties)


def _result(results, lines: Sequence[CartLine]) -> PricingResult:
    merchant = {line.key: ZERO for line in lines}
    platform = {line.key: ZERO for line in lines}
    promotion_ids: dict[str, list[int]] = {line.key: [] for line in lines}
    discounts: list[LineDiscount] = []
    applied: list[AppliedOffer] = []
    gifts: list[GiftLine] = []
    waived: dict[int, Decimal] = {}
    for candidate, result in results:
        offer = candidate.offer
        offer_merchant = offer_platform = ZERO
        if result.gift is not None:
            gifts.append(result.gift)
            for table in (merchant, platform):
                table[result.gift.key] = ZERO
            promotion_ids[result.gift.key] = []
        for key, amount in result.discounts.items():
            m, p = _funding(offer, amount)
            merchant[key] += m
            platform[key] += p
            offer_merchant += m
            offer_platform += p
            promotion_ids[key].append(offer.promotion_id)
            discounts.append(
                LineDiscount(line_key=key, promotion_id=offer.promotion_id, merchant_part=m, platform_part=p)
            )
        if result.waived_shipping_merchant_id is not None:
            waived[result.waived_shipping_merchant_id] = result.waived_shipping
        applied.append(
            AppliedOffer(
                promotion_id=offer.promotion_id,
                level=offer.level,
                channel=offer.channel,
                merchant_id=offer.merchant_id,
                coupon_id=offer.coupon_id,
                benefit_type=offer.benefit.type,
                amount=result.total,
                merchant_part=offer_merchant,
                platform_part=offer_platform,
                waived_shipping=result.waived_shipping,
                waived_shipping_merchant_id=result.waived_shipping_merchant_id,
                gift=result.gift,
            )
        )
    priced = [
        LinePricing(
            key=line.key,
            merchant_id=line.merchant_id,
            gross=line.gross,
            merchant_discount=merchant[line.key],
            platform_discount=platform[line.key],
            promotion_ids=tuple(promotion_ids[line.key]),
        )
        for line in lines
    ]
    priced += [
        LinePricing(
            key=gift.key,
            merchant_id=gift.merchant_id,
            gross=gift.gross,
            merchant_discount=merchant[gift.key],
            platform_discount=platform[gift.key],
            promotion_ids=tuple(promotion_ids[gift.key]),
            is_gift=True,
        )
        for gift in gifts
    ]
    return PricingResult(
        applied=tuple(applied),
        lines=tuple(priced),
        discounts=tuple(discounts),
        waived_shipping=waived,
        gifts=tuple(gifts),
    )


__all__ = [
    "BENEFITS",
    "AppliedOffer",
    "Benefit",
    "BenefitClass",
    "BenefitResult",
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
