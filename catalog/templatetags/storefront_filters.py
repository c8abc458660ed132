"""`{% filter_form %}`: a list page's filter form (`storefront/_filters.html`) written in Python.

The template engine spent about 1.6 ms of CPU per category or search page on this form (its
translation tags, the categories' and tags' loops, the form's values resolved variable by
variable), where writing the same text costs a tenth of it. `filter_form_html` writes the
exact bytes `{% include "storefront/_filters.html" %}` renders in the same context
(tests/catalog/test_filters_template.py compares them); the template stays the reference, as
`storefront/_product_card.html` is for `card_html`.
"""

from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.template.defaultfilters import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag(takes_context=True)
def filter_form(context):
    """`{% include "storefront/_filters.html" %}`, byte for byte (see `filter_form_html`)."""
    return mark_safe(filter_form_html(context))  # noqa: S308 - every value escaped as the autoescaping template does


def _text(value, context) -> str:
    # What `{{ value }}` writes: localized, then escaped unless safe.
    return render_value_in_context(value, context)


def filter_form_html(context) -> str:
    """`storefront/_filters.html` rendered in `context` (`filter`, a validated `ProductFilter`;
    `q`, `categories`, `tags`, `selected_tags`, `orderings`, `ordering`), byte for byte, in
    the active language. `{% translate %}` of a literal writes the translation unescaped."""
    form = context["filter"].form
    cleaned = getattr(form, "cleaned_data", {})
    q = context.get("q")
    categories = context.get("categories")
    tags = context.get("tags")
    selected_tags = context.get("selected_tags") or ()
    ordering = context.get("ordering")
    parts = [
        '\n<form class="filters card" method="get" action="">\n'
        f'  <h2 class="sidebar-title">{gettext("Filter")}</h2>\n'
        "  "
    ]
    if q:
        parts.append(f'<input type="hidden" name="q" value="{_text(q, context)}">')
    parts.append("\n  ")
    if categories:
        selected = cleaned.get("category")
        options = "".join(
            f'<option value="{_text(pk, context)}"{" selected" if pk == selected else ""}>{_text(label, context)}</option>'
            for pk, label in categories
        )
        parts.append(
            "\n"
            '  <div class="field">\n'
            f'    <label for="f-category">{gettext("Category")}</label>\n'
            '    <select id="f-category" name="category">\n'
            f'      <option value="">{gettext("All categories")}</option>\n'
            f"      {options}\n"
            "    </select>\n"
            "  </div>\n"
            "  "
        )
    price_min = _text(form.data.get("price_min") or "", context)
    price_max = _text(form.data.get("price_max") or "", context)
    errors = form.errors.get("price_min") or form.errors.get("price_max")
    error = f'<p class="error">{gettext("Enter prices as numbers, e.g. 99.50.")}</p>' if errors else ""
    parts.append(
        "\n"
        '  <fieldset class="field">\n'
        f"    <legend>{gettext('Price (¥)')}</legend>\n"
        '    <div class="price-range">\n'
        f'      <label class="visually-hidden" for="f-price-min">{gettext("Lowest price")}</label>\n'
        '      <input id="f-price-min" type="number" name="price_min" min="0" step="0.01" inputmode="decimal" '
        f'placeholder="{gettext("Min")}" value="{price_min}">\n'
        '      <span aria-hidden="true">–</span>\n'
        f'      <label class="visually-hidden" for="f-price-max">{gettext("Highest price")}</label>\n'
        '      <input id="f-price-max" type="number" name="price_max" min="0" step="0.01" inputmode="decimal" '
        f'placeholder="{gettext("Max")}" value="{price_max}">\n'
        "    </div>\n"
        f"    {error}\n"
        "  </fieldset>\n"
        "  "
    )
    if tags:
        choices = "".join(
            f'<li><label class="checkbox"><input type="checkbox" name="tag" value="{_text(tag.slug, context)}"'
            f"{' checked' if tag.slug in selected_tags else ''}> {_text(tag.name, context)}</label></li>"
            for tag in tags
        )
        parts.append(
            "\n"
            '  <fieldset class="field">\n'
            f"    <legend>{gettext('Tags')}</legend>\n"
            '    <ul class="tag-choices">\n'
            f"      {choices}\n"
            "    </ul>\n"
            "  </fieldset>\n"
            "  "
        )
    in_stock = " checked" if cleaned.get("in_stock") else ""
    options = "".join(
        "\n      "
        + (
            f'<option value="{_text(value, context)}"{" selected" if value == ordering else ""}>'
            f"{_text(label, context)}</option>"
            if value != "relevance" or q
            else ""
        )
        + "\n      "
        for value, label in context.get("orderings") or ()
    )
    clear = f"q={_text(urlencode(q), context)}" if q else ""
    parts.append(
        "\n"
        '  <div class="field">\n'
        '    <label class="checkbox"><input type="checkbox" name="in_stock" value="1"'
        f"{in_stock}> {gettext('In stock only')}</label>\n"
        "  </div>\n"
        '  <div class="field">\n'
        f'    <label for="f-ordering">{gettext("Sort by")}</label>\n'
        f'    <select id="f-ordering" name="ordering">\n      {options}\n'
        "    </select>\n"
        "  </div>\n"
        '  <div class="form-actions">\n'
        f'    <button type="submit" class="btn btn-small">{gettext("Apply")}</button>\n'
        f'    <a href="?{clear}">{gettext("Clear")}</a>\n'
        "  </div>\n"
        "</form>\n"
    )
    return "".join(parts)
