"""Errors of the catalog app; their codes are part of the API."""

from marketplace.errors import ConflictError, DomainError, InvalidTransition


class CatalogError(DomainError):
    """Bad input for a catalog operation (HTTP 400)."""


class CatalogConflict(ConflictError):
    """The record is not in a state that allows the operation (HTTP 409)."""


class ListingInvalidTransition(InvalidTransition):
    """A moderation step the listing's state does not allow (HTTP 409, code invalid_transition)."""


class InsufficientStock(ConflictError):
    """Not enough available stock: nothing was reserved (HTTP 409, code insufficient_stock)."""

    default_code = "insufficient_stock"
