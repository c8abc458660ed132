"""The cart: a signed-in buyer's (`Cart.buyer`) or an anonymous visitor's (`Cart.session_key`).

Guarantees:
- one cart per buyer and one per session (unique columns; `get_or_create` absorbs races);
- a cart line holds 1 to MAX_QUANTITY units; adding merges into the existing line and caps
  there instead of failing, so a repeated "add" never loses the buyer's earlier choice;
- a cart has at most MAX_LINES lines: adding another SKU to a full cart is 400 `cart_full`;
- changes to one cart are serialised by locking the cart row first (then nothing else), so
  two tabs adding the same SKU at once sum their quantities instead of colliding, and the
  line count checked against MAX_LINES (`Cart.line_count`) is the count under that lock;
- adding, changing and merging refuse a SKU that is not publicly on sale (inactive SKU,
  unpublished or withdrawn product, merchant not live) with 400 `sku_unavailable`, and
  nothing is written; removing always works, so a buyer can clear out a dead line;
- `cart_checkout` places the order and takes the ordered SKUs out of the cart in one
  transaction: a retried submission finds the cart already cleared and the first order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.selectors import sku_public_queryset

from ..errors import OrderError
from ..models import MAX_LINES, MAX_QUANTITY, Cart, CartItem
from ..selectors.buyer import CART_WRITE_COLUMNS, cart_lines_statement
from .checkout import checkout_place_idempotent

#: Session entry remembering the anonymous cart's key. `login()` gives the session a new key
#: (session fixation defence) before `user_logged_in` fires, so the receiver that merges the
#: cart finds the anonymous cart through this copy, which survives the key change.
SESSION_CART_KEY = "orders.cart_session_key"


def _check_quantity(quantity, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not low <= quantity <= MAX_QUANTITY:
        raise OrderError(
            "invalid_quantity",
            _("Quantities are whole numbers from %(low)s to %(high)s.") % {"low": low, "high": MAX_QUANTITY},
        )
    return quantity


def _sku_id(sku_id) -> int:
    """The SKU id as a positive int; anything else is a SKU that is not on sale."""
    try:
        sku_id = int(sku_id)
    except (TypeError, ValueError):
        sku_id = 0
    if sku_id <= 0:
        raise _unavailable(sku_id)
    return sku_id


def _unavailable(sku_id: int) -> OrderError:
    return OrderError(
        "sku_unavailable", _("This item is not on sale (any more)."), {"skus": [sku_id] if sku_id > 0 else []}
    )


def _check_on_sale(sku_id) -> int:
    sku_id = _sku_id(sku_id)
    if not sku_public_queryset().filter(pk=sku_id).exists():
        raise _unavailable(sku_id)
    return sku_id


def _lock(cart: Cart) -> Cart:
    return Cart.objects.select_for_update().get(pk=cart.pk)


# One statement finds and locks the cart and adds to a line: the SKU must be on sale
# (catalog's own definition, `sku_public_queryset`, compiled into the EXISTS) and a new line
# needs a free place in the cart; an existing line takes the units, capped at MAX_QUANTITY.
# The ORM cannot say this in one statement (`bulk_create(update_conflicts=True)` has no LEAST
# and no condition).
# Why the count is a column (`Cart.line_count`, kept by triggers on orders_cartitem in the
# statement that inserts or deletes a line) rather than a COUNT(*) of the lines: under READ
# COMMITTED a statement reads the snapshot taken when it started, before it waited for the
# cart's lock, so a COUNT in it would miss a line a concurrent add committed meanwhile, and
# two adds could fill the last place twice. FOR UPDATE, though, returns the newest version of
# the row it waited for: `cart.line_count` is the count as the lock holder left it.
# The EXISTS of the SKU's own line reads the older snapshot: when a concurrent add has just
# taken the last place with this very SKU, the statement writes nothing and `cart_add`
# retries under a lock taken by an earlier statement, which sees that line and merges.
# ON CONFLICT sums concurrent adds of one SKU.
# `{read}` ends the statement: the line and its cart (_ADD_UNITS_LINE), or the whole cart as
# the cart view reads it (_ADD_UNITS_CART).
_ADD_UNITS_SQL = """
    WITH cart AS (
        SELECT id, buyer_id, session_key, updated_at, line_count, xmin
          FROM orders_cart WHERE {owner} = %s FOR UPDATE
    ), line AS (
        INSERT INTO orders_cartitem (cart_id, sku_id, quantity, added_at)
        SELECT cart.id, %s, %s, %s FROM cart
        WHERE EXISTS ({on_sale})
          AND (
            cart.line_count < %s
            OR EXISTS (SELECT 1 FROM orders_cartitem WHERE cart_id = cart.id AND sku_id = %s)
          )
        ON CONFLICT (cart_id, sku_id) DO UPDATE
            SET quantity = LEAST(orders_cartitem.quantity + EXCLUDED.quantity, %s)
        RETURNING id, cart_id, quantity, added_at, sku_id
    ){read}
