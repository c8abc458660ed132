"""Who may call the settlements API.

Signed out → 401. "Finance" is platform staff whom the declaration of the action allows
(`settlements.permissions`, the declarations the admin uses too), not merely `is_staff`:
other staff get 403. Statements are also readable by a merchant member whose role covers
the portal's finance section (owner, finance), for their own merchant only; any other
signed-in user gets 404 (there is nothing of theirs here), so ids cannot be probed.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated

from marketplace.api import HasStaffAction
from merchants import selectors as merchant_selectors
from merchants.api.permissions import IsSectionMember
from merchants.choices import PortalSection


class FinancePermission(HasStaffAction):
    """Staff whom the view's `staff_actions[action]` allows; anyone else signed in 404."""

    non_staff = NotFound


class StatementReader(FinancePermission):
    """Finance staff as above; a non-staff caller needs a membership covering the finance
    section (the selectors then scope the statements to its merchant)."""

    def has_permission(self, request, view):
        if not IsAuthenticated.has_permission(self, request, view):
            return False
        if request.user.is_staff:
            return super().has_permission(request, view)
        member = merchant_selectors.membership_for_user(request.user)
        if member is None or not member.can(PortalSection.FINANCE):
            raise NotFound()
        return True


class IsFinanceMember(IsSectionMember):
    """The merchant's own subsidies, penalties and fees (api/merchant.py): a member whose role
    covers the finance section, as the portal's pages; staff (who use the admin) and anyone
    else signed in get 404."""

    section = PortalSection.FINANCE

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated and request.user.is_staff:
            raise NotFound()
        return super().has_permission(request, view)
