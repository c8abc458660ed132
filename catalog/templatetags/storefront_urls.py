"""Links of the storefront's product cards: `{{ product.pk|product_path }}` and
`{{ image.pk|product_image_path:"medium" }}`, the same paths as `{% url 'product_page' … %}`
and `{% url 'product_image' … %}`.

Why not `{% url %}`: a list page shows 24 cards with two links each, and reversing them was
half of a list page's own template time (search page, cProfile: 57 reversals, 5 of its 10 ms
of template work outside the queries). A path differs from card to card only by its id, so
each pattern is reversed once per URL configuration, script prefix and language (everything
`reverse` depends on), with a marker in place of the id, and the id is put in its place.
Reversing then happens again only when one of those changes (e.g. a test's ROOT_URLCONF:
Django builds a new resolver).
"""

from __future__ import annotations

from django import template
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

register = template.Library()

#: An id no page links to, reversed in place of the real one and then replaced by it.
_MARKER = 918_273_645_546_372_819
_patterns: dict[tuple, tuple[str, str]] = {}


def _path(name: str, object_id, *args: str) -> str:
    object_id = int(object_id)  # what the `int` converter (and `[0-9]+`) accept, as reverse would
    key = (get_resolver(get_urlconf()), get_script_prefix(), get_language(), name, *args)
    pattern = _patterns.get(key)
    if pattern is None:
        head, found, tail = reverse(name, args=[_MARKER, *args]).rpartition(str(_MARKER))
        if not found:  # a pattern that does not show the id as given: reverse as usual
            return reverse(name, args=[object_id, *args])
        pattern = _patterns[key] = (head, tail)
    head, tail = pattern
    return f"{head}{object_id}{tail}"


@register.filter
def product_path(product_id) -> str:
    """The product page's path: `{% url 'product_page' product_id %}`."""
    return _path("product_page", product_id)


@register.filter
def product_image_path(image_id, size: str) -> str:
    """A product picture's path at `size` (small, medium, full): `{% url 'product_image' image_id size %}`."""
    return _path("product_image", image_id, size)
