"""Merchant portal pages of penalties and service fees (under /portal/statements/): the
penalties with their evidence and the appeal form, and the service fees with the
subscription plans and value-added services to buy.

Every page goes through `portal_view(PortalSection.FINANCE)` (the owner and finance members)
and reads through selectors given the member's merchant: another merchant's ids answer 404.
Changes are POSTs that call one service each; a refusal is shown on the form.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.errors import DomainError
from marketplace.forms import add_domain_error
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors, services
from .choices import BillingCycle, PenaltyStatus
from .models import PENALTY_TRANSITIONS

FINANCE = PortalSection.FINANCE
MENU_STATEMENTS = "finance_statements"
PAGE_SIZE = 25


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the pattern of Django's documentation)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class AppealForm(forms.Form):
    statement = forms.CharField(
        label=gettext_lazy("Why should this penalty be cancelled?"),
        max_length=4000,
        widget=forms.Textarea({"rows": 5}),
    )
    files = MultipleFileField(
        label=gettext_lazy("Supporting files"),
        required=False,
        help_text=gettext_lazy("PDF, PNG or JPEG, up to 10 files of 10 MB each."),
    )
    error_fields = {
        "statement_required": "statement",
        "too_many_files": "files",
        "file_type_not_allowed": "files",
        "file_too_large": "files",
        "file_empty": "files",
        "file_corrupt": "files",
        "image_too_large": "files",
    }


@portal_view(FINANCE)
def penalty_list(request, merchant, member):
    page = Paginator(selectors.penalty_list_for_merchant(merchant), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/statements/penalties.html", portal_context(member, MENU_STATEMENTS, page=page))


@portal_view(FINANCE)
def penalty_detail(request, merchant, member, penalty_id: int):
    penalty = found_or_404(selectors.penalty_get_for_merchant(merchant, penalty_id))
    form = AppealForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.penalty_appeal(
                penalty=penalty,
                merchant=merchant,
                actor=request.user,
                statement=form.cleaned_data["statement"],
                files=form.cleaned_data["files"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your appeal is sent; the platform will decide it."))
            return redirect("portal_statements:penalty", penalty.pk)
    files = list(penalty.files.all())
    context = portal_context(
        member,
        MENU_STATEMENTS,
        penalty=penalty,
        evidence=[f for f in files if f.side == "evidence"],
        appeal_files=[f for f in files if f.side == "appeal"],
        can_appeal=PENALTY_TRANSITIONS.can("appeal", penalty) and timezone.now() < penalty.appeal_until,
        window_closed=penalty.status == PenaltyStatus.OPEN and timezone.now() >= penalty.appeal_until,
        form=form,
    )
    return render(request, "portal/statements/penalty.html", context, status=400 if form.errors else 200)


@portal_view(FINANCE)
def penalty_file(request, merchant, member, penalty_id: int, file_id: int):
    row = found_or_404(selectors.penalty_file_get_for_merchant(merchant, penalty_id, file_id))
    response = FileResponse(row.file.open("rb"), content_type=row.content_type)
    response["Content-Disposition"] = f'inline; filename="penalty-{penalty_id}-{row.pk}{row.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Service fees ---------------------------------------------------------------------------


class SubscribeForm(forms.Form):
    plan = forms.ModelChoiceField(label=gettext_lazy("Plan"), queryset=selectors.subscription_plans_offered())
    cycle = forms.ChoiceField(label=gettext_lazy("Billed"), choices=BillingCycle.choices)
    error_fields = {"invalid_cycle": "cycle", "plan_not_offered": "plan"}


class PurchaseForm(forms.Form):
    service = forms.ModelChoiceField(label=gettext_lazy("Service"), queryset=selectors.value_added_services_offered())
    # A token per form shown: a resubmitted form bills once.
    reference = forms.CharField(widget=forms.HiddenInput, max_length=60)
    error_fields = {"service_not_offered": "service"}


def _fees_page(request, merchant, member, *, subscribe_form=None, purchase_form=None, status=200):
    page = Paginator(selectors.fee_charges_for_merchant(merchant), PAGE_SIZE).get_page(request.GET.get("page"))
    context = portal_context(
        member,
        MENU_STATEMENTS,
        page=page,
        subscription=selectors.subscription_active_for_merchant(merchant),
        plans=selectors.subscription_plans_offered(),
        services_offered=selectors.value_added_services_offered(),
        subscribe_form=subscribe_form or SubscribeForm(),
        purchase_form=purchase_form or PurchaseForm(initial={"reference": uuid.uuid4().hex}),
    )
    return render(request, "portal/statements/fees.html", context, status=status)


@portal_view(FINANCE)
def fees(request, merchant, member):
    return _fees_page(request, merchant, member)


@require_POST
@portal_view(FINANCE)
def subscribe(request, merchant, member):
    form = SubscribeForm(request.POST)
    if form.is_valid():
        try:
            services.subscription_start(
                merchant=merchant, plan=form.cleaned_data["plan"], cycle=form.cleaned_data["cycle"], actor=request.user
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("You are subscribed; the first period is billed now."))
            return redirect("portal_statements:fees")
    return _fees_page(request, merchant, member, subscribe_form=form, status=400)


@require_POST
@portal_view(FINANCE)
def subscription_end(request, merchant, member):
    subscription = selectors.subscription_active_for_merchant(merchant)
    if subscription is None:
        messages.error(request, _("You have no subscription to end."))
        return redirect("portal_statements:fees")
    try:
        services.subscription_end(subscription=subscription, merchant=merchant, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your subscription has ended; no further period is billed."))
    return redirect("portal_statements:fees")


@require_POST
@portal_view(FINANCE)
def purchase(request, merchant, member):
    form = PurchaseForm(request.POST)
    if form.is_valid():
        try:
            charge = services.value_added_purchase(
                merchant=merchant,
                service=form.cleaned_data["service"],
                actor=request.user,
                reference=form.cleaned_data["reference"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(service)s is bought; it is deducted in your next statement.") % {"service": charge.description},
            )
            return redirect("portal_statements:fees")
    return _fees_page(request, merchant, member, purchase_form=form, status=400)
