"""The pricing engine (promotions.pricing): exact values per benefit type, the stacking
rules, and hypothesis properties checked against a brute force over every combination."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.money import quantize
from promotions.choices import BenefitType, PromotionChannel, PromotionLevel, ScopeKind
from promotions.pricing import (
    Benefit,
    CartLine,
    Condition,
    Gift,
    Offer,
    Scope,
    Step,
    in_scope,
    price_cart,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
D = Decimal


def line(key, *, merchant=1, price="100.00", qty=1, product=None, categories=(10,), grade="B", sku=None):
    return CartLine(
        key=key,
        sku_id=sku or int(key.strip("l") or 0) + 1000,
        product_id=product or int(key.strip("l") or 0) + 500,
        category_path=tuple(categories),
        merchant_id=merchant,
        merchant_grade=grade,
        unit_price=D(price),
        quantity=qty,
    )


def offer(
    pid,
    benefit,
    *,
    level=PromotionLevel.SHOP,
    merchant=1,
    channel=PromotionChannel.AUTOMATIC,
    scope=None,
    share="0",
    priority=0,
    min_spend=None,
    min_quantity=None,
    budget_left=None,
    uses_left=None,
    buyer_uses_left=None,
    starts_at=NOW - timedelta(days=1),
    ends_at=NOW + timedelta(days=1),
    coupon_id=None,
):
    if level == PromotionLevel.PLATFORM:
        merchant = None
    return Offer(
        promotion_id=pid,
        level=level,
        channel=channel,
        merchant_id=merchant,
        priority=priority,
        starts_at=starts_at,
        ends_at=ends_at,
        condition=Condition(min_spend=None if min_spend is None else D(min_spend), min_quantity=min_quantity),
        scope=scope or Scope(kind=ScopeKind.SHOP if level == PromotionLevel.SHOP else ScopeKind.PLATFORM),
        benefit=benefit,
        platform_share=D(share),
        budget_left=None if budget_left is None else D(budget_left),
        uses_left=uses_left,
        buyer_uses_left=buyer_uses_left,
        coupon_id=coupon_id,
    )


def steps(*pairs):
    return Benefit(type=BenefitType.SPEND_AND_SAVE, steps=tuple(Step(D(t), D(a)) for t, a in pairs))


def percent(p):
    return Benefit(type=BenefitType.PERCENTAGE, percent=D(p))


def fixed(a):
    return Benefit(type=BenefitType.FIXED_AMOUNT, amount=D(a))


def parts(result):
    return {(d.line_key, d.promotion_id): (d.merchant_part, d.platform_part) for d in result.discounts}


# --- Exact values per benefit type --------------------------------------------------------


def test_spend_and_save_takes_the_highest_step_reached_and_spreads_it_by_gross():
    lines = [line("l1", price="150.00"), line("l2", price="60.00", qty=2)]  # 270.00
    result = price_cart(lines, [offer(1, steps(("200", "20"), ("300", "40")))], now=NOW)
    assert [a.amount for a in result.applied] == [D("20.00")]
    # 20 × 150/270 = 11.111 → 11.11; 20 × 120/270 = 8.888 → 8.89
    assert parts(result) == {("l1", 1): (D("11.11"), D("0.00")), ("l2", 1): (D("8.89"), D("0.00"))}
    assert result.line("l1").paid == D("138.89")
    assert result.line("l2").paid == D("111.11")
    assert result.total_discount == D("20.00")


def test_spend_and_save_below_the_first_step_gives_nothing():
    result = price_cart([line("l1", price="199.99")], [offer(1, steps(("200", "20")))], now=NOW)
    assert result.applied == ()
    assert result.total_discount == D("0.00")
    assert result.line("l1").paid == D("199.99")


def test_percentage_off_rounds_half_up_and_splits_by_platform_share():
    lines = [line("l1", price="33.33"), line("l2", price="66.67")]
    result = price_cart(lines, [offer(1, percent("15"), share="0.5")], now=NOW)
    # 15 % of 100.00 = 15.00 → 5.00 (33.33 × 0.15 = 4.9995) and 10.00; each split half and half.
    assert parts(result) == {("l1", 1): (D("2.50"), D("2.50")), ("l2", 1): (D("5.00"), D("5.00"))}
    assert result.applied[0].merchant_part == D("7.50")
    assert result.applied[0].platform_part == D("7.50")


def test_odd_cent_of_a_split_goes_to_the_merchant_part_deterministically():
    result = price_cart([line("l1", price="10.00")], [offer(1, fixed("0.05"), share="0.5")], now=NOW)
    assert parts(result) == {("l1", 1): (D("0.03"), D("0.02"))}


def test_fixed_amount_is_capped_by_the_lines_gross():
    result = price_cart([line("l1", price="8.00")], [offer(1, fixed("10.00"))], now=NOW)
    assert result.line("l1").merchant_discount == D("8.00")
    assert result.line("l1").paid == D("0.00")


def test_money_budget_caps_the_discount():
    result = price_cart([line("l1", price="100.00")], [offer(1, fixed("30.00"), budget_left="12.34")], now=NOW)
    assert result.applied[0].amount == D("12.34")
    assert result.line("l1").paid == D("87.66")


def test_exhausted_budget_uses_or_buyer_limit_make_the_offer_not_applicable():
    lines = [line("l1")]
    for kwargs in ({"budget_left": "0"}, {"uses_left": 0}, {"buyer_uses_left": 0}):
        assert price_cart(lines, [offer(1, fixed("5"), **kwargs)], now=NOW).applied == ()


def test_outside_the_window_is_not_applicable():
    lines = [line("l1")]
    assert price_cart(lines, [offer(1, fixed("5"), starts_at=NOW + timedelta(seconds=1))], now=NOW).applied == ()
    assert price_cart(lines, [offer(1, fixed("5"), ends_at=NOW)], now=NOW).applied == ()
    assert price_cart(lines, [offer(1, fixed("5"), starts_at=NOW)], now=NOW).applied[0].amount == D("5.00")


def test_gift_adds_a_line_discounted_in_full():
    gift = Gift(sku_id=77, product_id=7, merchant_id=1, unit_price=D("25.00"))
    result = price_cart(
        [line("l1", price="120.00")],
        [offer(1, Benefit(type=BenefitType.GIFT_SKU, gift=gift), min_spend="100", share="0.2")],
        now=NOW,
    )
    assert [g.sku_id for g in result.gifts] == [77]
    gift_line = result.line("gift:1")
    assert (gift_line.gross, gift_line.merchant_discount, gift_line.platform_discount) == (
        D("25.00"),
        D("20.00"),
        D("5.00"),
    )
    assert gift_line.is_gift and gift_line.paid == D("0.00")
    assert result.line("l1").paid == D("120.00")
    assert result.total_discount == D("25.00")


def test_gift_is_not_given_partly_when_the_budget_is_short():
    gift = Gift(sku_id=77, product_id=7, merchant_id=1, unit_price=D("25.00"))
    result = price_cart(
        [line("l1")], [offer(1, Benefit(type=BenefitType.GIFT_SKU, gift=gift), budget_left="24.99")], now=NOW
    )
    assert result.applied == () and result.gifts == ()


def test_free_shipping_waives_the_shops_fee_merchant_funded():
    result = price_cart(
        [line("l1", merchant=1), line("l2", merchant=2)],
        [offer(1, Benefit(type=BenefitType.FREE_SHIPPING), merchant=1)],
        now=NOW,
        shipping_fees={1: D("8.00"), 2: D("10.00")},
    )
    assert result.waived_shipping == {1: D("8.00")}
    assert result.applied[0].amount == D("8.00")
    assert result.applied[0].merchant_part == D("0") and result.applied[0].platform_part == D("0")
    assert result.total_discount == D("8.00")


def test_free_shipping_on_an_already_free_order_gives_nothing():
    result = price_cart(
        [line("l1")], [offer(1, Benefit(type=BenefitType.FREE_SHIPPING))], now=NOW, shipping_fees={1: D("0.00")}
    )
    assert result.applied == ()


# --- Scope and conditions -----------------------------------------------------------------


def test_category_scope_includes_descendants_and_conditions_use_in_scope_gross():
    lines = [line("l1", price="80.00", categories=(12, 10)), line("l2", price="200.00", categories=(20,))]
    scoped = offer(1, steps(("100", "10")), scope=Scope(kind=ScopeKind.CATEGORIES, category_ids=frozenset({10})))
    # The in-scope gross is 80.00 (l2 is out of scope), below the 100 step.
    assert price_cart(lines, [scoped], now=NOW).applied == ()
    lines[0] = line("l1", price="100.00", categories=(12, 10))
    result = price_cart(lines, [scoped], now=NOW)
    assert parts(result) == {("l1", 1): (D("10.00"), D("0.00"))}


def test_product_scope_and_min_quantity():
    lines = [line("l1", product=5, qty=2), line("l2", product=6, qty=5)]
    scoped = offer(1, fixed("3"), scope=Scope(kind=ScopeKind.PRODUCTS, product_ids=frozenset({5})), min_quantity=3)
    assert price_cart(lines, [scoped], now=NOW).applied == ()
    lines[0] = line("l1", product=5, qty=3)
    assert parts(price_cart(lines, [scoped], now=NOW)) == {("l1", 1): (D("3.00"), D("0.00"))}


def test_grade_d_lines_never_join_platform_promotions():
    lines = [line("l1", merchant=1, grade="D"), line("l2", merchant=2, grade="A")]
    platform = offer(9, percent("10"), level=PromotionLevel.PLATFORM, share="1")
    assert not in_scope(platform, lines[0])
    result = price_cart(lines, [platform], now=NOW)
    assert parts(result) == {("l2", 9): (D("0.00"), D("10.00"))}
    # A grade D shop's own promotion still applies to its lines.
    result = price_cart(lines, [offer(1, fixed("5"), merchant=1)], now=NOW)
    assert parts(result) == {("l1", 1): (D("5.00"), D("0.00"))}


def test_shop_promotion_sees_only_its_shops_lines():
    lines = [line("l1", merchant=1), line("l2", merchant=2)]
    result = price_cart(lines, [offer(1, percent("50"), merchant=2)], now=NOW)
    assert parts(result) == {("l2", 1): (D("50.00"), D("0.00"))}


# --- Stacking -----------------------------------------------------------------------------


def test_shop_then_platform_then_coupon_each_on_what_is_left():
    lines = [line("l1", merchant=1, price="200.00"), line("l2", merchant=2, price="100.00")]
    offers = [
        offer(1, steps(("200", "20")), merchant=1),  # shop 1: 200 → 180
        offer(2, percent("10"), level=PromotionLevel.PLATFORM, share="1"),  # 10 % of 180 + 100 = 28
        offer(3, fixed("5"), level=PromotionLevel.PLATFORM, channel=PromotionChannel.COUPON, share="1", coupon_id=30),
    ]
    result = price_cart(lines, offers, now=NOW)
    assert [a.promotion_id for a in result.applied] == [1, 2, 3]
    assert [a.amount for a in result.applied] == [D("20.00"), D("28.00"), D("5.00")]
    assert result.applied[2].coupon_id == 30
    # Platform 28 over remaining 180 / 100: 18.00 / 10.00; coupon 5 over 162 / 90: 3.21 / 1.79.
    assert parts(result) == {
        ("l1", 1): (D("20.00"), D("0.00")),
        ("l1", 2): (D("0.00"), D("18.00")),
        ("l2", 2): (D("0.00"), D("10.00")),
        ("l1", 3): (D("0.00"), D("3.21")),
        ("l2", 3): (D("0.00"), D("1.79")),
    }
    assert result.line("l1").promotion_ids == (1, 2, 3)
    assert result.line("l1").paid == D("158.79")
    assert result.line("l2").paid == D("88.21")
    assert result.total_discount == D("53.00")


def test_one_offer_per_slot_the_best_for_the_buyer():
    lines = [line("l1", price="300.00")]
    offers = [offer(1, fixed("10")), offer(2, steps(("300", "40"))), offer(3, percent("10"))]
    result = price_cart(lines, offers, now=NOW)
    assert [a.promotion_id for a in result.applied] == [2]


def test_ties_go_to_the_higher_priority_then_the_lower_id():
    lines = [line("l1", price="100.00")]
    assert price_cart(lines, [offer(2, fixed("10")), offer(1, fixed("10"))], now=NOW).applied[0].promotion_id == 1
    tied = [offer(2, fixed("10"), priority=5), offer(1, fixed("10"))]
    assert price_cart(lines, tied, now=NOW).applied[0].promotion_id == 2


def test_the_best_combination_may_skip_the_larger_shop_discount():
    # Shop: 20 off the goods, or free shipping worth 22; the platform's 50 % then applies
    # to what is left. Discount (20) + 50 % of 80 = 60 < shipping (22) + 50 % of 100 = 72.
    lines = [line("l1", price="100.00")]
    offers = [
        offer(1, fixed("20")),
        offer(2, Benefit(type=BenefitType.FREE_SHIPPING)),
        offer(3, percent("50"), level=PromotionLevel.PLATFORM, share="1"),
    ]
    result = price_cart(lines, offers, now=NOW, shipping_fees={1: D("22.00")})
    assert [a.promotion_id for a in result.applied] == [2, 3]
    assert result.total_discount == D("72.00")


def test_coupon_offers_only_fill_the_coupon_slot():
    lines = [line("l1", price="100.00")]
    offers = [
        offer(1, fixed("10"), channel=PromotionChannel.COUPON, coupon_id=1),
        offer(2, fixed("15"), channel=PromotionChannel.COUPON, coupon_id=2),
        offer(3, fixed("5")),
    ]
    result = price_cart(lines, offers, now=NOW)
    assert [(a.promotion_id, a.coupon_id) for a in result.applied] == [(3, None), (2, 2)]


def test_result_does_not_depend_on_the_order_of_offers():
    lines = [line("l1", merchant=1, price="120.00"), line("l2", merchant=2, price="80.00", grade="A")]
    offers = [
        offer(1, steps(("100", "10")), merchant=1),
        offer(2, percent("5"), merchant=2),
        offer(3, percent("10"), level=PromotionLevel.PLATFORM, share="0.3"),
        offer(4, fixed("12"), level=PromotionLevel.PLATFORM),
    ]
    assert price_cart(lines, offers, now=NOW) == price_cart(lines, offers[::-1], now=NOW)


# --- Properties (hypothesis) --------------------------------------------------------------

money = st.integers(min_value=1, max_value=50000).map(lambda c: (D(c) / 100).quantize(D("0.01")))
shares = st.sampled_from(["0", "1", "0.5", "0.3333", "0.25"])


@st.composite
def carts(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    lines = [
        line(
            f"l{i}",
            merchant=draw(st.sampled_from([1, 2])),
            price=str(draw(money)),
            qty=draw(st.integers(min_value=1, max_value=3)),
            product=draw(st.sampled_from([5, 6, 7])),
            categories=draw(st.sampled_from([(10,), (11, 10), (20,)])),
            grade=draw(st.sampled_from(["A", "B", "D"])),
        )
        for i in range(n)
    ]
    return lines


@st.composite
def offer_lists(draw):
    count = draw(st.integers(min_value=0, max_value=5))
    offers = []
    for pid in range(1, count + 1):
        level = draw(st.sampled_from([PromotionLevel.SHOP, PromotionLevel.PLATFORM]))
        channel = draw(
            st.sampled_from([PromotionChannel.AUTOMATIC, PromotionChannel.AUTOMATIC, PromotionChannel.COUPON])
        )
        kinds = [BenefitType.SPEND_AND_SAVE, BenefitType.PERCENTAGE, BenefitType.FIXED_AMOUNT]
        if level == PromotionLevel.SHOP:
            kinds += [BenefitType.GIFT_SKU, BenefitType.FREE_SHIPPING]
        kind = draw(st.sampled_from(kinds))
        merchant = draw(st.sampled_from([1, 2]))
        if kind == BenefitType.SPEND_AND_SAVE:
            thresholds = sorted(draw(st.sets(money, min_size=1, max_size=3)))
            amounts = sorted(draw(st.lists(money, min_size=len(thresholds), max_size=len(thresholds), unique=True)))
            benefit = steps(*zip(thresholds, amounts, strict=True))
        elif kind == BenefitType.PERCENTAGE:
            benefit = percent(str(draw(st.integers(min_value=1, max_value=99))))
        elif kind == BenefitType.FIXED_AMOUNT:
            benefit = fixed(str(draw(money)))
        elif kind == BenefitType.GIFT_SKU:
            benefit = Benefit(
                type=kind, gift=Gift(sku_id=900 + pid, product_id=900, merchant_id=merchant, unit_price=draw(money))
            )
        else:
            benefit = Benefit(type=kind)
        scope_kind = draw(st.sampled_from([ScopeKind.SHOP, ScopeKind.PRODUCTS, ScopeKind.CATEGORIES]))
        if level == PromotionLevel.PLATFORM:
            scope_kind = draw(st.sampled_from([ScopeKind.PLATFORM, ScopeKind.PRODUCTS, ScopeKind.CATEGORIES]))
        scope = Scope(
            kind=scope_kind,
            merchant_id=merchant if scope_kind == ScopeKind.SHOP else None,
            product_ids=frozenset(draw(st.sets(st.sampled_from([5, 6, 7]), min_size=1))),
            category_ids=frozenset(draw(st.sets(st.sampled_from([10, 11, 20]), min_size=1))),
        )
        offers.append(
            offer(
                pid,
                benefit,
                level=level,
                merchant=merchant,
                channel=channel,
                scope=scope,
                share=draw(shares),
                priority=draw(st.integers(min_value=0, max_value=2)),
                min_spend=draw(st.none() | money.map(str)),
                budget_left=draw(st.none() | money.map(str)),
                coupon_id=pid if channel == PromotionChannel.COUPON else None,
            )
        )
    return offers


fees = st.fixed_dictionaries({1: st.sampled_from([D("0.00"), D("8.00")]), 2: st.sampled_from([D("0.00"), D("12.50")])})


@settings(max_examples=300, deadline=None)
@given(carts(), offer_lists(), fees)
def test_discounts_never_exceed_lines_and_every_cent_is_accounted_for(lines, offers, shipping):
    result = price_cart(lines, offers, now=NOW, shipping_fees=shipping)
    by_key = {p.key: p for p in result.lines}
    for priced in result.lines:
        assert priced.merchant_discount >= 0 and priced.platform_discount >= 0
        assert priced.discount <= priced.gross
        # The (line, promotion) parts add up to the line's funded parts.
        mine = [d for d in result.discounts if d.line_key == priced.key]
        assert sum(d.merchant_part for d in mine) == priced.merchant_discount
        assert sum(d.platform_part for d in mine) == priced.platform_discount
        assert priced.promotion_ids == tuple(d.promotion_id for d in mine)
    for applied in result.applied:
        mine = [d for d in result.discounts if d.promotion_id == applied.promotion_id]
        # Each offer's parts sum exactly to its discount, and its funding parts too.
        assert sum(d.amount for d in mine) + applied.waived_shipping == applied.amount
        assert applied.merchant_part + applied.platform_part + applied.waived_shipping == applied.amount
        assert sum(d.platform_part for d in mine) == applied.platform_part
        assert applied.amount > 0
    assert sum(a.amount for a in result.applied) == result.total_discount
    # One offer per slot.
    slots = [next(o for o in offers if o.promotion_id == a.promotion_id).slot for a in result.applied]
    assert len(slots) == len(set(slots))
    # Money figures are whole cents.
    for d in result.discounts:
        assert d.merchant_part == quantize(d.merchant_part) and d.platform_part == quantize(d.platform_part)
    assert set(by_key) >= {ln.key for ln in lines}


def brute_force_best_total(lines, offers, shipping):
    """The largest total over every combination of at most one offer per slot, each priced
    alone with price_cart (which then has one choice only)."""
    by_slot = {}
    for o in offers:
        by_slot.setdefault(o.slot, []).append(o)
    best = D("0")
    for combination in itertools.product(*([None, *group] for group in by_slot.values())):
        chosen = [o for o in combination if o is not None]
        total = price_cart(lines, chosen, now=NOW, shipping_fees=shipping).total_discount
        best = max(best, total)
    return best


@settings(max_examples=200, deadline=None)
@given(carts(), offer_lists(), fees)
def test_the_chosen_combination_is_never_worse_than_any_other(lines, offers, shipping):
    result = price_cart(lines, offers, now=NOW, shipping_fees=shipping)
    assert result.total_discount == brute_force_best_total(lines, offers, shipping)
