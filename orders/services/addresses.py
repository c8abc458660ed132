"""A buyer's saved delivery addresses.

Guarantees: exactly one of a buyer's addresses is the default whenever they have any (the
first one becomes it, setting another moves it, deleting it passes it to the newest
remaining one); a buyer keeps at most MAX_ADDRESSES; a buyer only changes their own
addresses (400 `not_your_address`). Every change locks the buyer's user row first, so two
concurrent changes of one buyer's book cannot both leave (or remove) a default. Placed
orders keep a copy of their address: editing or deleting one moves no order.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.regions import Region

from ..errors import OrderError
from ..models import Address

MAX_ADDRESSES = 20
FIELDS = ("recipient", "phone", "region", "province", "city", "district", "line", "postcode")
REQUIRED = ("recipient", "phone", "region", "province", "city", "line")


def _lock_book(buyer) -> None:
    get_user_model().objects.select_for_update().filter(pk=buyer.pk).first()


def _clean(data: dict) -> dict:
    values = {name: str(data.get(name) or "").strip() for name in FIELDS}
    missing = [name for name in REQUIRED if not values[name]]
    if missing:
        raise OrderError(
            "address_incomplete",
            _("Fill in the recipient, phone, region, province, city and street address."),
            {"fields": {name: [_("This field is required.")] for name in missing}},
        )
    if values["region"] not in Region.values:
        raise OrderError("invalid_region", _("Choose a region."), {"fields": {"region": [_("Choose a region.")]}})
    return values


def _own(address: Address, buyer) -> Address:
    locked = Address.objects.select_for_update().filter(pk=address.pk).first()
    if locked is None or locked.buyer_id != buyer.pk:
        raise OrderError("not_your_address", _("This is not one of your addresses."))
    return locked


def _make_default(address: Address) -> None:
    Address.objects.filter(buyer_id=address.buyer_id, is_default=True).exclude(pk=address.pk).update(is_default=False)
    Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True


@transaction.atomic
def address_create(*, buyer, data: dict, make_default: bool = False) -> Address:
    """Save a new address; it is the default when asked, or when it is the buyer's first."""
    values = _clean(data)
    _lock_book(buyer)
    count = Address.objects.filter(buyer=buyer).count()
    if count >= MAX_ADDRESSES:
        raise OrderError(
            "too_many_addresses",
            _("You can keep at most %(n)s addresses; delete one first.") % {"n": MAX_ADDRESSES},
        )
    address = Address.objects.create(buyer=buyer, is_default=False, **values)
    if make_default or count == 0:
        _make_default(address)
    return address


@transaction.atomic
def address_update(*, address: Address, buyer, data: dict, make_default: bool = False) -> Address:
    """Change an address's fields (and make it the default when asked; never un-default it)."""
    values = _clean(data)
    _lock_book(buyer)
    locked = _own(address, buyer)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(values))
    if make_default:
        _make_default(locked)
    return locked


@transaction.atomic
def address_set_default(*, address: Address, buyer) -> Address:
    """Make this address the buyer's default (and no other)."""
    _lock_book(buyer)
    locked = _own(address, buyer)
    _make_default(locked)
    return locked


@transaction.atomic
def address_delete(*, address: Address, buyer) -> None:
    """Delete an address; when it was the default, the newest remaining one becomes it."""
    _lock_book(buyer)
    locked = _own(address, buyer)
    was_default = locked.is_default
    locked.delete()
    if was_default:
        newest = Address.objects.filter(buyer=buyer).order_by("-id").first()
        if newest is not None:
            _make_default(newest)
