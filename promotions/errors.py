"""Errors of the promotions app; their codes are part of the API."""

from marketplace.errors import DomainError


class MembershipError(DomainError):
    """Bad input for a membership level (HTTP 400)."""
