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
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from orders import selectors as order_selectors
from orders import services as order_services
from orders.services import cart_add

from . import selectors
from .choices import FlashSaleState, GroupBuyStatus, GroupStatus
from .forms import JoinForm
from .selectors import mask_name
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


# --- Group buys (/group-buys/) ---------------------------------------------------------------


def _join_form(request, campaign, data=None):
    addresses = list(order_selectors.address_list(request.user)) if request.user.is_authenticated else []
    return JoinForm(data, addresses=addresses, max_quantity=campaign.max_quantity)


def _campaign_open(campaign) -> bool:
    now = timezone.now()
    return campaign.status == GroupBuyStatus.ACTIVE and campaign.starts_at <= now < campaign.ends_at


@require_safe
def campaign_page(request, campaign_id: int):
    campaign = found_or_404(selectors.group_buy_get_public(campaign_id))
    return _render_campaign(request, campaign, _join_form(request, campaign))


def _render_campaign(request, campaign, form, status=200):
    return render(
        request,
        "promotions/group_buy.html",
        {"campaign": campaign, "steps": list(campaign.steps.all()), "form": form, "can_open": _campaign_open(campaign)},
        status=status,
    )


@require_safe
def group_page(request, group_id: int):
    group = found_or_404(selectors.group_get_public(group_id))
    return _render_group(request, group, _join_form(request, group.campaign))


def _render_group(request, group, form, status=200):
    ladder = selectors.group_ladder(group)
    joined = selectors.group_buy_participant_of_buyer(group, request.user)
    members = [
        {"name": mask_name(p.buyer), "paid": p.paid_at is not None, "joined_at": p.joined_at} for p in group.members
    ]
    return render(
        request,
        "promotions/group.html",
        {
            "group": group,
            "campaign": group.campaign,
            "ladder": ladder,
            "members": members,
            "joined": joined,
            "form": form,
            "can_join": group.status == GroupStatus.OPEN and group.closes_at > timezone.now() and joined is None,
            "share_url": request.build_absolute_uri(),
        },
        status=status,
    )


@login_required
@require_POST
def join(request, campaign_id: int):
    """Open a new group (no `group` in the query) or join the group named by `group`."""
    campaign = found_or_404(selectors.group_buy_get_public(campaign_id))
    group_id = request.GET.get("group")
    group = None
    if group_id is not None:
        if not group_id.isdigit():
            raise Http404
        group = found_or_404(selectors.group_get_public(int(group_id)))
        if group.campaign_id != campaign.pk:
            raise Http404
    form = _join_form(request, campaign, request.POST)
    if form.is_valid():
        try:
            _participant, order = order_services.group_buy_join(
                buyer=request.user,
                address=order_selectors.address_list(request.user).get(pk=form.cleaned_data["address"]),
                campaign_id=campaign.pk,
                group_id=group.pk if group else None,
                quantity=form.cleaned_data["quantity"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("You are in the group. Pay the order to count towards the next step."))
            return redirect("orders:pay", number=order.number)
    if group is not None:
        return _render_group(request, group, form, status=400)
    return _render_campaign(request, campaign, form, status=400)
