"""ORM reads of a hot path compiled to SQL once per process, run with each call's values.

Why: building and compiling a queryset (joins, annotations with subqueries) costs more CPU
than PostgreSQL spends running it; the checkout's SKU read was about a quarter of the
checkout POST's CPU and most of a refused buyer's (issue #12). Only its values change
between calls (the SKU ids, the buyer, the time), so the queryset is built and compiled
once with marker values in their places, and each call runs the same SQL with its own
values through Django's own model iteration (`ModelIterable`): the same instances
(select_related objects, annotations, converters) as `list(queryset)` would give. Used by
the checkout's SKU read (orders) and its stock lock (catalog).

A query compiled this way must have no parameter that changes between calls other than its
markers (a time, an id read from settings …): such a parameter would be frozen at its first
value. The markers are values no real row or time has, found among the compiled parameters
by type and value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

#: Marker values: an id no row has, and a time no call passes.
ID_MARKER_BASE = -7_300_000_500
TIME_MARKER = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


def id_markers(count: int) -> list[int]:
    """`count` distinct id markers (for an `IN` list of that many ids)."""
    return [ID_MARKER_BASE - i for i in range(count)]


class CompiledRead:
    """`build(**markers)` compiled once per `shape` (e.g. the number of ids of an `IN`), then
    run as `read(shape, markers, values)`: each marker replaced by its value (a list marker
    by the list of values, item by item)."""

    def __init__(self, build: Callable[..., QuerySet]):
        self._build = build
        self._compiled: dict[object, tuple] = {}

    def _compile(self, shape, markers: dict) -> tuple:
        queryset = self._build(**markers)
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        # `as_sql` also fills what the model iteration reads (select, klass_info, col_count).
        sql, params = compiler.as_sql()
        places = {}
        for name, marker in markers.items():
            for index, item in enumerate(marker if isinstance(marker, list) else [marker]):
                found = [i for i, param in enumerate(params) if type(param) is type(item) and param == item]
                if len(found) != 1:
                    raise ValueError(f"Marker {name}[{index}] appears {len(found)} times in the compiled query.")
                places[found[0]] = (name, index)
        compiled = (queryset, compiler, sql, tuple(params), places)
        self._compiled[shape] = compiled
        return compiled

    def read(self, shape, markers: dict, values: dict) -> list[Model]:
        """The model instances of the query for `values` (same names as `markers`)."""
        return list(self.queryset(shape, markers, values))

    def queryset(self, shape, markers: dict, values: dict) -> QuerySet:
        """The query for `values`, not run yet (the caller iterates it where its errors are
        handled): to be iterated only, as it is; a queryset made from it (`filter`, …) would
        run the compiled SQL unchanged."""
        compiled = self._compiled.get(shape) or self._compile(shape, markers)
        queryset, compiler, sql, params, places = compiled
        params = list(params)
        for place, (name, index) in places.items():
            value = values[name]
            params[place] = value[index] if isinstance(value, list) else value
        # A copy per call (threads share the compiled one): this thread's connection, this
        # call's parameters; the model iteration asks the query for its compiler.
        run = copy.copy(compiler)
        run.connection = connections[DEFAULT_DB_ALIAS]
        run.as_sql = lambda *args, **kwargs: (sql, params)
        chained = queryset._chain()
        chained.query.get_compiler = lambda *args, **kwargs: run
        return chained
