"""Merchant portal pages of promotions (/portal/promotions/): the merchant's flash sales.

Every page goes through `portal_view(PortalSection.CATALOG)` (the owner and catalog members,
who run the products and their stock), and every row comes from a selector given the
member's merchant: another merchant's ids answer 404. Views check shape with forms, call one
service and turn a `DomainError` into form errors or a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors
from .choices import FlashSaleState
from .portal_forms import FlashSaleForm
from .services import flash

CATALOG = PortalSection.CATALOG
# The menu key, for merchants.views._menu to highlight the current entry.
MENU_FLASH_SALES = "promotions_flash_sales"
PAGE_SIZE = 25


@require_safe
@portal_view(CATALOG)
def flash_sale_list(request, merchant, member):
    page = Paginator(selectors.flash_sale_list_for_merchant(merchant), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for sale in page.object_list:
        sale.state = selectors.flash_sale_state(sale, now)
        sale.state_label = FlashSaleState(sale.state).label
    return render(request, "portal/promotions/flash_list.html", portal_context(member, MENU_FLASH_SALES, page=page))


@require_http_methods(["GET", "POST"])
@portal_view(CATALOG)
def flash_sale_create(request, merchant, member):
    form = FlashSaleForm(request.POST or None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            flash.flash_sale_create(
                merchant=merchant,
                actor=request.user,
                sku=form.sku,
                special_price=data["special_price"],
                quantity=data["quantity"],
                per_buyer_limit=data["per_buyer_limit"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The flash sale is scheduled."))
            return redirect("portal_promotions:flash_list")
    status = 400 if form.errors else 200
    return render(
        request, "portal/promotions/flash_form.html", portal_context(member, MENU_FLASH_SALES, form=form), status=status
    )


@require_POST
@portal_view(CATALOG)
def flash_sale_pause(request, merchant, member, sale_id: int):
    sale = found_or_404(selectors.flash_sale_get_for_merchant(merchant, sale_id))
    paused = request.POST.get("paused") != "0"
    flash.flash_sale_set_paused(sale=sale, paused=paused, actor=request.user, merchant=merchant)
    messages.success(request, _("The flash sale is paused.") if paused else _("The flash sale is on again."))
    return redirect("portal_promotions:flash_list")