"""

_ADD_UNITS_LINE = """
    SELECT line.id, line.quantity, line.added_at, cart.id, cart.buyer_id, cart.session_key, cart.updated_at
      FROM line, cart
"""

# The whole cart after the add, for its answer (`cart_add(read_lines=True)`), in the same
# statement: the cart view's query (`cart_lines_statement`) over `lines`, the line as the
# INSERT returned it (the statement's own reads do not see the rows it wrote) and the cart's
# other lines. Those are read in the snapshot taken when the statement began, which misses
# what a concurrent change of the cart committed while this statement waited for its lock:
# `changed` tells the caller to read the cart again then. Every such change shows: a line
# inserted or deleted updates the cart row (the line count's triggers), so the row this
# statement locked (the newest) is another version (`xmin`) than the one its snapshot sees;
# a line updated or deleted meanwhile is seen in the snapshot with its `xmax` set (set also
# by a lock or a write rolled back: then the cart is read again for nothing).
_ADD_UNITS_CART = """, lines AS (
        SELECT line.id, line.cart_id, line.quantity, line.added_at, line.sku_id,
               cart.xmin IS DISTINCT FROM (SELECT xmin FROM orders_cart WHERE id = cart.id) AS changed,
               cart.buyer_id AS cart_buyer_id, cart.session_key AS cart_session_key,
               cart.updated_at AS cart_updated_at
          FROM line, cart
        UNION ALL
        SELECT other.id, other.cart_id, other.quantity, other.added_at, other.sku_id,
               other.xmax <> '0'::xid, cart.buyer_id, cart.session_key, cart.updated_at
          FROM line, cart, orders_cartitem other
         WHERE other.cart_id = line.cart_id AND other.sku_id <> line.sku_id
    )
    {lines}
