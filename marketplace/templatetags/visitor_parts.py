"""`{% visitor_part "template.html" %}`: a part of a page that depends on who is looking (their
name, cart, notifications, messages), rendered in place as `{% include %}` would, except in a
page rendered for the page cache (`marketplace.pagecache`): there it leaves a hole, which every
answer fills with the part rendered for its own visitor."""

from __future__ import annotations

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from marketplace.pagecache import visitor_part_marker

register = template.Library()


@register.simple_tag(takes_context=True)
def visitor_part(context, name: str):
    """The part `name` for this request, or its hole in a page rendered for the cache."""
    marker = visitor_part_marker(getattr(context, "request", None), name)
    if marker is not None:
        return mark_safe(marker)  # noqa: S308 - a fixed comment around a checked template name
    with context.push():
        return get_template(name).template.render(context)
