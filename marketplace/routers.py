"""The router of every API (imported by the apps' api/urls.py)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """The router of every API: Django path converters instead of DRF's `[^/.]+` regex.

    A viewset's lookup is an integer id (`<int:pk>`) unless it names another converter in
    `lookup_value_converter`, so `/orders/after-sales/abc/` is a JSON 404 rather than a 500
    from the database, and the schema types the path parameter. `@action` url_paths with
    an id use `<int:name>` too.
    """

    def __init__(self):
        super().__init__(use_regex_path=False)

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        converter = getattr(viewset, "lookup_value_converter", None) or "int"
        return f"<{converter}:{lookup_prefix}{lookup_url_kwarg}>"
