"""Who may act on an application through the API, and who reaches a merchant's API of any app."""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.exceptions import NotFound

from .. import selectors
from ..choices import PortalSection


class IsApplicant(permissions.IsAuthenticated):
    """A member of the application's own merchant whose role covers the application.

    Non-staff users never reach another merchant's row (the queryset hides it: 404); this
    check stops staff, who may read every application, from changing one they do not own.
    """

    def has_object_permission(self, request, view, obj):
        member = selectors.membership_for_user(request.user)
        return member is not None and member.merchant_id == obj.pk and member.can(PortalSection.APPLICATION)


class IsSectionMember(permissions.IsAuthenticated):
    """Signed in (else 401) and a member whose role covers `section` (else 404, not 403, so a
    merchant's endpoints cannot be probed); the membership is kept on `request.member`.

    The merchant APIs of every app subclass it naming their portal section, so who reaches
    a merchant's catalog or orders is decided by the same rule as the portal's pages.
    """

    section: str

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        member = selectors.membership_for_user(request.user)
        if member is None or not member.can(self.section):
            raise NotFound()
        request.member = member
        return True
