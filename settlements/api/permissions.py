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
