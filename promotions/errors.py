"""Errors of the promotions app; their codes are part of the API."""

from marketplace.errors import ConflictError, DomainError

# --- Flash sales ---------------------------------------------------------------------------------


class FlashSaleError(DomainError):
    """Bad input for a flash sale (HTTP 400)."""


class FlashSaleConflict(ConflictError):
    """A flash sale refused the operation in its current state (HTTP 409): not started,
    ended, paused, sold out, the buyer's limit reached."""
