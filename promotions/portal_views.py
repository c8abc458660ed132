"""Merchant portal pages of promotions (/portal/promotions/): the shop's promotions with their
figures, the create and edit forms (every benefit type, spend-and-save steps as a formset),
and the commands: put live (submitted for approval when the platform pays a share), pause,
resume, end.

Every page goes through `portal_view(PortalSection.PROMOTIONS)`, so only the owner and the
catalog members reach it, and every promotion comes from a selector given the member's
merchant: another shop's ids answer 404. Views check the shape of input with forms, call one
service and turn a `DomainError` into form errors or a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.selectors import sku_list_for_merchant
from marketplace.errors import ConflictError, DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view
from orders.selectors import PromotionFigures, promotion_figures

from . import selectors, services
from .choices import EDITABLE_STATES, FlashSaleState, PromotionChannel, PromotionLevel, PromotionStatus
from .forms import CampaignForm
from .models import GROUP_BUY_TRANSITIONS, TRANSITIONS
from .portal_forms import (
    FlashSaleForm,
    PromotionFilterForm,
    PromotionForm,
    StepFormSet,
    promotion_initial,
    public_code_of,
    step_initial,
)
from .services import flash

PROMOTIONS = PortalSection.PROMOTIONS
# Menu key, matched by merchants.views._menu to highlight the current entry.
MENU_PROMOTIONS = "promotions_promotions"
PAGE_SIZE = 25


def _figures(promotions) -> None:
    """Attach what the pages show beside the row: the order figures (`figures`, one query for
    all), the budget left and the platform's share in percent."""
    found = promotion_figures([p.pk for p in promotions])
    for promotion in promotions:
        promotion.figures = found.get(promotion.pk, PromotionFigures())
        promotion.budget_left = (
            promotion.budget_amount - promotion.budget_spent if promotion.budget_amount is not None else None
        )
        promotion.share_percent = format((promotion.platform_share * 100).normalize(), "f")


@portal_view(PROMOTIONS)
def promotion_list(request, merchant, member):
    form = PromotionFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else None
    promotions = selectors.promotion_list_for_merchant(merchant)
    if status:
        promotions = promotions.filter(status=status)
    page = Paginator(promotions, PAGE_SIZE).get_page(request.GET.get("page"))
    _figures(page.object_list)
    context = portal_context(member, MENU_PROMOTIONS, filter_form=form, page=page)
    return render(request, "portal/promotions/promotion_list.html", context)


def _add_error(form, formset, error: DomainError) -> None:
    # Steps' refusals go above the steps; a refused amount names its field.
    if error.code.startswith("step"):
        formset._non_form_errors = formset.error_class([str(error.message)], renderer=formset.renderer)
        return
    field = (error.extra or {}).get("field")
    if error.code in ("invalid_amount", "invalid_limit") and field in form.fields:
        form.add_error(field, str(error.message))
        return
    add_domain_error(form, error)


def _set_public_code(promotion, code: str, actor) -> None:
    """Give a coupon promotion the form's public code (an empty one removes it); a code
    entered for a promotion given automatically is refused (`coupon_not_claimable`)."""
    code = code.strip()
    if promotion.channel == PromotionChannel.COUPON:
        if code != public_code_of(promotion):
            services.coupon_code_set(promotion=promotion, code=code, actor=actor)
    elif code:
        services.coupon_code_set(promotion=promotion, code=code, actor=actor)


def _form_page(request, member, template: str, *, form, formset, promotion=None, status=200):
    context = portal_context(member, MENU_PROMOTIONS, form=form, formset=formset, promotion=promotion)
    return render(request, template, context, status=status)


@portal_view(PROMOTIONS)
def promotion_create(request, merchant, member):
    form = PromotionForm(request.POST or None, merchant=merchant)
    formset = StepFormSet(request.POST or None, prefix="steps")
    # Both are checked (not short-circuited) so every error shows at once.
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        try:
            # One transaction: a refused public code leaves no promotion behind.
            with transaction.atomic():
                promotion = services.promotion_create(
                    actor=request.user,
                    level=PromotionLevel.SHOP,
                    merchant=merchant,
                    data=form.service_data(formset.steps()),
                )
                _set_public_code(promotion, form.cleaned_data["public_code"], request.user)
        except DomainError as error:
            _add_error(form, formset, error)
        else:
            messages.success(request, _("Promotion saved as a draft. Check it, then put it live."))
            return redirect("portal_promotions:detail", promotion_id=promotion.pk)
    status = 400 if form.errors or formset.total_error_count() or formset.non_form_errors() else 200
    return _form_page(
        request, member, "portal/promotions/promotion_form.html", form=form, formset=formset, status=status
    )


