"""Every write of the promotions app. See each module's docstring for its guarantees."""

from .coupons import (
    coupon_check_applies,
    coupon_check_usable,
    coupon_claim,
    coupon_claim_code,
    coupon_code_set,
    coupon_expire_due,
    coupon_for_checkout,
    coupon_return_for_order,
    coupon_use,
)

__all__ = [
    "coupon_check_applies",
    "coupon_check_usable",
    "coupon_claim",
    "coupon_claim_code",
    "coupon_code_set",
    "coupon_expire_due",
    "coupon_for_checkout",
    "coupon_return_for_order",
    "coupon_use",
]
