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