"""

#: The columns that find a cart in `_ADD_UNITS_SQL` (the cart itself, a buyer's, a session's).
_ADD_OWNERS = ("id", "buyer_id", "session_key")

#: The cart's fields `_add_units` returns, in the order of the statement's last columns; the
#: others (`line_count`) are deferred: the trigger's count is not visible to the statement.
_CART_FIELDS = ["id", "buyer_id", "session_key", "updated_at"]
#: The line's fields `_add_units` returns (all of CartItem's).
_ITEM_FIELDS = ["id", "cart_id", "sku_id", "quantity", "added_at"]


#: A SKU id no real SKU has: `_add_units_statement` finds the SKU's place among the
#: parameters of the compiled on-sale EXISTS by it.
_SKU_MARKER = -7_300_000_003


@functools.cache
def _add_units_statement(owner: str = "id", read_lines: bool = False) -> tuple[str, tuple, int]:
    """_ADD_UNITS_SQL with its on-sale EXISTS compiled once per process, for the cart found by
    `owner` (one of _ADD_OWNERS), ending with the line (or, `read_lines`, the whole cart): the
    SQL, the parameters of the EXISTS and of the cart's read, and the place of the SKU id
    among them. Why: compiling the EXISTS from the ORM was a third of the add's CPU, and only
    the SKU id changes between adds; catalog's `sku_on_sale` has no parameter that changes
    with time or with the request."""
    if owner not in _ADD_OWNERS:
        raise ValueError(f"A cart is not found by {owner!r}.")
    on_sale_skus = sku_public_queryset().filter(pk=_SKU_MARKER).values("pk").order_by()  # no ORDER BY in EXISTS
    on_sale, on_sale_params = on_sale_skus.query.sql_with_params()
    (index,) = [i for i, param in enumerate(on_sale_params) if type(param) is int and param == _SKU_MARKER]
    read, read_params = _ADD_UNITS_LINE, ()
    if read_lines:
        lines, read_params = cart_lines_statement("lines")
        read = _ADD_UNITS_CART.replace("{lines}", lines)
    # str.replace, not format: the compiled SQL may hold braces of its own.
    sql = _ADD_UNITS_SQL.replace("{owner}", owner).replace("{on_sale}", on_sale).replace("{read}", read)
    return sql, (tuple(on_sale_params), tuple(read_params)), index


def _add_units(owner: tuple[str, object], sku_id: int, quantity: int, *, read_lines: bool = False) -> CartItem | None:
    """Lock the cart `owner` finds (column, value) and add to the SKU's line (capped) or
    create it, in one statement (see _ADD_UNITS_SQL). None when nothing was written: there is
    no such cart, the SKU is not on sale, or the line would be new and the cart holds
    MAX_LINES lines (or a concurrent add of this SKU took the last place: see above).

    The line's `cart_rows`: with `read_lines`, the whole cart after the add as the cart view
    reads it (`orders.selectors.cart_view_after_add`), from the same statement; None when
    they were not read, or may miss a concurrent change (the selectors read them again)."""
    column, value = owner
    sql, (on_sale_params, read_params), index = _add_units_statement(column, read_lines)
    on_sale_params = list(on_sale_params)
    on_sale_params[index] = sku_id
    quantity = min(quantity, MAX_QUANTITY)
    params = [value, sku_id, quantity, timezone.now(), *on_sale_params, MAX_LINES, sku_id, MAX_QUANTITY, *read_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    if not read_lines:
        ((pk, units, added_at, *cart_values),) = rows
        cart_rows = None
    else:
        # The cart view's columns (the line's id, cart_id, quantity, added_at, sku_id first),
        # then `changed` and the cart's fields (CART_WRITE_COLUMNS).
        width = len(CART_WRITE_COLUMNS)
        (row,) = [row for row in rows if row[4] == sku_id]
        pk, cart_id, units, added_at = row[:4]
        cart_values = [cart_id, *row[1 - width :]]
        cart_rows = None if any(row[-width] for row in rows) else rows
    cart = Cart.from_db(connection.alias, _CART_FIELDS, cart_values)
    # As the ORM loads a line with select_related("cart"); a third of the CPU of CartItem(...),
    # whose keyword arguments go through the relation's descriptor.
    item = CartItem.from_db(connection.alias, _ITEM_FIELDS, [pk, cart.pk, sku_id, units, added_at])
    CartItem.cart.field.set_cached_value(item, cart)
    item.cart_rows = cart_rows
    return item


def _owner(*, buyer, session) -> dict:
    """The lookup of the cart of `buyer`, else of the anonymous `session` (created when it has
    no key yet, and its key remembered inside it for the merge at login)."""
    if buyer is not None and buyer.is_authenticated:
        return {"buyer": buyer}
    if session is None:
        raise ValueError("An anonymous cart needs the visitor's session.")
    if not session.session_key:
        session.create()
    if session.get(SESSION_CART_KEY) != session.session_key:  # else the session stays unmodified, unsaved
        session[SESSION_CART_KEY] = session.session_key
    return {"session_key": session.session_key}


def cart_get_or_create(*, buyer=None, session=None) -> Cart:
    """The buyer's cart, or (for an anonymous visitor) the session's, created when missing.

    An anonymous visitor without a session gets one here (the cart needs its key); the key is
    also remembered inside the session (`SESSION_CART_KEY`) for the merge at login.
    """
    cart, _created = Cart.objects.get_or_create(**_owner(buyer=buyer, session=session))
    return cart


def cart_add(
    *,
    sku_id: int,
    quantity: int = 1,
    cart: Cart | None = None,
    buyer=None,
    session=None,
    read_lines: bool = False,
) -> CartItem:
    """Add `quantity` units of a SKU on sale to `cart`, or to the cart of `buyer` / `session`;
    merged with the line already there, capped at MAX_QUANTITY. Locks the cart row. Returns
    the line, its `cart` the cart (`line_count` deferred).

    With `read_lines` the same statement also reads the whole cart after the add, for an
    answer that shows it (`orders.selectors.cart_view_after_add` builds it from the line's
    `cart_rows` without another query, or reads the cart again when a concurrent change of
    it committed while the add waited for its lock).

    Statements: an existing cart is found, locked and the line written by one statement, a
    transaction by itself (`_add_units`). When it writes nothing (no cart yet, a refusal, a
    concurrent add of the SKU took the last place) `_cart_add_locked` decides in a
    transaction. A refused add writes nothing at all, and an anonymous visitor's session is
    created or changed only once the SKU was found on sale.
    """
    quantity = _check_quantity(quantity)
    sku_id = _sku_id(sku_id)
    owner = _existing_owner(cart=cart, buyer=buyer, session=session)
    item = _add_units(owner, sku_id, quantity, read_lines=read_lines) if owner is not None else None
    if item is None:
        item = _cart_add_locked(
            sku_id=sku_id, quantity=quantity, cart=cart, buyer=buyer, session=session, read_lines=read_lines
        )
    return item


def _existing_owner(*, cart, buyer, session) -> tuple[str, object] | None:
    """How `_add_units` finds the cart to add to; None for a visitor whose session holds no
    cart yet (the session must not be created or changed before the SKU is found on sale)."""
    if cart is not None:
        return ("id", cart.pk)
    if buyer is not None and buyer.is_authenticated:
        return ("buyer_id", buyer.pk)
    if session is not None and session.session_key and session.get(SESSION_CART_KEY) == session.session_key:
        return ("session_key", session.session_key)
    return None


@transaction.atomic
def _cart_add_locked(*, sku_id: int, quantity: int, cart: Cart | None, buyer, session, read_lines: bool) -> CartItem:
    """`cart_add` under the cart's lock taken by an earlier statement, creating the cart when
    missing: the add's statement then reads a snapshot taken after the lock was granted, so it
    sees every line committed before. A refusal raises inside this transaction, so a cart
    created for the add is rolled back."""
    if cart is not None:
        cart = _lock(cart)
    else:
        anonymous = not (buyer is not None and buyer.is_authenticated) and session is not None
        if anonymous and (not session.session_key or session.get(SESSION_CART_KEY) != session.session_key):
            # A visitor's first add: checked before the session is created or changed for the
            # cart's key, since the session is saved whatever this transaction becomes.
            _check_on_sale(sku_id)
        # get() with FOR UPDATE: an existing cart is found and locked by one statement; a
        # missing one is created (a new row is ours alone until commit) or, when a concurrent
        # add created it first, found again and locked.
        cart, _created = Cart.objects.select_for_update().get_or_create(**_owner(buyer=buyer, session=session))
    item = _add_units(("id", cart.pk), sku_id, quantity, read_lines=read_lines)
    if item is None:
        _check_on_sale(sku_id)  # raises sku_unavailable; else the line had no place
        raise OrderError(
            "cart_full",
            _("Your cart holds at most %(max)s different items.") % {"max": MAX_LINES},
            {"max_lines": MAX_LINES},
        )
    return item


@transaction.atomic
def cart_update(*, cart: Cart | None, sku_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity (0 removes the line and returns None). A line whose SKU went off
    sale can only be removed. Locks the cart row; 400 `not_in_cart` for a SKU not in it, or
    when there is no cart (None: a change never creates one)."""
    quantity = _check_quantity(quantity, allow_zero=True)
    locked = _lock(cart) if cart is not None else None
    item = CartItem.objects.filter(cart=locked, sku_id=sku_id).first() if locked is not None else None
    if item is None:
        raise OrderError("not_in_cart", _("This item is not in your cart."), {"skus": [sku_id]})
    if quantity == 0:
        item.delete()
        return None
    _check_on_sale(sku_id)
    CartItem.objects.filter(pk=item.pk).update(quantity=quantity)
    item.quantity = quantity
    return item


