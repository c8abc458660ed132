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


class GroupBuyError(DomainError):
    """Bad input for a group buy (HTTP 400): `steps_not_increasing`, `invalid_steps`,
    `invalid_percent`, `invalid_window`, `invalid_quantity`, `sku_not_own`."""


class GroupBuyConflict(ConflictError):
    """A group buy cannot be joined now (HTTP 409): `group_buy_not_active`, `group_closed`,
    `already_joined`."""


class GroupBuyInvalidTransition(InvalidTransition):
    """A status change of a group buy or group the tables do not allow (HTTP 409)."""
