"""Template filters of promotions: what a promotion gives, in a few words."""

from django import template

from promotions.selectors import promotion_label as _label

register = template.Library()


@register.filter
def promotion_label(promotion) -> str:
    """ "满200减20", "8.5折"… in the active language (the steps from the prefetch)."""
    return _label(promotion)
