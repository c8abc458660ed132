"""The public API list without filters, read by statements compiled once per process (issue #12).

Why: a page of `/api/v1/catalog/products/` with only `page`, `page_size` and `ordering` is the
same two statements every time, but the generic path (the filterset, the paginator, the ORM)
built and compiled them anew on every request, then made a model instance per row and each
row's dict from those instances: most of the list's CPU, several times what PostgreSQL spends
running them. The count-and-ids statement was also sent with its values written into it
(`ProductPaginator._read`, for the keyword search's sake): PostgreSQL parsed and planned it
on every request (1.4–2.0 ms of planning at 25,000 products, against 0.2–0.5 ms to run it).

Here, for such a page within the counted range (`ProductPaginator.count_bound`):
- the count and the page's ids: the generic path's statement for the same ordering and page
  end, compiled once per (ordering, page end), run with the moment new shops are boosted
  since as a parameter, so psycopg prepares it and PostgreSQL plans it once per connection
  (its plan does not depend on that moment: the few new shops are found by the merchant
  table either way);
- the page's rows: `selectors.product_list_public()`'s listing columns as plain values,
  compiled once per number of ids (`marketplace.compiled.CompiledRead`), each row's JSON
  built from them (`serializers_public.product_list_rows`, the same bytes as the serializer).

Only pages ending within the counted range are compiled, so a process keeps at most 3
orderings × 240 page ends of the first statement and 100 shapes of the second.

Anything else (a filter, `page=last`, a page past the counted range or past the end) takes
the generic count and ids (`ProductPaginator`, which answers errors too), then the same rows
read by id (`RowsPaginator`); the browsable API, DRF's generic path. The same queries, the
same JSON (tests compare with DRF's generic path byte for byte).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, connections

from marketplace.compiled import CompiledRead, id_markers

from .. import selectors
from ..filters import ProductFilter, ProductPaginator
from .serializers_public import product_list_rows

#: The `ordering` values the compiled path serves (a missing `ordering`, or `relevance`
#: without keywords, is the newest first, as ProductFilter does).
_ORDERINGS = {None: "newest", "relevance": "newest", "newest": "newest", "price": "price", "-price": "-price"}
#: Query parameters that filter: any of them present, the generic path answers.
_FILTERS = frozenset(ProductFilter.base_filters) - {"ordering"}

#: The columns of a list row, in the order `product_list_rows` reads them.
ROW_COLUMNS = (
    "id",
    "title",
    "min_price",
    "in_stock",
    "merchant__slug",
    "merchant__shop_name",
    "merchant__company_name",
    "category__id",
    "category__name",
    "category__slug",
    "first_image_id",
    "rating_count",
    "rating_total",
    "published_at",
)

_rows = CompiledRead(lambda ids: selectors.product_list_public().filter(pk__in=ids).values_list(*ROW_COLUMNS))


#: (ordering, page end, count bound) → (SQL, parameters, the places of the boost moment among them).
_statements: dict[tuple[str, int, int], tuple[str, tuple, tuple[int, ...]]] = {}


def _ids_statement(ordering: str, stop: int) -> tuple[str, tuple, tuple[int, ...]]:
    """`ProductPaginator._read`'s statement for the unfiltered list in `ordering` up to `stop`
    (at most the count bound), compiled once: the bounded count and the ids of the new shops'
    part and of the others' part, each in the ordering's index order."""
    limit = ProductPaginator.count_bound
    compiled = _statements.get((ordering, stop, limit))
    if compiled is not None:
        return compiled
    queryset = ProductFilter({"ordering": ordering}, selectors.product_list_public()).qs
    if list(queryset.query.order_by)[:1] != ["-boosted"]:
        raise ValueError("ProductFilter's orderings no longer put new shops first.")
    # The generic path's own statement (one assembly of it, ProductPaginator's).
    sql, params = ProductPaginator._compile(queryset, limit, stop)
    # The boost moment is the statement's only time (no filter compares another): it is
    # replaced by each call's own.
    places = tuple(i for i, param in enumerate(params) if hasattr(param, "tzinfo"))
    since = {params[i] for i in places}
    if len(places) != 2 or len(since) != 1 or abs(since.pop() - selectors.boost_window_start()) > timedelta(minutes=1):
        raise ValueError("The unfiltered product list's statement no longer has the boost moment it expects.")
    compiled = _statements[ordering, stop, limit] = (sql, tuple(params), places)
    return compiled


def _read(ordering: str, start: int, stop: int) -> tuple[list[int], int, bool]:
    """(the ids of products start..stop in `ordering`, the bounded count, whether it is exact)."""
    sql, params, places = _ids_statement(ordering, stop)
    params = list(params)
    since = selectors.boost_window_start()
    for place in places:
        params[place] = since
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        count, *id_lists = cursor.fetchone()
    ids = [pk for id_list in id_lists for pk in id_list]
    limit = ProductPaginator.count_bound
    return ids[start:stop], min(count, limit), count <= limit


def page_rows(ids: list[int], request) -> list[dict]:
    """The JSON rows of the public products `ids`, in that order (those no longer public left
    out): one statement compiled per number of ids, none without ids (as the ORM's
    `pk__in=[]`, which runs nothing)."""
    if not ids:
        return []
    found = {row[0]: row for row in _rows.read(len(ids), {"ids": id_markers(len(ids))}, {"ids": ids})}
    return product_list_rows([found[pk] for pk in ids if pk in found], request)


class RowsPaginator(ProductPaginator):
    """`ProductPaginator` whose pages hold their JSON rows, read by id (`page_rows`) from the
    unfiltered list: the ids already matched the filters, so the rows' statement does not
    repeat them (a keyword's text match, the category tree …) and is compiled once."""

    def __init__(self, object_list, per_page, *, request, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.request = request

    def page(self, number):
        page = super().page(number)
        page.object_list = page_rows(page.ids, self.request)
        return page


def _page_number(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return 1
    if raw.isascii() and raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return None  # "last", "0", …: the generic path


def unfiltered_page(pagination, request) -> list[dict] | None:
    """The rows of the page `request` asks for, with `pagination` (a `ProductPagination`) set
    up for its response as `paginate_queryset` would; None when the generic path must answer."""
    query = request.query_params
    if not _FILTERS.isdisjoint(query):
        return None
    ordering = _ORDERINGS.get(query.get("ordering", None), "")
    number = _page_number(query.get(pagination.page_query_param))
    if not ordering or number is None:
        return None
    size = pagination.get_page_size(request)  # a bad size: its 400, as on the generic path
    start, stop = (number - 1) * size, number * size
    if stop > ProductPaginator.count_bound:
        return None  # each page end is a statement of its own: only the counted range's
    ids, count, exact = _read(ordering, start, stop)
    if not ids and number > 1:
        return None  # no such page: the generic path answers its 404
    paginator = ProductPaginator([], size)
    paginator.count, paginator.count_exact = count, exact
    rows = page_rows(ids, request)
    pagination.request = request
    pagination.page = paginator._get_page(rows, number, paginator)
    return rows