@transaction.atomic
def cart_remove(*, cart: Cart, sku_id: int) -> bool:
    """Take a SKU out of the cart, on sale or not. Returns whether a line was removed."""
    deleted, _rows = CartItem.objects.filter(cart=_lock(cart), sku_id=sku_id).delete()
    return bool(deleted)


@transaction.atomic
def cart_clear_items(*, cart: Cart, sku_ids) -> int:
    """Take the given SKUs out of the cart (after they were ordered). Returns the count."""
    return _delete_lines(Cart.objects.filter(pk=cart.pk), sku_ids)


def _delete_lines(carts, sku_ids) -> int:
    """Delete the lines of `sku_ids` from the cart `carts` selects, in one statement that
    locks the cart first (a FOR UPDATE sub-select), so it queues behind a concurrent change
    to the cart like every other write. The DELETE reads the snapshot taken when it started:
    a line changed meanwhile by the lock's holder is seen in its new version; a line it
    inserted is left, as if that change had come just after this one."""
    locked = carts.select_for_update().values("pk")
    deleted, _rows = CartItem.objects.filter(cart_id__in=locked, sku_id__in=list(sku_ids)).delete()
    return deleted


@dataclass
class MergeResult:
    cart: Cart | None
    merged: list[int] = field(default_factory=list)  # SKU ids moved into the buyer's cart
    dropped: list[int] = field(default_factory=list)  # SKU ids no longer on sale, left out


