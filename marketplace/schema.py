"""Shared OpenAPI pieces: the error body every endpoint may answer with, and the schema class
that documents, for every operation, the errors DRF itself can answer with.

Views declare their success answers and the errors of their own rules (`DomainError` codes,
409, 422). The errors that come from the machinery around a view (the parsers, the
authentication, the permissions, the throttles, the pagination) are derived here from the
view's configuration, so the schema cannot forget one when a view changes.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import authentication, permissions, serializers

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MACHINERY_ERRORS = {
    400: "Invalid input: `validation_error` (per-field messages in `extra.fields`) or `parse_error`.",
    401: "`not_authenticated` or `authentication_failed` (a wrong or expired token).",
    403: "`permission_denied` (also a session request without its CSRF token).",
    404: "`not_found`.",
    415: "`unsupported_media_type`.",
    429: "`throttled` (`extra.retry_after_seconds`).",
}
ONLY_401 = (permissions.AllowAny, permissions.IsAuthenticated, permissions.IsAuthenticatedOrReadOnly)


class ErrorSerializer(serializers.Serializer):
    """Shape of every error answer, for the OpenAPI schema."""

    code = serializers.CharField(help_text="Stable snake_case error code.")
    message = serializers.CharField(help_text="Human-readable, translated message.")
    extra = serializers.DictField(help_text="Details, e.g. per-field messages.")


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema plus the error answers the view's configuration implies."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status_code in sorted(self._machinery_errors(operation)):
            if str(status_code) not in responses:
                answer = OpenApiResponse(ErrorSerializer, description=MACHINERY_ERRORS[status_code])
                responses[str(status_code)] = self._get_response_for_code(answer, str(status_code))
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            # Filters and pagination treat `?name=` as not given (django-filter's rule, and ours).
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation

    def _machinery_errors(self, operation: dict) -> set[int]:
        view = self.view
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        authenticators = list(view.get_authenticators())
        view_permissions = list(view.get_permissions())
        errors: set[int] = set()
        if has_body:
            errors |= {400, 415}  # unreadable or invalid body; a content type no parser reads
        if any(p["in"] in ("query", "header") for p in parameters):
            errors.add(400)  # an invalid filter, page size or header
        if authenticators:
            errors.add(401)  # a wrong or expired token is refused even where anyone may call
        # Anonymous callers of these get 401; only other permissions refuse with 403.
        restricted = [p for p in view_permissions if not isinstance(p, ONLY_401)]
        csrf = self.method not in SAFE_METHODS and any(
            isinstance(a, authentication.SessionAuthentication) for a in authenticators
        )
        if restricted or csrf:
            errors.add(403)
        # Our own permission classes answer 404, not 403, to callers outside the tenancy; ids
        # in the path may name nothing; a page number past the end is not found.
        own_permission = any(not type(p).__module__.startswith("rest_framework.") for p in view_permissions)
        paginated = self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
        if any(p["in"] == "path" for p in parameters) or own_permission or paginated:
            errors.add(404)
        if view.get_throttles():
            errors.add(429)
        return errors


def codes(*names: str) -> str:
    """The sentence of an operation's description that lists the error codes it may answer with."""
    return "Error codes: " + ", ".join(f"`{name}`" for name in names) + "."


def errors(*statuses: int) -> dict:
    """`responses` entries saying that these statuses answer with the error body."""
    return dict.fromkeys(statuses, ErrorSerializer)
