"""The one error type of the domain.

Services raise `DomainError` (or an app's subclass) with a stable snake_case `code` that is
part of the API, a translated human `message`, and `extra` data for clients. The DRF
exception handler in `marketplace.api` maps it once to HTTP; views turn it into form errors.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the operation. Nothing was written."""

    #: HTTP status the API answers with: 400 for bad input, 409 for a state conflict.
    status_code = 400
    default_code = "invalid"

    def __init__(self, code: str | None = None, message: Any = "", extra: dict | None = None):
        self.code = code or self.default_code
        self.message = message
        self.extra = extra or {}
        super().__init__(f"{self.code}: {message}")

    def with_status(self, status_code: int) -> DomainError:
        """Answer with another HTTP status (e.g. 403 for a locked account)."""
        self.status_code = status_code
        return self

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self.message), "extra": self.extra}


class ConflictError(DomainError):
    """The record is not in a state that allows the operation (HTTP 409)."""

    status_code = 409
    default_code = "conflict"


class InvalidTransition(ConflictError):
    """A state machine refused a transition from the current state."""

    default_code = "invalid_transition"


class NotFoundError(DomainError):
    """The record does not exist for the acting party (HTTP 404). Services raise it when a
    row belongs to another merchant, so ids cannot be probed across tenants; pages answer
    it with their 404 page."""

    status_code = 404
    default_code = "not_found"
