"""Pricing and what buyers may buy (read by checkout, the cart and the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from catalog.selectors import (
    category_effective_rate,
)
from marketplace.money import quantize
from merchants.choices import CooperationMode, CreditGrade
from merchants.selectors import current_contract

from ..models import (
    ShippingRate,
)

# --- Pricing and what buyers may buy (read by checkout, the cart and the pages) ------------


# The commission rule of domain.md, applied when an order line is placed:
# rate = category effective rate (joint operation: the contract's revenue-share rate)
#        × 0.5 if placed within three calendar months of `live_since` (launch policy)
#        × 0.9 if the merchant's credit grade is A at that moment.
# The rate is not rounded; commission = base × rate, rounded half-up to the cent.
@dataclass(frozen=True)
class LineRate:
    category_rate: Decimal
    launch_policy: bool
    grade_a: bool
    rate: Decimal

    def commission(self, base: Decimal) -> Decimal:
        return quantize(base * self.rate)


def in_launch_policy(live_since: datetime | None, placed_at: datetime) -> bool:
    """Placed within LAUNCH_POLICY_MONTHS calendar months of going live (platform time zone)."""
    if live_since is None:
        return False
    start = timezone.localtime(live_since)
    return timezone.localtime(placed_at) < start + relativedelta(months=settings.LAUNCH_POLICY_MONTHS)


# `line_rate`'s default: look the contract up. None passed on purpose means "no rate" (checkout
# reads the rates of all shops of an order with its SKUs and knows which have none).
LOOK_UP = object()


def line_rate(*, merchant, category, placed_at: datetime, revenue_share_rate=LOOK_UP) -> LineRate:
    """The frozen rate of a line of `merchant` in `category` placed at `placed_at`.

    `revenue_share_rate` is that of the merchant's current contract (None: no contract or no
    rate); it is looked up when not given."""
    if revenue_share_rate is LOOK_UP:
        contract = current_contract(merchant)
        revenue_share_rate = contract.revenue_share_rate if contract else None
    if merchant.cooperation_mode == CooperationMode.JOINT_OPERATION and revenue_share_rate:
        base_rate = revenue_share_rate
    else:
        base_rate = category_effective_rate(category)
    launch = in_launch_policy(merchant.live_since, placed_at)
    grade_a = merchant.credit_grade == CreditGrade.A
    rate = Decimal(base_rate)
    if launch:
        rate *= Decimal(settings.LAUNCH_POLICY_FACTOR)
    if grade_a:
        rate *= Decimal(settings.GRADE_A_FACTOR)
    return LineRate(category_rate=Decimal(base_rate), launch_policy=launch, grade_a=grade_a, rate=rate)


_READ = object()


def shipping_fee(*, merchant, goods_total: Decimal, rate=_READ) -> Decimal:
    """The merchant's flat fee per merchant order, free from its threshold.

    `rate` is the merchant's ShippingRate (None: it has none) when the caller read it already
    (the cart view joins it). Otherwise it is the merchant's `shipping_rate` (one-to-one): read
    from memory when the merchant was loaded with `select_related("merchant__shipping_rate")`
    (checkout), else one query. A merchant without a rate pays the platform's default fee and
    threshold."""
    if rate is _READ:
        try:
            rate = merchant.shipping_rate
        except ShippingRate.DoesNotExist:
            rate = None
    fee = rate.flat_fee if rate else Decimal(settings.DEFAULT_SHIPPING_FEE)
    free_over = rate.free_over if rate else Decimal(settings.DEFAULT_FREE_SHIPPING_OVER)
    if free_over is not None and goods_total >= free_over:
        return quantize(0)
    return quantize(fee)
