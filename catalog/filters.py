"""Filters of the public catalog, shared by the storefront pages and the public API."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.postgres.search import SearchRank
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Count, Exists, F, OuterRef, Q, Window
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from marketplace.filters import BooleanFilter

from .models import Product
from .search import search_query
from .selectors import category_descendant_ids, product_public_queryset

ORDERING_CHOICES = [
    ("relevance", _("Best match")),
    ("price", _("Price: low to high")),
    ("-price", _("Price: high to low")),
    ("newest", _("Newest")),
]
_ORDER_BY = {
    "relevance": ("-rank",),
    "price": ("min_price",),
    "-price": ("-min_price",),
    "newest": ("-published_at",),
}
MAX_TAGS = 10
_MAX_ID = 2**31 - 1  # ids are PostgreSQL integers: a bigger number is invalid input, not a 500
# A page's OFFSET is a PostgreSQL bigint: a page starting beyond this cannot hold a product
# (ids are integers), and a bigger offset would answer 500 ("bigint out of range").
_MAX_OFFSET = _MAX_ID


class _IdField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=_MAX_ID, **kwargs)


class _IdFilter(django_filters.NumberFilter):
    field_class = _IdField


class _ValuesField(forms.Field):
    """Every value of a repeated query parameter (?tag=a&tag=b), stripped, blanks dropped.

    A value with a NUL character is invalid, as in Django's CharField: PostgreSQL refuses
    NUL in text, so it would otherwise reach the query and answer 500."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = [str(v).strip() for v in value or []]
        values = list(dict.fromkeys(v for v in values if v))
        if len(values) > MAX_TAGS:
            raise forms.ValidationError(_("Choose at most %(n)d tags.") % {"n": MAX_TAGS})
        for tag in values:
            ProhibitNullCharactersValidator()(tag)
        return values


class _ValuesFilter(django_filters.Filter):
    field_class = _ValuesField


class ProductFilter(django_filters.FilterSet):
    """Category (with its descendants), merchant, price range on the lowest price, tags (a
    product must carry every tag given), in stock, keyword, and ordering.

    Every ordering puts boosted products (new merchants' traffic support) first and breaks
    ties by id, newest first, so pages never overlap or skip a product.
    """

    category = _IdFilter(method="filter_category", label=_("Category"))
    merchant = _IdFilter(field_name="merchant", label=_("Shop"))
    price_min = django_filters.NumberFilter(field_name="min_price", lookup_expr="gte", label=_("Lowest price"))
    price_max = django_filters.NumberFilter(field_name="min_price", lookup_expr="lte", label=_("Highest price"))
    tag = extend_schema_field({"type": "array", "items": {"type": "string"}})(
        _ValuesFilter(method="filter_tag", label=_("Tags"))
    )
    in_stock = BooleanFilter(field_name="in_stock", label=_("In stock"))
    q = django_filters.CharFilter(method="filter_q", max_length=100, label=_("Search"))
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES, method="filter_nothing", empty_label=None, label=_("Sort by")
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # Never fall back to every product: the default queryset is the public one. Always
        # bound, so the ordering below is always applied.
        if queryset is None:
            queryset = product_public_queryset()
        super().__init__({} if data is None else data, queryset, request=request, prefix=prefix)

    def filter_category(self, queryset, name, value: int):
        return queryset.filter(category_id__in=category_descendant_ids([value]))

    def filter_tag(self, queryset, name, value):
        for tag in value:
            match = Q(tag__slug=tag)
            if tag.isdigit() and int(tag) <= _MAX_ID:
                match |= Q(tag_id=int(tag))
            tagged = Product.tags.through.objects.filter(match, product_id=OuterRef("pk"))
            queryset = queryset.filter(Exists(tagged))
        return queryset

    def filter_q(self, queryset, name, value: str):
        query = search_query(value)
        if query is None:
            return queryset
        # The stored, GIN-indexed vector (migration 0004): nothing is parsed per row; alias,
        # not annotate, so the rank is computed for ordering only, never selected.
        return queryset.filter(search_vector=query).alias(rank=SearchRank(F("search_vector"), query))

    def filter_nothing(self, queryset, name, value: str):
        return queryset  # applied in filter_queryset, after the search that ranks

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        ordering = self.form.cleaned_data.get("ordering")
        ranked = "rank" in queryset.query.annotations
        if not ordering or (ordering == "relevance" and not ranked):
            ordering = "relevance" if ranked else "newest"
        self.applied_ordering = ordering  # for the pages' sort menu
        return queryset.order_by("-boosted", *_ORDER_BY[ordering], "-id")


class ProductPaginator(Paginator):
    """Pages of a `ProductFilter` queryset, at a cost that does not grow with the catalogue.

    One query reads the page's ids and the number of matches (COUNT(*) OVER ()): the filters
    (keywords above all) cost the most and would otherwise run twice, for the count and for
    the page. Every filter and sort key is a column of the product row (`in_stock` and
    `min_price` kept by catalog.services.listing): no per-row subquery. A second query reads
    the page's rows by id with their joined merchant and category. `orphans` is not supported.
    """

    def validate_number(self, number):
        # Only the shape: whether the page exists is known once its ids are read, in page().
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(_("That page number is not an integer")) from exc
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        if (number - 1) * self.per_page > _MAX_OFFSET:
            raise EmptyPage(_("That page contains no results"))
        return number

    def page(self, number):
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        matches = self.object_list.annotate(matches=Window(Count("pk"))).values_list("pk", "matches")
        rows = list(matches[start : start + self.per_page])
        if rows:
            self.count = rows[0][1]
        elif number > 1:
            raise EmptyPage(_("That page contains no results"))
        else:
            self.count = 0
        return self._get_page(self.object_list.filter(pk__in=[row[0] for row in rows]), number, self)

    def get_page(self, number):
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(max(self.num_pages, 1))
