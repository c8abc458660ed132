"""Template context for every page: the unread count in the header (storefront, portal, admin)."""

from __future__ import annotations

from functools import cached_property

from . import selectors


class NotificationSummary:
    """`{{ notification_summary.unread }}` costs one COUNT, once per request, and only on pages
    that show it to a signed-in user (the header asks only then): anonymous pages, the cached
    ones included, pay nothing."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def unread(self) -> int:
        return selectors.unread_count(getattr(self._request, "user", None))


def notification_summary(request) -> dict:
    return {"notification_summary": NotificationSummary(request)}
