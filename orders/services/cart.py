"""The cart: a signed-in buyer's (`Cart.buyer`) or an anonymous visitor's (`Cart.session_key`).

Guarantees:
- one cart per buyer and one per session (unique columns; `get_or_create` absorbs races);
- a cart line holds 1 to MAX_QUANTITY units; adding merges into the existing line and caps
  there instead of failing, so a repeated "add" never loses the buyer's earlier choice;
- a cart has at most MAX_LINES lines: adding another SKU to a full cart is 400 `cart_full`;
- changes to one cart are serialised by locking the cart row first (then nothing else), so
  two tabs adding the same SKU at once sum their quantities instead of colliding;
- adding, changing and merging refuse a SKU that is not publicly on sale (inactive SKU,
  unpublished or withdrawn product, merchant not live) with 400 `sku_unavailable`, and
  nothing is written; removing always works, so a buyer can clear out a dead line;
- `cart_checkout` places the order and takes the ordered SKUs out of the cart in one
  transaction: a retried submission finds the cart already cleared and the first order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils.translation import gettext_lazy as _

from ..errors import OrderError
from ..models import MAX_LINES, MAX_QUANTITY, Cart, CartItem
from ..selectors import public_skus
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


def _check_on_sale(sku_id) -> int:
    try:
        sku_id = int(sku_id)
    except (TypeError, ValueError):
        sku_id = 0
    if sku_id <= 0 or not public_skus().filter(pk=sku_id).exists():
        raise OrderError(
            "sku_unavailable", _("This item is not on sale (any more)."), {"skus": [sku_id] if sku_id > 0 else []}
        )
    return sku_id


def _lock(cart: Cart) -> Cart:
    return Cart.objects.select_for_update().get(pk=cart.pk)


def _add_units(cart: Cart, sku_id: int, quantity: int) -> CartItem:
    """Add to the line (capped) or create it, unless the cart already has MAX_LINES lines
    (400 `cart_full`). The caller holds the cart's lock, so the count cannot go stale."""
    updated = CartItem.objects.filter(cart=cart, sku_id=sku_id).update(
        quantity=Least(F("quantity") + quantity, Value(MAX_QUANTITY))
    )
    if not updated:
        if CartItem.objects.filter(cart=cart).count() >= MAX_LINES:
            raise OrderError(
                "cart_full",
                _("Your cart holds at most %(max)s different items.") % {"max": MAX_LINES},
                {"max_lines": MAX_LINES},
            )
        CartItem.objects.create(cart=cart, sku_id=sku_id, quantity=min(quantity, MAX_QUANTITY))
    return CartItem.objects.get(cart=cart, sku_id=sku_id)


def cart_get_or_create(*, buyer=None, session=None) -> Cart:
    """The buyer's cart, or (for an anonymous visitor) the session's, created when missing.

    An anonymous visitor without a session gets one here (the cart needs its key); the key is
    also remembered inside the session (`SESSION_CART_KEY`) for the merge at login.
    """
    if buyer is not None and buyer.is_authenticated:
        cart, _created = Cart.objects.get_or_create(buyer=buyer)
        return cart
    if session is None:
        raise ValueError("An anonymous cart needs the visitor's session.")
    if not session.session_key:
        session.create()
    session[SESSION_CART_KEY] = session.session_key
    cart, _created = Cart.objects.get_or_create(session_key=session.session_key)
    return cart


@transaction.atomic
def cart_add(*, sku_id: int, quantity: int = 1, cart: Cart | None = None, buyer=None, session=None) -> CartItem:
    """Add `quantity` units of a SKU on sale to `cart`, or to the cart of `buyer` / `session`;
    merged with the line already there, capped at MAX_QUANTITY. Locks the cart row.

    The cart (and an anonymous visitor's session) is only created once the SKU and the
    quantity passed their checks, so a refused add writes nothing at all.
    """
    quantity = _check_quantity(quantity)
    sku_id = _check_on_sale(sku_id)
    if cart is None:
        cart = cart_get_or_create(buyer=buyer, session=session)
    return _add_units(_lock(cart), sku_id, quantity)


@transaction.atomic
def cart_update(*, cart: Cart, sku_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity (0 removes the line and returns None). A line whose SKU went off
    sale can only be removed. Locks the cart row; 400 `not_in_cart` for a SKU not in it."""
    quantity = _check_quantity(quantity, allow_zero=True)
    locked = _lock(cart)
    item = CartItem.objects.filter(cart=locked, sku_id=sku_id).first()
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
    deleted, _rows = CartItem.objects.filter(cart=_lock(cart), sku_id__in=list(sku_ids)).delete()
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
    on_sale = set(public_skus().filter(pk__in=[i.sku_id for i in items]).values_list("pk", flat=True))
    result = MergeResult(cart=carts[target.pk])
    for item in items:
        if item.sku_id in on_sale:
            try:
                _add_units(result.cart, item.sku_id, item.quantity)
            except OrderError:  # cart_full, raised before any write: the line stays out
                result.dropped.append(item.sku_id)
                continue
            result.merged.append(item.sku_id)
        else:
            result.dropped.append(item.sku_id)
    carts[anonymous.pk].delete()
    return result


@transaction.atomic
def cart_checkout(*, buyer, key: str, fingerprint: str, address, items):
    """Place the order (`checkout_place_idempotent`: one order per buyer and key) and take the
    ordered SKUs out of the buyer's cart, in one transaction. Returns (order, created).

    The advisory lock of the idempotent placement is held until this transaction ends: a
    second submission of the same form is refused (409 `request_in_progress`) while the
    first runs, and afterwards sees the first as a whole (its order, and the cart without
    the ordered lines). Errors of the placement pass through unchanged
    (`insufficient_stock`, `sku_unavailable`, ...) and then the cart is untouched.
    """
    order, created = checkout_place_idempotent(
        buyer=buyer, key=key, fingerprint=fingerprint, address=address, items=items
    )
    if created:
        cart = Cart.objects.filter(buyer=buyer).first()
        if cart is not None:
            cart_clear_items(cart=cart, sku_ids=[item.sku_id for item in items])
    return order, created