@transaction.atomic
def cart_merge(*, session_key: str | None, buyer) -> MergeResult:
    """Move the anonymous cart of `session_key` into the buyer's cart at login.

    Quantities of a SKU in both carts are summed and capped at MAX_QUANTITY. SKUs no longer
    on sale, and new lines once the buyer's cart holds MAX_LINES, are left out (`dropped`)
    rather than refused: a cart line must never make a login fail. The anonymous cart is
    deleted. Both carts are locked in primary-key order.
    """
    anonymous = Cart.objects.filter(session_key=session_key, buyer__isnull=True).first() if session_key else None
    if anonymous is None:
        return MergeResult(cart=None)
    target = cart_get_or_create(buyer=buyer)
    carts = {c.pk: c for c in Cart.objects.select_for_update().filter(pk__in=[anonymous.pk, target.pk]).order_by("pk")}
    if anonymous.pk not in carts:
        return MergeResult(cart=carts[target.pk])  # merged by a concurrent login meanwhile
    items = list(CartItem.objects.filter(cart_id=anonymous.pk).order_by("added_at", "id"))
    result = MergeResult(cart=carts[target.pk])
    for item in items:
        # Nothing written for a SKU off sale or a new line in a full cart: the line stays out.
        added = _add_units(("id", result.cart.pk), item.sku_id, item.quantity)
        (result.merged if added is not None else result.dropped).append(item.sku_id)
    carts[anonymous.pk].delete()
    return result


@transaction.atomic
def cart_checkout(
    *,
    buyer,
    key: str,
    fingerprint: str,
    address=None,
    items,
    coupon_id=None,
    coupon_code: str = "",
    address_id: int | None = None,
):
    """Place the order (`checkout_place_idempotent`: one order per buyer and key) and take the
    ordered SKUs out of the buyer's cart, in one transaction. Returns (order, created). The
    address is the buyer's `address` or the buyer's saved address `address_id` (400
    `invalid_address` when it is not one).

    The advisory lock of the idempotent placement is held until this transaction ends: a
    second submission of the same form is refused (409 `request_in_progress`) while the
    first runs, and afterwards sees the first as a whole (its order, and the cart without
    the ordered lines). Errors of the placement pass through unchanged
    (`insufficient_stock`, `sku_unavailable`, ...) and then the cart is untouched. The
    ordered lines leave the cart in the statement that inserts the order (`clear_cart`: one
    round trip less), locking the cart first as `_delete_lines` does.
    """
    return checkout_place_idempotent(
        buyer=buyer,
        key=key,
        fingerprint=fingerprint,
        address=address,
        address_id=address_id,
        items=items,
        coupon_id=coupon_id,
        coupon_code=coupon_code,
        clear_cart=True,
    )
