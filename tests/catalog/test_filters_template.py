"""The list pages' filter form written in Python (`{% filter_form %}`,
`catalog.templatetags.storefront_filters`) is the reference template
`storefront/_filters.html` byte for byte: with and without the search page's keyword and
categories, every filter, invalid values, HTML in names and values, in both languages."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.template import Context
from django.template.loader import get_template
from django.utils import translation

from catalog import selectors
from catalog.filters import ORDERING_CHOICES, ProductFilter
from catalog.models import Tag
from catalog.templatetags.storefront_filters import filter_form_html
from tests.merchants.factories import category as make_category

pytestmark = pytest.mark.django_db

QUERIES = [
    "",
    "q=%E5%8F%B0%E7%81%AF&price_min=50&price_max=500&in_stock=1&ordering=price",
    "q=a%26b%3C%3E%22&ordering=relevance",
    "q=lamp",
    "price_min=abc&price_max=%3Cb%3E",
    "price_max=12.5",
    "tag=led&tag=%3Ci%3E%26",
    "tag=led&tag=absent",
    "category={category}",
    "category=abc&ordering=bogus",
    "category=999999&in_stock=0",
    "page=2&ordering=-price",
    "ordering=newest&in_stock=1",
]


def _context(query: str, *, search: bool) -> dict:
    data = QueryDict(query)
    filterset = ProductFilter(data, queryset=selectors.product_public_queryset())
    filterset.qs  # noqa: B018 - validates the form and decides the ordering, as the pages do
    context = {
        "filter": filterset,
        "tags": selectors.tag_list_storefront(),
        "selected_tags": set(filterset.form.cleaned_data.get("tag") or []),
        "orderings": ORDERING_CHOICES,
        "ordering": filterset.applied_ordering,
    }
    if search:
        context.update(q=data.get("q", "").strip(), categories=selectors.category_choices())
    return context


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_filter_form_written_in_python_is_the_template_byte_for_byte(language):
    home = make_category("Home & <Garden>")
    lighting = make_category("Lighting", parent=home)
    Tag.objects.create(name="LED", slug="led")
    Tag.objects.create(name='<i>Cosy</i> & "warm"', slug="<i>&")
    template = get_template("storefront/_filters.html")
    compared = 0
    with translation.override(language):
        for query in QUERIES:
            for search in (False, True):
                context = _context(query.format(category=lighting.pk), search=search)
                expected = template.render(context)
                assert filter_form_html(Context(context, autoescape=True)) == expected
                compared += 1
    assert compared == 26


def test_no_tags_and_no_categories_write_neither_list():
    context = _context("", search=True)
    assert context["tags"] == [] and context["categories"] == []
    with translation.override("en"):
        html = filter_form_html(Context(context, autoescape=True))
        assert html == get_template("storefront/_filters.html").render(context)
    assert "tag-choices" not in html and "f-category" not in html
