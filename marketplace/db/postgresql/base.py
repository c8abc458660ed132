"""Django's PostgreSQL backend, sized for server-side binding (ENGINE "marketplace.db.postgresql").

With server-side binding (on by default, marketplace/settings.py) psycopg sends the parameters
apart from the SQL, and PostgreSQL's protocol numbers them in 16 bits: one statement carries
at most 65,535. Django 5.2's PostgreSQL backend knows no such bound (its client-side binding
writes the values into the SQL), so it sends a `bulk_create` or `bulk_update` as one statement
however many rows it has, and an `__in` with as many parameters as values. This backend is
Django's own with two differences, the two ways Django already handles bounded backends
(SQLite, Oracle):

- `features.max_query_params` and `ops.bulk_batch_size`: bulk writes are split into batches
  of at most 65,535 // (parameters per row) rows, and `in_bulk` into batches of ids;
- a statement that still has more parameters than one message carries (an `__in` over a
  large list, which Django never splits) is bound client-side, the values written into the
  SQL as Django's default binding does, rather than refused by the server. Such a statement
  is never worth preparing anyway.
"""

from __future__ import annotations

from itertools import chain

from django.db.backends.postgresql import base, features, operations
from django.db.models import CompositePrimaryKey
from psycopg import ClientCursor

#: The most bind parameters one statement can carry over PostgreSQL's protocol (Int16 count).
MAX_QUERY_PARAMS = 65_535


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_QUERY_PARAMS


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        """Rows per statement such that each carries at most `max_query_params` parameters
        (as Django's Oracle backend does)."""
        fields = list(
            chain.from_iterable(field.fields if isinstance(field, CompositePrimaryKey) else [field] for field in fields)
        )
        if fields:
            return self.connection.features.max_query_params // len(fields)
        return len(objs)


class ServerBindingCursor(base.ServerBindingCursor):
    def execute(self, query, params=None, **kwargs):
        if params is not None and len(params) > MAX_QUERY_PARAMS:
            # Too many for one Bind message: write the values in, as a client-side cursor would.
            query, params = ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if params["cursor_factory"] is base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params
