"""Who may call the orders API.

Signed out → 401. Platform staff use the admin, not these endpoints: 404, as for anyone
who is not the owner of what they ask for, so ids cannot be probed. Merchant endpoints need
a membership whose role covers orders (owner, orders); anyone else signed in gets 404.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated

from merchants import selectors as merchant_selectors
from merchants.api.permissions import IsSectionMember
from merchants.choices import PortalSection


class IsBuyer(IsAuthenticated):
    """Any signed-in user but staff: a buyer reaches only their own rows (the selectors)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.is_staff:
            raise NotFound()
        return True


class IsOrdersMember(IsBuyer, IsSectionMember):
    """A member whose role covers orders, not staff (either refusal is 404); the membership
    is kept on `request.member`."""

    section = PortalSection.ORDERS


def orders_member(request):
    """The caller's membership if their role covers orders, else None (never raises)."""
    member = merchant_selectors.membership_for_user(request.user)
    return member if member is not None and member.can(PortalSection.ORDERS) else None
