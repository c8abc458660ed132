"""Merchant portal pages of group buys (/portal/group-buys/): the merchant's campaigns with
their figures and a form to create one, and a campaign's page with its groups (paid
participants, step reached, outcome) and the pause / resume / end buttons.

Every page goes through `portal_view(PortalSection.CATALOG)` (the owner and catalog members)
and every row comes from a selector given the member's merchant: another merchant's ids
answer 404. Views check the shape of input with forms and call one service each.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog.selectors import sku_list_for_merchant
from marketplace.errors import ConflictError, DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors, services
from .forms import CampaignForm
from .models import GROUP_BUY_TRANSITIONS

CATALOG = PortalSection.CATALOG
# Menu key, for merchants.views._menu to highlight the current entry.
MENU_GROUP_BUYS = "catalog_group_buys"
TRANSITION_LABELS = {
    "pause": gettext_lazy("Pause"),
    "resume": gettext_lazy("Resume"),
    "end": gettext_lazy("End"),
}
TRANSITION_MESSAGES = {
    "pause": gettext_lazy("Paused: no new group opens; open groups run to their end."),
    "resume": gettext_lazy("Resumed: buyers may open groups again."),
    "end": gettext_lazy("Ended: no new group opens; open groups run to their end."),
}


@portal_view(CATALOG)
def campaign_list(request, merchant, member):
    skus = sku_list_for_merchant(merchant).select_related("product")
    form = CampaignForm(request.POST or None, skus=skus)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.group_buy_create(
                merchant=merchant,
                actor=request.user,
                sku_id=data["sku"],
                name=data["name"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                steps=form.steps(),
                max_quantity=data["max_quantity"],
                window_hours=data["window_hours"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The group buy “%(name)s” is live.") % {"name": campaign.name})
            return redirect("portal_group_buys:detail", campaign_id=campaign.pk)
    context = portal_context(
        member, MENU_GROUP_BUYS, campaigns=selectors.group_buy_list_for_merchant(merchant), form=form
    )
    return render(request, "portal/group_buys/list.html", context, status=400 if form.errors else 200)


@portal_view(CATALOG)
def campaign_detail(request, merchant, member, campaign_id: int):
    campaign = found_or_404(selectors.group_buy_get_for_merchant(merchant, campaign_id))
    groups = list(selectors.group_list_for_campaign(campaign)[:200])
    actions = [
        (action, label)
        for action, label in TRANSITION_LABELS.items()
        if GROUP_BUY_TRANSITIONS.allows(action, campaign.status)
    ]
    context = portal_context(member, MENU_GROUP_BUYS, campaign=campaign, groups=groups, actions=actions)
    return render(request, "portal/group_buys/detail.html", context)


@require_POST
@portal_view(CATALOG)
def campaign_transition(request, merchant, member, campaign_id: int, action: str):
    if action not in TRANSITION_MESSAGES:
        raise Http404
    campaign = found_or_404(selectors.group_buy_get_for_merchant(merchant, campaign_id))
    try:
        services.group_buy_transition(campaign=campaign, action=action, actor=request.user)
    except ConflictError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, str(TRANSITION_MESSAGES[action]))
    return redirect("portal_group_buys:detail", campaign_id=campaign.pk)
