"""Errors of merchant quality (credit rating, evaluations, renewals); their codes are part
of the API."""

from marketplace.errors import ConflictError, DomainError


class QualityError(DomainError):
    """Bad input for a quality operation (HTTP 400)."""


class QualityConflict(ConflictError):
    """The review or renewal is not in a state that allows the operation (HTTP 409)."""
