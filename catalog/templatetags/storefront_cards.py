"""`{% product_cards products %}`: a list page's cards through the card fragment cache
(`catalog.pagecache.PageCards`, which the view read before the page's rows; see there).

A card missing from that cache (every card of a page rendered from the database with the
cache off, `PAGE_CACHE_TTL=0`) is written by `card_html`, the exact bytes
`storefront/_product_card.html` renders for it (tests/catalog/test_card_template.py compares
them): the template engine spent about 90 µs per card resolving variables and translation
tags, 2.1 ms of a list page's 24 cards, where writing the same text costs a tenth of it. The
template stays the card's reference (and the grid's rendering without a card cache).
"""

from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from marketplace.money import format_cny

from .storefront_urls import product_image_path, product_path

register = template.Library()

CARD_TEMPLATE = "storefront/_product_card.html"


@register.simple_tag(takes_context=True)
def product_cards(context, products):
    """The cards of `products`, in order, as `{% include "storefront/_product_card.html" %}`
    renders them one by one: the current ones from `context["card_cache"]`, the others
    written by `card_html` and handed to it to store."""
    cards = context["card_cache"]
    parts, fresh = [], {}
    for product in products:
        html = cards.get(product.pk)
        if html is None:
            html = fresh[product.pk] = card_html(product, context)
        parts.append(html)
    cards.store(fresh)
    return mark_safe("".join(parts))  # noqa: S308 - every value escaped as the autoescaping template does


def _text(value, context) -> str:
    # What `{{ value }}` writes: localized, then escaped unless safe.
    return render_value_in_context(value, context)


def card_html(product, context) -> str:
    """`storefront/_product_card.html` rendered for `product` (its listing columns, `boosted`,
    `first_image_id` and `promo_badges`), byte for byte, in the active language. Translated
    texts are written as the template's tags write them: `{% translate %}` of a literal
    unescaped, `{% blocktranslate %}` with its values escaped."""
    if product.first_image_id:
        image = (
            f'<img src="{_text(product_image_path(product.first_image_id, "medium"), context)}" alt="" '
            'loading="lazy" width="240" height="240">'
        )
    else:
        image = '<span class="product-noimage" aria-hidden="true"></span>'
    # `product.min_price|yuan`
    price = "" if product.min_price is None or product.min_price == "" else format_cny(product.min_price)
    if product.rating_count:
        count = product.rating_count
        reviews = ngettext("%(average)s (%(n)s review)", "%(average)s (%(n)s reviews)", count) % {
            "average": _text(product.rating_average, context),
            "n": _text(count, context),
        }
        rating = (
            f'<span class="rating" title="{gettext("Ratings come from buyer reviews")}">'
            f'<span aria-hidden="true">★</span> {reviews}</span>'
        )
    else:
        rating = f'<span class="rating muted">{gettext("No reviews yet")}</span>'
    badges = "".join(
        f'<a class="promo-badge" href="{_text(reverse("promotions:page", args=[badge.promotion_id]), context)}">'
        f"{_text(badge.label, context)}</a>"
        for badge in product.promo_badges
    )
    new_shop = f'<span class="badge">{gettext("New shop")}</span>' if product.boosted else ""
    out_of_stock = "" if product.in_stock else f'<span class="badge badge-err">{gettext("Out of stock")}</span>'
    return (
        "\n"
        '<li class="product-card">\n'
        f'  <a class="product-link" href="{_text(product_path(product.pk), context)}">\n'
        f"    {image}\n"
        f'    <span class="product-title">{_text(product.title, context)}</span>\n'
        "  </a>\n"
        f'  <span class="product-price money">{gettext("from %(price)s") % {"price": _text(price, context)}}</span>\n'
        f'  <span class="product-meta muted">{_text(product.merchant.display_name, context)}</span>\n'
        '  <span class="product-rating">\n'
        f"{rating}\n"
        "</span>\n"
        '  <span class="product-badges">\n'
        f"    {badges}\n"
        "\n"
        f"    {new_shop}\n"
        f"    {out_of_stock}\n"
        "  </span>\n"
        "</li>\n"
    )
