"""API kernel: the one DRF exception handler, pagination and shared permissions.

Kept free of views and schema imports: DRF imports this module while it is itself still
loading (DEFAULT_PAGINATION_CLASS), so anything heavier would be a circular import.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

# Stable codes for DRF's own exceptions, so every error body has the same shape.
_DRF_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc, context):
    """Answer every error as JSON `{"code", "message", "extra"}`.

    `DomainError` → its own status (400, or 409 for conflicts). DRF errors keep their
    status; validation errors put the per-field messages in `extra.fields`.
    """
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": code, "message": str(_("The request has invalid fields.")), "extra": {"fields": exc.detail}}
    else:
        extra = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            extra["retry_after_seconds"] = int(exc.wait)
        body = {"code": code, "message": str(exc.detail), "extra": extra}
    response.data = body
    return response


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class HasStaffAction(permissions.BasePermission):
    """Staff whom the declaration of the requested action allows: `view.staff_actions` maps
    the view's actions to their `marketplace.staff_actions.StaffAction`, the declaration the
    admin uses for the same service.

    Signed out → 401. Staff the declaration does not allow → 403, and so is an action the
    view does not declare (staff act only through declared actions). A caller who is not
    staff gets `non_staff` (403; 404 where staff-only resources must not be probed).
    """

    non_staff: type[exceptions.APIException] | None = exceptions.PermissionDenied

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_staff:
            if self.non_staff is not None:
                raise self.non_staff()
            return True
        declared = view.staff_actions.get(view.action)
        if declared is None or not declared.allows(user):
            raise exceptions.PermissionDenied()
        return True


class StaffActionOrScoped(HasStaffAction):
    """Staff as `HasStaffAction`; other signed-in callers go on to the view, whose selectors
    show them only their own rows (a merchant's member reading its application)."""

    non_staff = None
