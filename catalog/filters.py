"""Filters of the public catalog, shared by the storefront pages and the public API."""

from __future__ import annotations

from datetime import datetime

import django_filters
from django import forms
from django.contrib.postgres.search import SearchRank
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.core.validators import ProhibitNullCharactersValidator
from django.db import connections
from django.db.models import Exists, F, OuterRef, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from psycopg import ClientCursor

from marketplace.filters import BooleanFilter

from .models import Product
from .search import search_query
from .selectors import boost_window_start, category_descendant_ids, product_new_shop, product_public_queryset

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
        """`queryset`: the products to filter, or a function without arguments building
        them, called only when `qs` is (a list page whose statement is stored never builds
        either: about 0.3 ms of CPU of a category page); by default the public ones, never
        every product. Always bound, so the ordering below is always applied."""
        self._build_queryset = product_public_queryset if queryset is None else queryset if callable(queryset) else None
        if self._build_queryset is not None:
            queryset = Product.objects.none()  # django-filter reads its model only
        super().__init__({} if data is None else data, queryset, request=request, prefix=prefix)

    @property
    def queryset(self):
        if self._build_queryset is not None:
            self._queryset, self._build_queryset = self._build_queryset(), None
        return self._queryset

    @queryset.setter
    def queryset(self, value):
        self._queryset = value

    def get_form_class(self):
        # No filter's form field depends on the request, so the form class is built once per
        # class: django-filter's default builds a class and its eight fields on every request
        # (0.3 ms of each list page; every form instance still deep-copies the fields).
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = type(self)._form_class = super().get_form_class()
        return form_class

    def filter_category(self, queryset, name, value: int):
        return queryset.filter(category_id__in=self.category_ids)

    @cached_property
    def category_ids(self) -> frozenset[int] | None:
        """The categories the category filter stands for (it and those below it, read from
        the tree), None without a valid one: for the filter and the paginator's statement
        key (`statement_key`), read once."""
        self.errors  # noqa: B018 - validates the form, as django-filter's `qs` does
        value = self.form.cleaned_data.get("category")
        return None if value is None else frozenset(category_descendant_ids([value]))

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

    def statement_key(self, scope) -> tuple:
        """What decides the SQL of `qs` for a page's base queryset described by `scope`
        (hashable, e.g. the category ids the page lists): `ProductPaginator`'s key for its
        compiled statement. The valid values of the form (an invalid one is not applied)
        and the categories a category filter stands for. Does not build `qs`: a page whose
        statement is stored never needs it (building it, the keyword's search query and
        rank among it, was about 0.8 ms of CPU of the search page)."""
        self.errors  # noqa: B018 - validates the form, as django-filter's `qs` does
        values = tuple(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in sorted(self.form.cleaned_data.items())
        )
        return (scope, values, self.category_ids)

    def filter_nothing(self, queryset, name, value: str):
        return queryset  # applied in filter_queryset, after the search that ranks

    @cached_property
    def applied_ordering(self) -> str:
        """The list's ordering (the pages' sort menu shows it), known without building `qs`:
        the one asked for; relevance only for a keyword that ranks (`filter_q`), which is
        also the default then; otherwise newest."""
        self.errors  # noqa: B018 - validates the form, as django-filter's `qs` does
        ordering = self.form.cleaned_data.get("ordering")
        q = self.form.cleaned_data.get("q")
        ranked = bool(q) and search_query(q) is not None
        if not ordering or (ordering == "relevance" and not ranked):
            ordering = "relevance" if ranked else "newest"
        return ordering

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return queryset.order_by("-boosted", *_ORDER_BY[self.applied_ordering], "-id")


