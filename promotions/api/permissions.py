"""Who may call the coupon API.

Signed out → 401. Platform staff use the admin: the buyer's endpoints answer them 404, as
for anyone asking for a coupon that is not theirs, so ids cannot be probed."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated


class IsBuyer(IsAuthenticated):
    """Any signed-in user but staff: a buyer reaches only their own coupons (the selectors)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.is_staff:
            raise NotFound()
        return True
