"""Request body parsers of the API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

A module of its own: DRF imports it while `rest_framework.views` is still loading.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser as DRFJSONParser

# No request body of the API nests deeper than a few levels; this leaves a wide margin.
MAX_JSON_DEPTH = 32


def json_depth_exceeds(data, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `data` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, refusing deep nesting with a 400 `parse_error`.

    Python's json module recurses once per level: 5,000 nested `[` raise RecursionError, which
    DRF does not catch (a 500 on every JSON endpoint, the anonymous token one included). Data
    under the recursion limit but deeper than MAX_JSON_DEPTH would still overflow whatever
    recurses over it later (serializers, the audit log), so it is refused here too.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = exceptions.ParseError(
            _("JSON parse error - nested deeper than %(limit)s levels.") % {"limit": MAX_JSON_DEPTH}
        )
        try:
            data = super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth_exceeds(data):
            raise too_deep
        return data
