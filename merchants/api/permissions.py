"""Who may act on an application through the API."""

from __future__ import annotations

from rest_framework import permissions

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
