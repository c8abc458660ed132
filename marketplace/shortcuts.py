"""Helpers for views and the API (interface code, not the domain).

Selectors answer None for a row that does not exist or that the caller may not see (another
tenant's): they do not know whether they serve a page, an API call or a service. The view
decides the answer, and for a page or an API resource it is 404, the same for both cases so
that ids cannot be probed.
"""

from __future__ import annotations

from typing import TypeVar

from django.http import Http404

T = TypeVar("T")


def found_or_404(value: T | None) -> T:
    """`value`, or Http404 when the selector found nothing (the API's handler answers it as
    its `not_found` 404 too)."""
    if value is None:
        raise Http404
    return value