class ProductPaginator(Paginator):
    """Pages of a `ProductFilter` queryset, at a cost that does not grow with the catalogue.

    Nothing counts or sorts every match. One statement reads, as three values of one row:
    - the number of matches counted up to a bound (`count_bound`, or the end of the page
      asked for when it lies further): `SELECT COUNT(*) FROM (… LIMIT bound + 1)` stops at
      the bound. Past it `count_exact` is False and `count` is the bound: there are more;
    - the ids of the page, in two parts read along the listing indexes, each stopping at
      the page's end: the new shops' products (`boosted`, which every ordering puts first)
      and the others'. A CASE over the merchant's column as the first sort key would make
      PostgreSQL sort every match (25,000 in the whole catalogue) for one page; in each part
      the order is the index's (the price, or the publication date, then the id).
    A second statement reads the page's rows by id with their merchant and category joined.
    Every filter and sort key is a column of the product row (`in_stock` and `min_price`
    kept by catalog.services.listing): no per-row subquery. `orphans` is not supported.
    """

    #: Matches are counted exactly up to this many, ten storefront pages (past it a page says
    #: "More than 240 products"). A count stops at the bound, but the rows it reads before
    #: cost: for a keyword search each is a match of its text vector (about 1 ms per 100
    #: matches counted at 25,000 products).
    count_bound = 240

    #: Compiled statements by key (`statement_key`), at most this many per process.
    statements_max = 512
    _statements: dict[tuple, tuple[str, tuple, tuple[int, ...], str]] = {}

    def __init__(self, object_list, per_page, *, statement_key=None, **kwargs):
        """`statement_key`: hashable, the same for any two querysets whose statements are the
        same but for the new-shop window's start (`ProductFilter.statement_key`): the
        statement is then compiled once per process and key, not on every page (the ORM's
        compilation of its three parts was about 2 ms of CPU of a list page).
        `object_list`: the queryset, or a function without arguments that builds it, called
        only when the statement has to be compiled (not stored for the key yet); a page is
        then the list of its products' ids (`page.ids`), whose rows the caller reads."""
        self._build = object_list if callable(object_list) else None
        self._lazy = self._build is not None
        super().__init__([] if self._build else object_list, per_page, **kwargs)
        self.count_exact = True
        self.statement_key = statement_key

    def _queryset(self):
        if self._build is not None:
            self.object_list, self._build = self._build(), None
        return self.object_list

    @cached_property
    def count(self):
        # Counted whole only for a page number out of range (before any page is read; a
        # read page sets the bounded count): the queryset is needed then.
        self._queryset()
        return super().count

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

    @property
    def num_pages(self):
        # With more matches than counted, at least one page follows the counted ones, so a
        # page that ends at the bound still has its "next" link.
        if self.count_exact:
            return super().num_pages
        return self.count // self.per_page + 1

    def _read(self, start: int, stop: int) -> tuple[list[int], int, bool]:
        """(the ids of matches start..stop in order, the bounded count, whether it is exact)."""
        limit = max(self.count_bound, stop)
        key = None if self.statement_key is None else (self.statement_key, limit, stop)
        stored = self._statements.get(key) if key is not None else None
        if stored is not None:
            statement, params, window_places, db = stored
            params = list(params)
            start_of_window = boost_window_start()
            for place in window_places:
                params[place] = start_of_window
        else:
            queryset = self._queryset()
            db = queryset.db
            statement, params = self._compile(queryset, limit, stop)
            # The new-shop window's start is the statement's only time value (its places
            # found by type): every other value is decided by the key.
            window_places = tuple(i for i, param in enumerate(params) if isinstance(param, datetime))
            if key is not None and len({params[i] for i in window_places}) <= 1:
                if len(self._statements) >= self.statements_max:
                    self._statements.pop(next(iter(self._statements)))  # the oldest
                self._statements[key] = (statement, tuple(params), window_places, db)
        with connections[db].cursor() as cursor:
            # The values written into the SQL (client-side binding, as Django's default binding
            # does), not sent as parameters: psycopg prepares a statement at its 5th use on a
            # connection (prepare_threshold), and PostgreSQL then plans it once for any values.
            # Blind to the price range and the keywords, that generic plan intersects the
            # price index with the text index over every match and sorts them all (58 ms
            # for the search page's statement at 25,000 products, instead of 3 ms).
            cursor.execute(ClientCursor(cursor.connection).mogrify(statement, params))
            count, *id_lists = cursor.fetchone()
        ids = [pk for id_list in id_lists for pk in id_list]
        if count > limit:
            return ids[start:stop], limit, False
        return ids[start:stop], count, True

    @staticmethod
    def _compile(queryset, limit: int, stop: int) -> tuple[str, list]:
        """The count-and-ids statement of `queryset` and its parameters (see `_read`)."""
        ordering = list(queryset.query.order_by)
        boosted = ordering[:1] == ["-boosted"]
        if boosted:  # ProductFilter's orderings: new shops' products first
            new_shop = product_new_shop(queryset)
            parts = [queryset.filter(new_shop), queryset.exclude(new_shop)]
            ordering = ordering[1:]
        else:
            parts = [queryset]
        sql, params = [], []
        counted = queryset.order_by().values("pk")[: limit + 1]
        part_sql, part_params = counted.query.sql_with_params()
        sql.append(f"(SELECT COUNT(*) FROM ({part_sql}) AS counted)")
        params.extend(part_params)
        for part in parts:
            part_sql, part_params = part.order_by(*ordering).values_list("pk")[:stop].query.sql_with_params()
            sql.append(f"ARRAY({part_sql})")
            params.extend(part_params)
        # Compiled by the ORM, put together here: Django has no expression for a COUNT over a
        # LIMITed subquery, nor for reading several ordered subqueries in one round trip.
        return f"SELECT {', '.join(sql)}", params

    def page(self, number):
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        ids, self.count, self.count_exact = self._read(start, start + self.per_page)
        if not ids and number > 1:
            raise EmptyPage(_("That page contains no results"))
        page = self._get_page(list(ids) if self._lazy else self.object_list.filter(pk__in=ids), number, self)
        page.ids = ids  # the page's products in order, before their rows are read
        return page

    def get_page(self, number):
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(max(self.num_pages, 1))
