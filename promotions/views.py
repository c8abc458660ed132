"""Storefront pages of group buys (/group-buys/): a campaign's page (open a new group, the
groups still open) and a group's shareable page (the step reached, the next step and how many
more it needs, who joined with masked names, a countdown, the join form).

Reading is public; joining needs a signed-in buyer and calls the use case
`orders.services.group_buy_join` (it places the order at the first step's price), then sends
the buyer to pay it. Refusals come from the services as `DomainError`s and show on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from orders import selectors as order_selectors
from orders import services as order_services

from . import selectors
from .choices import GroupBuyStatus, GroupStatus
from .forms import JoinForm
from .selectors import mask_name


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
