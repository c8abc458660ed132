"""The product card written without includes (`storefront/_product_card.html`) renders
exactly the HTML of the card it replaced, which included `_rating.html` and
`_promo_badges.html`: a product with promotion badges, ratings and no stock, one of a new shop
with one rating and nothing else."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import engines
from django.template.loader import get_template
from django.utils import timezone, translation

from catalog.models import Product
from catalog.selectors import product_list_public
from merchants.models import Merchant
from promotions.selectors import products_with_badges
from tests.catalog.factories import live_merchant, product
from tests.merchants.factories import category as make_category
from tests.promotions.pages_factories import platform_promotion, shop_promotion

pytestmark = pytest.mark.django_db

#: The card as it was, with its two includes.
CARD_WITH_INCLUDES = """{% load i18n storefront_urls %}
<li class="product-card">
  <a class="product-link" href="{{ product.pk|product_path }}">
    {% if product.first_image_id %}<img src="{{ product.first_image_id|product_image_path:'medium' }}" alt="" loading="lazy" width="240" height="240">{% else %}<span class="product-noimage" aria-hidden="true"></span>{% endif %}
    <span class="product-title">{{ product.title }}</span>
  </a>
  <span class="product-price money">{% blocktranslate with price=product.min_price|yuan %}from {{ price }}{% endblocktranslate %}</span>
  <span class="product-meta muted">{{ product.merchant.display_name }}</span>
  <span class="product-rating">{% include "storefront/_rating.html" with rated=product %}</span>
  <span class="product-badges">
    {% include "storefront/_promo_badges.html" with badges=product.promo_badges %}
    {% if product.boosted %}<span class="badge">{% translate "New shop" %}</span>{% endif %}
    {% if not product.in_stock %}<span class="badge badge-err">{% translate "Out of stock" %}</span>{% endif %}
  </span>
</li>
"""


def _three_cards(*, lamp_title, lamp_price, lamp_ratings, shop_name=None):
    """Three listed products with their badges: a lamp of an old shop (two promotions' badges,
    `lamp_ratings` as (count, total), no stock), a kettle of a new shop (one rating) and a bare
    product of the old shop (no rating), in that order."""
    lighting = make_category("Lighting")
    old_shop, _ = live_merchant(categories=[lighting])
    aged = {"live_since": timezone.now() - datetime.timedelta(days=90)}
    if shop_name is not None:
        aged["shop_name"] = shop_name
    Merchant.objects.filter(pk=old_shop.pk).update(**aged)
    new_shop, _ = live_merchant(categories=[lighting])
    lamp = product(old_shop, lighting, title=lamp_title, price=lamp_price)
    kettle = product(new_shop, lighting, title="Kettle", price="88.00")
    bare = product(old_shop, lighting, title="Bare", price="10.00")
    Product.objects.filter(pk=bare.pk).update(in_stock=True)
    count, total = lamp_ratings
    Product.objects.filter(pk=lamp.pk).update(rating_count=count, rating_total=total, in_stock=False)
    Product.objects.filter(pk=kettle.pk).update(rating_count=1, rating_total=5, in_stock=True)
    shop_promotion(old_shop, live=True, scope="products", product_ids=[lamp.pk], priority=5)
    platform_promotion(live=True, percent=Decimal("15"))
    return products_with_badges(product_list_public().filter(pk__in=[lamp.pk, kettle.pk, bare.pk]).order_by("pk"))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_card_without_includes_is_the_card_with_them_byte_for_byte(language):
    rows = _three_cards(lamp_title="Desk lamp <b>", lamp_price="199.50", lamp_ratings=(3, 14))
    assert [(p.title, len(p.promo_badges), p.boosted, p.in_stock, p.rating_count) for p in rows] == [
        ("Desk lamp <b>", 2, False, False, 3),
        ("Kettle", 1, True, True, 1),
        ("Bare", 1, False, True, 0),
    ]
    before = engines["django"].from_string(CARD_WITH_INCLUDES)
    after = get_template("storefront/_product_card.html")
    with translation.override(language):
        for row in rows:
            assert after.render({"product": row}) == before.render({"product": row})


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_card_written_by_product_cards_is_the_card_template_byte_for_byte(language):
    """`{% product_cards %}` writes a card missing from the card cache in Python
    (`storefront_cards.card_html`): the same bytes as the card template, for a product with
    badges (one with HTML in its label), several ratings, no stock and HTML in its title and
    shop name; one of a new shop with one rating; one without picture or rating."""
    from django.template import Context

    from catalog.templatetags.storefront_cards import card_html
    from promotions.selectors.storefront import Badge

    rows = _three_cards(
        lamp_title="Desk lamp <b> & 'co'",
        lamp_price="12345.50",
        lamp_ratings=(1234, 5000),
        shop_name='Lamps & "Co" <Ltd>',
    )
    rows[0].promo_badges.append(Badge(rows[0].promo_badges[0].promotion_id, "<i>50%</i> & more", "shop"))
    rows[2].first_image_id = None
    assert [(len(p.promo_badges), p.boosted, p.in_stock, p.rating_count) for p in rows] == [
        (3, False, False, 1234),
        (1, True, True, 1),
        (1, False, True, 0),
    ]
    card = get_template("storefront/_product_card.html")
    with translation.override(language):
        for row in rows:
            assert card_html(row, Context(autoescape=True)) == card.render({"product": row})
