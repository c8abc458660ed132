"""`{% product_cards products %}`: a list page's cards through the card fragment cache
(`catalog.pagecache.PageCards`, which the view read before the page's rows; see there)."""

from __future__ import annotations

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

register = template.Library()

CARD_TEMPLATE = "storefront/_product_card.html"


@register.simple_tag(takes_context=True)
def product_cards(context, products):
    """The cards of `products`, in order, as `{% include "storefront/_product_card.html" %}`
    renders them one by one: the current ones from `context["card_cache"]`, the others
    rendered and handed to it to store."""
    cards = context["card_cache"]
    # Rendered in the page's own context, as `{% include %}` does: a new context per card
    # (the page's flattened into it) was a fifth of the cards' time.
    card = get_template(CARD_TEMPLATE).template
    parts, fresh = [], {}
    for product in products:
        html = cards.get(product.pk)
        if html is None:
            with context.push(product=product):
                html = fresh[product.pk] = card.render(context)
        parts.append(html)
    cards.store(fresh)
    return mark_safe("".join(parts))  # noqa: S308 - cards rendered by the autoescaping card template
