from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import allocate, format_cny, quantize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.999", "20.00"),
        ("1.775", "1.78"),
        ("1.774", "1.77"),
        ("0.005", "0.01"),
        ("-1.775", "-1.78"),
        (7, "7.00"),
        (Decimal("399.98") * Decimal("0.05"), "20.00"),
    ],
)
def test_quantize_rounds_half_up_to_the_cent(value, expected):
    assert quantize(value) == Decimal(expected)


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(0.1)


def test_allocate_example_gives_extra_cents_to_largest_remainders():
    # 10.00 over 1:1:1 → 3.333… each; one extra cent goes to the first (ties: earliest).
    assert allocate("10.00", [1, 1, 1]) == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    # 5.00 over 399.98 and 35.50 (a shipping split in proportion to line values).
    assert allocate("5.00", [Decimal("399.98"), Decimal("35.50")]) == [Decimal("4.59"), Decimal("0.41")]


def test_allocate_edge_cases():
    assert allocate("0.00", [1, 2]) == [Decimal("0.00"), Decimal("0.00")]
    assert allocate("0.03", [0, 0, 0]) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.01")]
    assert allocate("-0.05", [1, 1]) == [Decimal("-0.03"), Decimal("-0.02")]
    assert allocate("0.00", []) == []
    with pytest.raises(ValueError):
        allocate("1.00", [])
    with pytest.raises(ValueError):
        allocate("1.00", [1, -1])


amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2, allow_nan=False)
weights = st.lists(
    st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2, allow_nan=False), min_size=1, max_size=30
)


@given(total=amounts, parts_weights=weights)
def test_allocate_parts_always_sum_to_the_total(total, parts_weights):
    parts = allocate(total, parts_weights)
    assert len(parts) == len(parts_weights)
    assert sum(parts) == quantize(total)
    assert all(p == p.quantize(Decimal("0.01")) for p in parts)


@given(total=amounts, parts_weights=weights)
def test_allocate_parts_are_within_a_cent_of_the_exact_share(total, parts_weights):
    parts = allocate(total, parts_weights)
    weight_sum = sum(parts_weights)
    for part, weight in zip(parts, parts_weights, strict=True):
        exact = total * weight / weight_sum if weight_sum else total / len(parts_weights)
        assert abs(part - exact) < Decimal("0.01")


@given(total=amounts.filter(lambda a: a >= 0), parts_weights=weights)
def test_allocate_never_gives_a_negative_part_of_a_positive_total(total, parts_weights):
    assert all(p >= 0 for p in allocate(total, parts_weights))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234.5", "¥1,234.50"), ("0", "¥0.00"), ("-8", "-¥8.00"), ("1000000", "¥1,000,000.00")],
)
def test_format_cny(value, expected):
    assert format_cny(value) == expected
