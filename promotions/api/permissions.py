"""Who may call the promotions API (coupons, group buys).

Signed out → 401. Staff use the admin: 404 on buyer and merchant endpoints, as for anyone who
is not the owner of what they ask for, so ids cannot be probed. Group buys belong to the
portal's catalog section (the owner and catalog members); anyone else signed in gets 404."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated

from merchants.api.permissions import IsSectionMember
from merchants.choices import PortalSection


class IsBuyer(IsAuthenticated):
    """Any signed-in user but staff: a buyer reaches only their own coupons and places (the
    selectors)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.is_staff:
            raise NotFound()
        return True


class IsGroupBuyMember(IsBuyer, IsSectionMember):
    """A member whose role covers the catalog, not staff (either refusal is 404); the
    membership is kept on `request.member`."""

    section = PortalSection.CATALOG
