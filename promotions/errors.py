"""Errors of the promotions app; their codes are part of the API."""

from marketplace.errors import ConflictError, DomainError, InvalidTransition


class PromotionError(DomainError):
    """Bad input for a promotion (HTTP 400): codes such as `invalid_percent`,
    `steps_not_increasing`, `invalid_amount`, `invalid_window`, `scope_not_own_shop`."""


class PromotionConflict(ConflictError):
    """The promotion cannot be used as asked (HTTP 409), e.g. `promotion_exhausted` when its
    budget or a buyer's limit ran out between pricing and checkout."""


class PromotionInvalidTransition(InvalidTransition):
    """A status change the transition table does not allow (HTTP 409, code invalid_transition)."""


class MembershipError(DomainError):
    """Bad input for a membership level (HTTP 400)."""


class CouponError(DomainError):
    """A coupon that does not apply to this cart (HTTP 400): `coupon_min_spend_not_reached`,
    `coupon_not_applicable` (no item in its scope, or nothing left to discount),
    `coupon_not_started`, `coupon_expired`; and bad input: `coupon_code_unknown`,
    `coupon_not_claimable`."""


class CouponConflict(ConflictError):
    """A coupon that cannot be claimed or used any more (HTTP 409): `coupon_unavailable`
    (used, or taken by a concurrent checkout), `coupon_used_up` (the promotion's total count
    is reached), `coupon_limit_reached` (the buyer holds as many as the per-buyer limit)."""


# --- Flash sales ---------------------------------------------------------------------------------


class FlashSaleError(DomainError):
    """Bad input for a flash sale (HTTP 400)."""


class FlashSaleConflict(ConflictError):
    """A flash sale refused the operation in its current state (HTTP 409): not started,
    ended, paused, sold out, the buyer's limit reached."""


class GroupBuyError(DomainError):
    """Bad input for a group buy (HTTP 400): `steps_not_increasing`, `invalid_steps`,
    `invalid_percent`, `invalid_window`, `invalid_quantity`, `sku_not_own`."""


class GroupBuyConflict(ConflictError):
    """A group buy cannot be joined now (HTTP 409): `group_buy_not_active`, `group_closed`,
    `already_joined`."""


class GroupBuyInvalidTransition(InvalidTransition):
    """A status change of a group buy or group the tables do not allow (HTTP 409)."""
