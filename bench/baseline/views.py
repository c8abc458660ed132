"""The baselines: what a request costs with Django alone, to measure the product against in
the same run.

`page`: a bare Django JSON view (no database, no template, no serializer) behind the product's
own middleware, the floor every storefront page and API list is compared with (bench/pages.py).

The baseline checkout: what one order costs with nothing but hand-written SQL in a bare
Django view (no ORM, no services, no serializers, no authentication), to measure the product's
API checkout against in the same run (bench/checkout.py).

One transaction: lock the 2 stock rows in id order (the product's rule too, so that two
checkouts never deadlock), decrement them, insert the order and its 2 lines. Its tables are
created by bench/checkout.py (TABLES below) in the benchmark's throwaway database only.
"""

from __future__ import annotations

import json
import secrets

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

TABLES = """
CREATE TABLE IF NOT EXISTS bench_baseline_order (
    id bigserial PRIMARY KEY,
    number varchar(32) NOT NULL UNIQUE,
    total numeric(14, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bench_baseline_line (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES bench_baseline_order (id),
    stock_id bigint NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(14, 2) NOT NULL
);
"""


@csrf_exempt
@require_POST
def checkout(request: HttpRequest) -> JsonResponse:
    """Places one order of one unit of each stock row in `{"stocks": [id, id]}`; answers 409
    when a row lacks stock (nothing written), else 201 with the order's id."""
    stocks = sorted({int(s) for s in json.loads(request.body)["stocks"]})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, k.price FROM catalog_stock s JOIN catalog_sku k ON k.id = s.sku_id "
            "WHERE s.id = ANY(%s::bigint[]) AND s.on_hand - s.reserved >= 1 ORDER BY s.id FOR UPDATE OF s",
            [stocks],
        )
        rows = cursor.fetchall()
        if len(rows) != len(stocks):
            return JsonResponse({"code": "insufficient_stock"}, status=409)
        cursor.execute("UPDATE catalog_stock SET on_hand = on_hand - 1 WHERE id = ANY(%s::bigint[])", [stocks])
        cursor.execute(
            "INSERT INTO bench_baseline_order (number, total) VALUES (%s, %s) RETURNING id",
            [secrets.token_hex(12), sum(price for _id, price in rows)],
        )
        (order_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO bench_baseline_line (order_id, stock_id, quantity, unit_price) "
            "SELECT %s, s, 1, p FROM unnest(%s::bigint[], %s::numeric[]) AS t (s, p)",
            [order_id, [s for s, _p in rows], [p for _s, p in rows]],
        )
    return JsonResponse({"order": order_id}, status=201)


@require_GET
def page(request: HttpRequest) -> JsonResponse:
    """A small JSON document, as a bare Django view answers it (bench/pages.py's baseline)."""
    return JsonResponse({"ok": True, "path": request.path})
