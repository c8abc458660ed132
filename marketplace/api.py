"""API kernel: the one DRF exception handler, pagination and shared permissions.

Kept free of views and schema imports: DRF imports this module while it is itself still
loading (DEFAULT_PAGINATION_CLASS), so anything heavier would be a circular import.
"""

from __future__ import annotations

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .middleware import RETRY_AFTER_SECONDS, SERVER_BUSY_CODE, SERVER_BUSY_MESSAGE, is_server_busy, server_busy_log

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

    `DomainError` → its own status (400, or 409 for conflicts). A database wait bound that
    fired → 503 `server_busy` with `Retry-After`. DRF errors keep their
    status; validation errors put the per-field messages in `extra.fields`. A method the
    route does not have is 405 whoever asks.
    """
    view, request = context.get("view"), context.get("request")
    if (
        view is not None
        and request is not None
        and request.method.upper() not in view.allowed_methods
        and not isinstance(exc, exceptions.Throttled)
    ):
        # DRF checks the caller before the method, so a method the route does not have would
        # answer 401/403/404 by who asks; it is 405 for everyone (with the `Allow` header).
        exc = exceptions.MethodNotAllowed(request.method)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if is_server_busy(exc):
        # A database wait bound fired (settings: DB_LOCK_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS):
        # the transaction rolled back, so the client may simply retry.
        server_busy_log(request, exc)
        body = {
            "code": SERVER_BUSY_CODE,
            "message": str(SERVER_BUSY_MESSAGE),
            "extra": {"retry_after_seconds": RETRY_AFTER_SECONDS},
        }
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # Django's limits on a request body (fields, files, bytes) are raised while DRF parses
        # it; left alone they would escape as Django's HTML 400. Logged where Django logs them.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
            exc = exceptions.ParseError(_("The request has too many fields or is too large."))
        else:
            exc = exceptions.ParseError()

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
    """`?page=` and `?page_size=` (at most 100: larger sizes give 100).

    DRF silently ignores a page size that is not a positive whole number; we refuse it, so a
    client's typo is not answered with a different page than it asked for.
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise exceptions.ValidationError({self.page_size_query_param: [_("Enter a whole number, 1 or more.")]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


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


def validated(serializer_class, data) -> dict:
    """`data` checked by an input serializer; invalid data is the 400 `validation_error` answer."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
