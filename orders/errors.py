"""Errors of the orders app; their codes are part of the API."""

from marketplace.errors import ConflictError, DomainError, InvalidTransition


class OrderError(DomainError):
    """Bad input for an order operation (HTTP 400)."""


class OrderConflict(ConflictError):
    """The order is not in a state that allows the operation (HTTP 409)."""


class OrderInvalidTransition(InvalidTransition):
    """A status change the transition table does not allow (HTTP 409, code invalid_transition)."""


class IdempotencyMismatch(DomainError):
    """The idempotency key was used with another request body (HTTP 422)."""

    status_code = 422
    default_code = "idempotency_key_reused"


class RequestInProgress(ConflictError):
    """A request with the same idempotency key is still running (HTTP 409)."""

    default_code = "request_in_progress"
