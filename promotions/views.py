"""Buyer pages of promotions: the buyer's membership level (under "My account") and the flash sales."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from marketplace.errors import DomainError
from orders.services import cart_add

from . import selectors
from .choices import FlashSaleState
from .services import flash


@login_required
@require_safe
def membership(request):
    """The signed-in buyer's level, the spend it was decided on, what the next level needs,
    and every level; only ever the buyer's own (the selector takes the buyer)."""
    return render(request, "storefront/promotions/membership.html", {"view": selectors.membership_of(request.user)})


@require_safe
def flash_sale_list(request):
    now = timezone.now()
    sales = list(selectors.flash_sale_list_public(now))
    for sale in sales:
        sale.state = selectors.flash_sale_state(sale, now)
    live = [s for s in sales if s.state in (FlashSaleState.LIVE, FlashSaleState.SOLD_OUT)]
    upcoming = [s for s in sales if s.state in (FlashSaleState.UPCOMING, FlashSaleState.PAUSED)]
    return render(request, "promotions/flash_sales.html", {"live": live, "upcoming": upcoming, "now": now})


@require_POST
@login_required
def flash_sale_join(request, sale_id: int):
    if request.user.is_staff:
        raise Http404("Staff use the admin.")
    if selectors.flash_sale_get_public(sale_id) is None:
        raise Http404("No such flash sale.")
    try:
        reservation = flash.flash_sale_admit(sale_id=sale_id, buyer_id=request.user.pk)
        cart_add(
            sku_id=reservation.sale.sku_id, quantity=reservation.units, buyer=request.user, session=request.session
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("promotions:flash_sales")
    until = date_format(timezone.localtime(reservation.expires_at), "H:i")
    messages.success(
        request,
        _("You got it: %(units)s held for you until %(time)s at the flash-sale price. Check out before then.")
        % {"units": reservation.units, "time": until},
    )
    return redirect("orders:cart")
