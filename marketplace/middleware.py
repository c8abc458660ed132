"""Request checks that apply before any view of a group of routes."""

from __future__ import annotations

from django.core.exceptions import BadRequest


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
