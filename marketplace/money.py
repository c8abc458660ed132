"""Money arithmetic: the only place where amounts are rounded.

Amounts are `Decimal` CNY with two places. Rounding is ROUND_HALF_UP to 0.01 (domain.md).
When one amount is split over several parts (an order discount over its lines, shipping
over lines, a subsidy over orders), `allocate` spreads it by the largest-remainder method
so the parts always add up to the whole, to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_decimal(value) -> Decimal:
    """Turn an int, str or Decimal into a Decimal; floats are refused (they are inexact)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError("Money must not be a float or bool; pass a str, int or Decimal.")
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"Cannot use {type(value).__name__} as money.")


def quantize(value) -> Decimal:
    """Round to the cent, half up: 19.995 → 20.00, 1.775 → 1.78, -1.775 → -1.78."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(total, weights: Sequence) -> list[Decimal]:
    """Split `total` (rounded to the cent) over `weights` proportionally.

    Guarantees: the result has one part per weight; the parts sum exactly to the total;
    every part is within one cent of its exact share; the extra cents go to the largest
    remainders, ties to the earliest weight, so the result is deterministic. A negative
    total is split like its absolute value and negated. All-zero weights split evenly.
    """
    total = quantize(total)
    weights = [to_decimal(w) for w in weights]
    if not weights:
        if total != ZERO:
            raise ValueError("Cannot allocate a non-zero amount over no weights.")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("Allocation weights must not be negative.")
    if total < 0:
        return [-part for part in allocate(-total, weights)]

    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))

    cents = int(total / CENT)
    exact = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    leftover = cents - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return [(Decimal(c) * CENT).quantize(CENT) for c in floors]


def format_cny(value) -> str:
    """Display form used on every page: ¥1,234.50, -¥8.00."""
    amount = quantize(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"
