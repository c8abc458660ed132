"""Template context for every page: the cart link in the storefront header."""

from __future__ import annotations

from functools import cached_property

from django.urls import reverse

from . import selectors
from .services.cart import SESSION_CART_KEY


class CartSummary:
    """`{{ cart_summary.count }}` costs one query, and only on pages that show it, to a visitor
    who may have a cart: a signed-in one, or an anonymous one whose session holds a cart's key."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def count(self) -> int:
        user = getattr(self._request, "user", None)
        if user is not None and user.is_authenticated:
            return selectors.cart_item_count(buyer=user)
        session = getattr(self._request, "session", None)
        # An anonymous cart is always created with its key remembered in the session
        # (orders.services.cart._owner; cart_add finds it the same way): without it the
        # visitor has no cart. The header reads the session anyway (user.is_authenticated),
        # so a session cookie alone (unknown, expired, or a session without a cart) no longer
        # costs every page a cart query.
        if session is None or not session.session_key or session.get(SESSION_CART_KEY) != session.session_key:
            return 0
        return selectors.cart_item_count(session_key=session.session_key)

    @cached_property
    def url(self) -> str:
        return reverse("orders:cart")


def cart_summary(request) -> dict:
    return {"cart_summary": CartSummary(request)}
