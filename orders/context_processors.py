"""Template context for every page: the cart link in the storefront header."""

from __future__ import annotations

from functools import cached_property

from django.urls import reverse

from . import selectors


class CartSummary:
    """`{{ cart_summary.count }}` costs one query, and only on pages that show it."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def count(self) -> int:
        user = getattr(self._request, "user", None)
        session = getattr(self._request, "session", None)
        return selectors.cart_item_count(buyer=user, session_key=session.session_key if session is not None else None)

    @cached_property
    def url(self) -> str:
        return reverse("orders:cart")


def cart_summary(request) -> dict:
    return {"cart_summary": CartSummary(request)}
