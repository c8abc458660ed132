"""Errors of the merchants app; their codes are part of the API."""

from marketplace.errors import ConflictError, DomainError, InvalidTransition


class MerchantError(DomainError):
    """Bad input for a merchant operation (HTTP 400)."""


class MerchantConflict(ConflictError):
    """The merchant is not in a state that allows the operation (HTTP 409)."""


class MerchantInvalidTransition(InvalidTransition):
    """A status change the transition table does not allow (HTTP 409, code invalid_transition)."""
