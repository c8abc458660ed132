"""The cart's preview of a coupon: the breakdown with the coupon the buyer chose, as checkout
would price it, or why it gives nothing. Reads only: nothing is claimed, used or written, so
there is no transaction (checkout checks and prices everything again when it places)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.errors import DomainError, NotFoundError
from promotions.pricing import PricingResult
from promotions.selectors import cart_line_of, coupon_offer, coupon_to_preview
from promotions.services import coupon_check_applies, coupon_check_usable

from ..selectors import CartPricing, CartView, cart_pricing


def cart_pricing_with_coupon(
    cart: CartView, *, buyer, coupon_id=None, code: str = "", now=None, holds=None
) -> CartPricing:
    """`cart_pricing` with the coupon the buyer chose — one of theirs by id or code, or a
    public code — as checkout would price it, writing nothing: a public code the buyer holds
    no available coupon of is priced as the coupon they would claim at placement (its claim
    limits are checked then). When the coupon cannot be used or gives nothing, the breakdown
    is the one without it and `coupon_error` says why (`coupon_check_usable`,
    `coupon_check_applies`). Without a coupon (or a buyer), exactly `cart_pricing`. `holds`:
    the buyer's live flash-sale holds when already read (`cart_pricing`)."""
    now = now or timezone.now()
    code = (code or "").strip()
    if buyer is None or not buyer.is_authenticated or (coupon_id in (None, "") and not code):
        return cart_pricing(cart, buyer=buyer, now=now, holds=holds)
    try:
        coupon = coupon_to_preview(buyer=buyer, coupon_id=coupon_id, code=code)
        if coupon is None and coupon_id in (None, ""):
            raise NotFoundError("coupon_code_unknown", _("There is no coupon with this code."), {"code": code})
        if coupon is None:
            raise NotFoundError("coupon_not_found", _("No such coupon."))
        coupon_check_usable(coupon, now=now)
    except DomainError as error:
        pricing = cart_pricing(cart, buyer=buyer, now=now, holds=holds)
        pricing.coupon_error = error
        return pricing
    pricing = cart_pricing(cart, buyer=buyer, now=now, holds=holds, coupons=((coupon.pk, coupon.promotion_id),))
    pricing.coupon = coupon
    cart_lines = [cart_line_of(sku, quantity, category_path=sku.category_path) for sku, quantity in pricing.lines]
    try:
        coupon_check_applies(coupon_offer(coupon), cart_lines, pricing.result or PricingResult())
    except DomainError as error:
        pricing.coupon_error = error
    return pricing