@portal_view(PROMOTIONS)
def promotion_detail(request, merchant, member, promotion_id: int):
    promotion = found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id))
    _figures([promotion])
    context = portal_context(
        member,
        MENU_PROMOTIONS,
        promotion=promotion,
        label=selectors.promotion_label(promotion),
        can_edit=promotion.status in EDITABLE_STATES,
        can_publish=TRANSITIONS.can("activate", promotion) or TRANSITIONS.can("submit", promotion),
        can_pause=TRANSITIONS.can("pause", promotion),
        can_resume=TRANSITIONS.can("resume", promotion),
        can_end=TRANSITIONS.can("end", promotion),
    )
    return render(request, "portal/promotions/promotion_detail.html", context)


@portal_view(PROMOTIONS)
def promotion_edit(request, merchant, member, promotion_id: int):
    promotion = found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id))
    if promotion.status not in EDITABLE_STATES:
        messages.error(request, _("Only a draft or rejected promotion can be edited."))
        return redirect("portal_promotions:detail", promotion_id=promotion.pk)
    if request.method == "POST":
        form = PromotionForm(request.POST, merchant=merchant)
        formset = StepFormSet(request.POST, prefix="steps")
    else:
        form = PromotionForm(initial=promotion_initial(promotion), merchant=merchant)
        formset = StepFormSet(initial=step_initial(promotion), prefix="steps")
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        try:
            # One transaction: a refused public code leaves the promotion as it was.
            with transaction.atomic():
                services.promotion_update(
                    promotion=promotion, actor=request.user, data=form.service_data(formset.steps())
                )
                _set_public_code(promotion, form.cleaned_data["public_code"], request.user)
        except DomainError as error:
            _add_error(form, formset, error)
        else:
            messages.success(request, _("Promotion saved."))
            return redirect("portal_promotions:detail", promotion_id=promotion.pk)
    status = 400 if form.errors or formset.total_error_count() or formset.non_form_errors() else 200
    return _form_page(
        request,
        member,
        "portal/promotions/promotion_form.html",
        form=form,
        formset=formset,
        promotion=promotion,
        status=status,
    )


def _command(request, merchant, promotion_id: int, service, success: str):
    promotion = found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id))
    try:
        service(promotion=promotion, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("portal_promotions:detail", promotion_id=promotion.pk)


@require_POST
@portal_view(PROMOTIONS)
def promotion_publish(request, merchant, member, promotion_id: int):
    promotion = found_or_404(selectors.promotion_get_for_merchant(merchant, promotion_id))
    try:
        promotion = services.promotion_publish(promotion=promotion, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if promotion.status == PromotionStatus.PENDING_APPROVAL:
            messages.success(
                request, _("Sent to operations: the promotion starts once they approve the platform share.")
            )
        else:
            messages.success(request, _("The promotion is live: buyers get it within its dates."))
    return redirect("portal_promotions:detail", promotion_id=promotion.pk)


@require_POST
@portal_view(PROMOTIONS)
def promotion_pause(request, merchant, member, promotion_id: int):
    return _command(request, merchant, promotion_id, services.promotion_pause, _("Paused: carts no longer get it."))


@require_POST
@portal_view(PROMOTIONS)
def promotion_resume(request, merchant, member, promotion_id: int):
    return _command(request, merchant, promotion_id, services.promotion_resume, _("Resumed."))


@require_POST
@portal_view(PROMOTIONS)
def promotion_end(request, merchant, member, promotion_id: int):
    return _command(
        request, merchant, promotion_id, services.promotion_end, _("Ended. Orders already placed keep their discount.")
    )


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


# --- Group buys (portal/group-buys/) ---------------------------------------------------------


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
