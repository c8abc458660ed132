"""The merchant's shipping rate. (The commission rule and the shipping fee an order is
charged are reads: `line_rate` and `shipping_fee` in orders.selectors.)"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.money import quantize

from ..errors import OrderError
from ..models import ShippingRate


@transaction.atomic
def shipping_rate_set(*, merchant, flat_fee, free_over, actor):
    """Set the merchant's shipping fee per merchant order and its free-shipping threshold.

    Orders already placed keep the fee they were charged (it is frozen on the order).
    """
    try:
        fee = quantize(Decimal(str(flat_fee)))
        threshold = None if free_over in (None, "") else quantize(Decimal(str(free_over)))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise OrderError("invalid_amount", _("Enter amounts in yuan, e.g. 8.00.")) from exc
    if fee < 0 or (threshold is not None and threshold <= 0):
        raise OrderError("invalid_amount", _("The fee cannot be negative and the threshold must be above zero."))
    rate, _created = ShippingRate.objects.update_or_create(
        merchant=merchant, defaults={"flat_fee": fee, "free_over": threshold}
    )
    # `shipping_fee` reads the rate cached on the merchant: the caller's instance gets the new one.
    merchant.shipping_rate = rate
    audit_record(
        action="orders.shipping_rate_set", actor=actor, obj=merchant, data={"flat_fee": fee, "free_over": threshold}
    )
    return rate
