"""Request checks that apply before any view of a group of routes."""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from psycopg import errors as pg_errors

logger = logging.getLogger(__name__)

# How long a client is asked to wait before retrying: a lock queue or an overload passes in
# seconds, and a longer pause would only turn a busy moment into a lost customer.
RETRY_AFTER_SECONDS = 1
SERVER_BUSY_CODE = "server_busy"
SERVER_BUSY_MESSAGE = _("The server is busy. Please try again in a moment.")


class AdminQueryNulMiddleware:
    """A NUL character in the query string of an admin page is a bad request (400).

    The admin reads unknown query parameters as field lookups (`?status=…`) of any model,
    third-party ones included, and PostgreSQL refuses NUL in text: the changelist answered
    500. The platform's own pages and API validate their parameters through forms, which
    already refuse NUL; the admin's lookups have no form, so they are checked here, once for
    every ModelAdmin.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and "admin" in match.namespaces and _has_nul(request.GET):
            raise BadRequest("NUL character in the query string of an admin page.")
        return None


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query.lists())


def is_server_busy(exc: BaseException) -> bool:
    """True for a database wait bound that fired: a lock not granted within `lock_timeout`
    (LockNotAvailable) or a statement cancelled by `statement_timeout` (QueryCanceled).

    Both mean "too busy now", not a bug: the statement's transaction rolled back when the
    error left its `atomic` block, so nothing was half-written and the request may be retried.
    """
    return isinstance(exc, OperationalError) and isinstance(
        exc.__cause__, (pg_errors.LockNotAvailable, pg_errors.QueryCanceled)
    )


def server_busy_log(request, exc: BaseException) -> None:
    # A warning, not an error: a few under a load peak are the bound doing its job.
    logger.warning(
        "Database busy, answered 503: %s %s (%s)", request.method, request.path, type(exc.__cause__).__name__
    )


class ServerBusyMiddleware:
    """A page or route outside DRF that hit a database wait bound answers 503 with
    `Retry-After` (the API's JSON error shape under /api/, the busy page elsewhere), not 500.

    The API's own views are answered by `marketplace.api.exception_handler` the same way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_server_busy(exception):
            return None
        server_busy_log(request, exception)
        if request.path.startswith("/api/"):
            body = {
                "code": SERVER_BUSY_CODE,
                "message": str(SERVER_BUSY_MESSAGE),
                "extra": {"retry_after_seconds": RETRY_AFTER_SECONDS},
            }
            response = JsonResponse(body, status=503)
        else:
            # Rendered without the request: no context processor may query the busy database.
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
