"""The listing keys kept on the product row: `Product.in_stock` (and `min_price`, which
`refresh_product_derived` keeps), so list pages filter and sort on indexed columns instead of
probing every match's SKUs and stock rows (issue #12).

Guarantees:
- `Product.in_stock` is true exactly when an active SKU of the product has a stock row with
  units available (on hand > reserved), as the storefront's in-stock filter used to compute
  per row;
- it is recomputed when SKUs change (`refresh_product_derived`) and when a stock row crosses
  the line between "units available" and "none" (`listing_stocks_changed`): a write that
  leaves a stock row on the same side of it, the common case of a checkout, costs no query;
- a recomputation first locks the product rows (`FOR NO KEY UPDATE`, in primary-key order)
  and then reads the stock in a new statement, so two transactions emptying the last units of
  two SKUs of one product cannot both read the other's units and leave the flag true; the lock
  is taken only on a crossing, so checkouts of a hot product do not queue on its row;
- the row is written only when the flag or the lowest price actually changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import OperationalError, connection
from django.utils.translation import gettext_lazy as _

from ..errors import CatalogConflict

# In-stock and lowest active price of the products of `%(ids)s`, written only when they differ.
_REFRESH = """
UPDATE catalog_product AS p
SET in_stock = fresh.in_stock, min_price = fresh.min_price
FROM (
    SELECT p2.id,
           EXISTS (
               SELECT 1 FROM catalog_sku k JOIN catalog_stock s ON s.sku_id = k.id
               WHERE k.product_id = p2.id AND k.is_active AND s.on_hand > s.reserved
           ) AS in_stock,
           (SELECT min(k.price) FROM catalog_sku k WHERE k.product_id = p2.id AND k.is_active) AS min_price
    FROM catalog_product p2 WHERE p2.id = ANY(%s)
) AS fresh
WHERE p.id = fresh.id
  AND (p.in_stock IS DISTINCT FROM fresh.in_stock OR p.min_price IS DISTINCT FROM fresh.min_price)
"""


def listing_refresh_products(product_ids: Iterable[int]) -> None:
    """Recompute `in_stock` and `min_price` of these products exactly, under their row locks
    (taken in primary-key order before the stock is read); rows already right are not written."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    listing_lock_products(ids)
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH, [ids])


def listing_lock_products(product_ids: list[int]) -> None:
    """Lock these product rows (`FOR NO KEY UPDATE`, primary-key order) until the transaction
    ends, before their listing keys are computed: whoever recomputes next reads what this
    transaction wrote. Under the stock write path's lock_timeout a wait too long is a 409."""
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                "SELECT id FROM catalog_product WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [sorted(product_ids)]
            )
        except OperationalError as exc:  # lock_timeout: a 409, never a 500
            raise CatalogConflict(
                "stock_busy", _("Stock is busy right now; please try again in a moment."), {"retry": True}
            ) from exc


def listing_refresh_skus(sku_ids: Iterable[int]) -> None:
    """`listing_refresh_products` for the products of these SKUs."""
    ids = sorted(set(sku_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT product_id FROM catalog_sku WHERE id = ANY(%s)", [ids])
        listing_refresh_products(row[0] for row in cursor.fetchall())


def listing_stocks_changed(changes: Iterable[tuple[int, int, int]]) -> None:
    """After stock rows were written: `(sku_id, available before, available after)` each.
    Only the SKUs whose stock crossed between "units available" and "none" can change their
    product's `in_stock`; nothing is read or written for the others."""
    listing_refresh_skus(sku_id for sku_id, before, after in changes if (before > 0) != (after > 0))
