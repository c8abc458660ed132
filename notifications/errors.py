"""Errors of the notifications app; their codes are part of the API."""

from marketplace.errors import DomainError


class NotificationError(DomainError):
    """Bad input for a notification operation (HTTP 400)."""
