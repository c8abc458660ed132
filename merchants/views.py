"""Merchant portal (/portal/) and public shop pages (/shops/).

Every portal page finds the merchant through `found_or_404(selectors.merchant_for_member(user, section))`,
so a user only ever reaches their own merchant, and only the sections of their role; any
other merchant's ids answer 404. Views check the shape of input with forms, call one
service, and turn a `DomainError` into form errors or a message.
"""

from __future__ import annotations

import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog import services as catalog_services
from catalog.selectors import category_names
from marketplace.crypto import mask
from marketplace.errors import DomainError, NotFoundError
from marketplace.forms import add_domain_error
from marketplace.jobs import enqueue_on_commit
from marketplace.regions import Region
from marketplace.sandbox import sandbox_enabled, sandbox_required
from marketplace.shortcuts import found_or_404
from orders.selectors import dashboards as order_dashboards
from settlements import selectors as settlement_selectors

from . import selectors, services
from .choices import (
    ACTIVE_MERCHANT_STATES,
    DEPOSIT_PAYABLE_STATES,
    DocumentKind,
    DocumentStatus,
    MemberRole,
    MerchantStatus,
    PortalSection,
)
from .forms import (
    BankChangeForm,
    BankForm,
    BusinessForm,
    CompanyForm,
    DeclineForm,
    DocumentForm,
    InviteForm,
    RenewalForm,
    RoleForm,
    ShopForm,
)
from .models import Invitation, MerchantDocument, private_storage
from .tasks import LEDGER_POST_TASK

STEPS = [
    ("company", gettext_lazy("Company")),
    ("business", gettext_lazy("Business")),
    ("bank", gettext_lazy("Bank account")),
    ("documents", gettext_lazy("Documents")),
    ("review", gettext_lazy("Review and submit")),
]
STEP_NAMES = [name for name, _label in STEPS]
FORM_STEPS = {"company": CompanyForm, "business": BusinessForm, "bank": BankForm}


def run_action(request, call, success: str, *, to: str, **kwargs):
    """Run one service for a POST action: its refusal or `success` as a message, then redirect."""
    try:
        call()
    except NotFoundError as error:
        raise Http404(str(error.message)) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(to, **kwargs)


def portal_view(section: str):
    """Login required; pass the user's merchant and membership; 404 outside the role's sections."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            member = selectors.membership_for_user(request.user)
            if member is None or not member.can(section):
                raise Http404("Not available to this user.")
            return view(request, member.merchant, member, *args, **kwargs)

        return wrapper

    return decorator


def _menu(member, current: str) -> list[dict]:
    entries = [
        (PortalSection.DASHBOARD, "portal:dashboard"),
        (PortalSection.APPLICATION, "portal:application"),
        (PortalSection.CONTRACT, "portal:contract"),
        (PortalSection.DEPOSIT, "portal:deposit"),
        (PortalSection.BANK_ACCOUNT, "portal:bank_account"),
        (PortalSection.MEMBERS, "portal:members"),
        (PortalSection.SHOP, "portal:shop"),
    ]
    menu = [
        {"label": section.label, "url": reverse(url), "active": section == current}
        for section, url in entries
        if member.can(section)
    ]
    # Merchant quality (issue #15); the key matches risk.portal_views.MENU_QUALITY.
    menu.append(
        {
            "label": gettext_lazy("Credit rating"),
            "url": reverse("portal_quality:rating"),
            "active": current == "risk_quality",
        }
    )
    if member.can(PortalSection.CATALOG):
        # Keys match catalog.portal_views.MENU_*, the `current` its pages pass.
        catalog_entries = [
            ("catalog_products", gettext_lazy("Products"), "portal_catalog:product_list"),
            ("catalog_stock", gettext_lazy("Stock"), "portal_catalog:stock"),
            ("catalog_alerts", gettext_lazy("Stock alerts"), "portal_catalog:alerts"),
            ("promotions_flash_sales", gettext_lazy("Flash sales"), "portal_promotions:flash_list"),
            ("catalog_group_buys", gettext_lazy("Group buys"), "portal_group_buys:list"),
        ]
        menu += [{"label": label, "url": reverse(url), "active": key == current} for key, label, url in catalog_entries]
    if member.can(PortalSection.ORDERS):
        # Keys match orders.portal_views.MENU_*, the `current` its pages pass.
        order_entries = [
            ("orders_orders", gettext_lazy("Orders"), "portal_orders:order_list"),
            ("orders_shipping", gettext_lazy("Ship orders"), "portal_orders:ship_import"),
            ("orders_after_sales", gettext_lazy("After-sales"), "portal_orders:after_sales"),
            ("orders_reviews", gettext_lazy("Reviews"), "portal_orders:reviews"),
            ("orders_complaints", gettext_lazy("Complaints"), "portal_orders:complaints"),
        ]
        menu += [{"label": label, "url": reverse(url), "active": key == current} for key, label, url in order_entries]
    if member.can(PortalSection.PROMOTIONS):
        # Keys match promotions.portal_views.MENU_PROMOTIONS and marketing_views.MENU, the
        # `current` their pages pass.
        promotion_entries = [
            ("promotions_promotions", gettext_lazy("Promotions"), "portal_promotions:list"),
            ("promotions_marketing", gettext_lazy("Promotion figures"), "portal_marketing:list"),
        ]
        menu += [
            {"label": label, "url": reverse(url), "active": key == current} for key, label, url in promotion_entries
        ]
    if member.can(PortalSection.FINANCE):
        # The key matches settlements.portal_views.MENU_STATEMENTS, the `current` its pages pass.
        menu.append(
            {
                "label": gettext_lazy("Statements"),
                "url": reverse("portal_statements:list"),
                "active": current == "finance_statements",
            }
        )
    return menu


def portal_context(member, current: str, **extra) -> dict:
    """The context every portal page needs: the member, its merchant and the role's menu."""
    return {"member": member, "merchant": member.merchant, "menu": _menu(member, current), **extra}


# --- Dashboard ------------------------------------------------------------------------

NEXT_STEP = {
    MerchantStatus.DRAFT: gettext_lazy("Complete your application and submit it for review."),
    MerchantStatus.SUBMITTED: gettext_lazy("Your application is waiting for a reviewer."),
    MerchantStatus.UNDER_REVIEW: gettext_lazy("A reviewer is looking at your application."),
    MerchantStatus.CHANGES_REQUESTED: gettext_lazy("Change your application as asked below, then submit it again."),
    MerchantStatus.REJECTED: gettext_lazy("Your application was not approved."),
    MerchantStatus.APPROVED: gettext_lazy("Read and accept your contract."),
    MerchantStatus.CONTRACT_SIGNED: gettext_lazy("Pay the deposit of your tier."),
    MerchantStatus.DEPOSIT_PAID: gettext_lazy("Everything is ready: open your shop when you want to start selling."),
    MerchantStatus.LIVE: gettext_lazy("Your shop is live."),
    MerchantStatus.SUSPENDED: gettext_lazy("Your shop is suspended and hidden from buyers."),
    MerchantStatus.TERMINATED: gettext_lazy("Your cooperation with the platform has ended."),
}


@login_required
def dashboard(request):
    member = selectors.membership_for_user(request.user)
    if member is None:
        return render(request, "portal/landing.html")
    merchant = member.merchant
    context = portal_context(
        member,
        PortalSection.DASHBOARD,
        next_step=NEXT_STEP[merchant.status],
        missing=selectors.application_missing(merchant) if merchant.is_editable else None,
        deposit_required=selectors.deposit_required(merchant),
        deposit_balance=selectors.deposit_balance(merchant),
        deposit_shortfall=selectors.deposit_shortfall(merchant),
        history=selectors.history_rows(merchant, limit=10),
        **_figures(request, member, merchant),
    )
    return render(request, "portal/dashboard.html", context)


def _figures(request, member, merchant) -> dict:
    """The shop's figures on the portal home, once it has been live: sales, orders and
    after-sales over 30 or 90 days (`?days=`) with their charts for members who see orders or
    statements; the payable (the open period's estimate and the last statement) for those who
    see statements; the credit grade for everyone. A constant number of queries (four at most)."""
    if merchant.live_since is None:
        return {}
    figures = {"credit_grade": merchant.credit_grade, "spans": order_dashboards.DASHBOARD_SPANS}
    if member.can(PortalSection.ORDERS) or member.can(PortalSection.FINANCE):
        days = order_dashboards.dashboard_span(request.GET.get("days"))
        series = order_dashboards.merchant_sales_daily(merchant, days=days)
        figures.update(days=days, series=series)
        if not series.is_empty:
            figures.update(order_dashboards.series_charts(series, sales_name=_("Sales")))
    if member.can(PortalSection.FINANCE):
        since = settlement_selectors.open_period_start()
        orders, amount = order_dashboards.merchant_completed_estimate(merchant, since=since)
        figures.update(
            open_period_since=since,
            open_period_orders=orders,
            open_period_estimate=amount,
            last_statement=settlement_selectors.last_statement_for_merchant(merchant),
        )
    return figures


@require_POST
@portal_view(PortalSection.APPLICATION)
def go_live(request, merchant, member):
    return run_action(
        request,
        lambda: services.merchant_go_live(merchant=merchant, actor=request.user),
        _("Your shop is live. Welcome to the platform!"),
        to="portal:dashboard",
    )


# --- Application wizard -------------------------------------------------------------


def _initial(merchant, step: str) -> dict:
    if merchant is None:
        return {"cooperation_mode": "platform_entry"}
    names = list(FORM_STEPS[step].base_fields)
    initial = {name: getattr(merchant, name) for name in names if hasattr(merchant, name)}
    initial.pop("legal_rep_id_number", None)
    initial.pop("bank_account_number", None)
    initial["requested_tier"] = merchant.requested_tier_id
    return initial


def _form_for(step: str, merchant, data=None):
    kwargs = {}
    if step == "company":
        kwargs["saved_id_mask"] = mask(merchant.legal_rep_id_number) if merchant else ""
    if step == "bank":
        kwargs["saved_mask"] = mask(merchant.bank_account_number) if merchant else ""
    return FORM_STEPS[step](data, initial=_initial(merchant, step), **kwargs)


def _wizard_member(request):
    """The owner's membership for the wizard; None for a first-time applicant."""
    member = selectors.membership_for_user(request.user)
    if member is not None and member.role != MemberRole.OWNER:
        raise Http404("Only the owner edits the application.")
    return member


@login_required
def apply(request):
    return redirect("portal:apply_step", step="company")


@login_required
def apply_step(request, step: str):
    if step not in STEP_NAMES:
        raise Http404("No such step.")
    member = _wizard_member(request)
    merchant = member.merchant if member else None
    if merchant is not None and not merchant.is_editable:
        return redirect("portal:application")
    if merchant is None and step != "company":
        return redirect("portal:apply_step", step="company")

    if step == "documents":
        return _documents_step(request, merchant, member)
    if step == "review":
        return _review_step(request, merchant, member)

    form = _form_for(step, merchant, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data() if hasattr(form, "service_data") else dict(form.cleaned_data)
        try:
            if merchant is None:
                merchant = services.application_create(owner=request.user, data=data)
            else:
                services.application_update(merchant=merchant, actor=request.user, data=data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Saved. You can come back and finish later."))
            if "save_exit" in request.POST:
                return redirect("portal:dashboard")
            return redirect("portal:apply_step", step=STEP_NAMES[STEP_NAMES.index(step) + 1])
    status = 400 if form.errors else 200
    return render(request, "portal/apply_step.html", _wizard_context(request, merchant, step, form=form), status=status)


def _wizard_context(request, merchant, step, **extra) -> dict:
    member = selectors.membership_for_user(request.user)
    context = {
        "steps": STEPS,
        "step": step,
        "step_index": STEP_NAMES.index(step) + 1,
        "merchant": merchant,
        "missing": selectors.application_missing(merchant) if merchant else None,
        "kind_labels": dict(DocumentKind.choices),
        **extra,
    }
    if member is not None:
        context["menu"] = _menu(member, PortalSection.APPLICATION)
        context["member"] = member
    return context


def _documents_step(request, merchant, member):
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_add(
                merchant=merchant,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                uploaded=form.cleaned_data["file"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Document uploaded."))
            return redirect("portal:apply_step", step="documents")
    required = selectors.required_document_kinds(merchant)
    context = _wizard_context(
        request,
        merchant,
        "documents",
        form=form,
        documents=selectors.document_list_for_merchant(merchant),
        required=required,
    )
    return render(request, "portal/apply_documents.html", context, status=400 if form.errors else 200)


def _review_step(request, merchant, member):
    context = _wizard_context(
        request,
        merchant,
        "review",
        categories=category_names(merchant.requested_category_ids),
        regions=[Region(r).label for r in merchant.sales_regions if r in Region.values],
        documents=selectors.document_list_for_merchant(merchant),
        bank_mask=mask(merchant.bank_account_number),
        id_mask=mask(merchant.legal_rep_id_number),
    )
    return render(request, "portal/apply_review.html", context)


@require_POST
@portal_view(PortalSection.APPLICATION)
def apply_submit(request, merchant, member):
    try:
        services.application_submit(merchant=merchant, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portal:apply_step", step="review")
    messages.success(request, _("Application submitted. We will email you when a reviewer has decided."))
    return redirect("portal:dashboard")


@require_POST
@portal_view(PortalSection.APPLICATION)
def document_delete(request, merchant, member, document_id: int):
    document = get_object_or_404(MerchantDocument, pk=document_id, merchant=merchant)
    return run_action(
        request,
        lambda: services.document_remove(document=document, actor=request.user),
        _("Document removed."),
        to="portal:apply_step",
        step="documents",
    )


@portal_view(PortalSection.APPLICATION)
def application(request, merchant, member):
    context = portal_context(
        member,
        PortalSection.APPLICATION,
        categories=category_names(merchant.requested_category_ids),
        regions=[Region(r).label for r in merchant.sales_regions if r in Region.values],
        # The documents in force: renewals waiting or refused, and replaced ones, are on the documents page.
        documents=selectors.document_current_list(merchant),
        bank_mask=mask(merchant.bank_account_number),
        id_mask=mask(merchant.legal_rep_id_number),
        kind_labels=dict(DocumentKind.choices),
    )
    return render(request, "portal/application.html", context)


@login_required
def document_download(request, document_id: int):
    """Stream a qualification document to those `selectors.document_get_for_user` allows."""
    document = found_or_404(selectors.document_get_for_user(request.user, document_id))
    handle = private_storage.open(document.file.name, "rb")
    response = FileResponse(handle, content_type=document.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{document.pk}{document.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Contract and deposit --------------------------------------------------------------


@portal_view(PortalSection.CONTRACT)
def contract(request, merchant, member):
    current = selectors.current_contract(merchant)
    if request.method == "POST":
        try:
            services.contract_accept(merchant=merchant, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Contract accepted. The next step is paying the deposit."))
            return redirect("portal:deposit")
        return redirect("portal:contract")
    context = portal_context(
        member,
        PortalSection.CONTRACT,
        contract=current,
        categories=category_names(current.category_ids) if current else [],
        regions=_region_labels(current.sales_regions) if current else [],
        amendments=[_amendment_rows(a) for a in selectors.amendment_list(merchant)],
        versions=[_version_rows(v) for v in selectors.contract_version_list(current)] if current else [],
        decline_form=DeclineForm(),
    )
    return render(request, "portal/contract.html", context)


def _region_labels(regions) -> list[str]:
    return [Region(r).label for r in regions if r in Region.values]


def _term_rows(terms: dict) -> list[tuple[str, str]]:
    """(label, value) of contract terms as JSON (an amendment's changes, an old version)."""
    labels = {
        "tier": _("Tier"),
        "commission_plan": _("Commission plan"),
        "category_ids": _("Category scope"),
        "sales_regions": _("Sales regions"),
        "settlement_days": _("Settlement cycle (T + days)"),
        "ladder_steps": _("Ladder steps"),
        "start_date": _("Start date"),
        "end_date": _("End date"),
    }
    tiers = {t.code: t.name for t in selectors.tier_list()}
    rows = []
    for name, value in terms.items():
        if name == "category_ids":
            value = ", ".join(category_names(value)) or "—"
        elif name == "sales_regions":
            value = ", ".join(str(r) for r in _region_labels(value)) or "—"
        elif name == "ladder_steps":
            value = "; ".join(f"≥ ¥{s['min_net_sales']} → {s['points']} %" for s in value) or "—"
        elif name == "tier":
            value = tiers.get(value, value)
        rows.append((labels.get(name, name), value))
    return rows


def _amendment_rows(amendment) -> dict:
    return {"amendment": amendment, "changes": _term_rows(services.amendment_changes(amendment))}


def _version_rows(version) -> dict:
    return {"version": version, "terms": _term_rows(version.terms)}


@require_POST
@portal_view(PortalSection.CONTRACT)
def amendment_accept(request, merchant, member, amendment_id: int):
    amendment = found_or_404(selectors.amendment_get(merchant, amendment_id))

    def accept():
        # One transaction: the selling categories follow the amended scope with the terms.
        with transaction.atomic():
            contract = services.amendment_accept(amendment=amendment, actor=request.user)
            if amendment.category_ids is not None:
                catalog_services.category_grants_from_contract(merchant=contract.merchant, actor=request.user)

    return run_action(request, accept, _("Amendment accepted: the new terms apply now."), to="portal:contract")


@require_POST
@portal_view(PortalSection.CONTRACT)
def amendment_decline(request, merchant, member, amendment_id: int):
    amendment = found_or_404(selectors.amendment_get(merchant, amendment_id))
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return run_action(
        request,
        lambda: services.amendment_decline(amendment=amendment, actor=request.user, reason=reason),
        _("Amendment declined: your contract keeps its terms."),
        to="portal:contract",
    )


# --- Bank account and renewed documents (after approval) ------------------------------------


@portal_view(PortalSection.BANK_ACCOUNT)
def bank_account(request, merchant, member):
    """The verified payout account (masked), a change waiting for finance, and the form for a new one."""
    form = BankChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.bank_change_request(merchant=merchant, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your new bank account is waiting for verification by finance."))
            return redirect("portal:bank_account")
    context = portal_context(
        member,
        PortalSection.BANK_ACCOUNT,
        form=form,
        bank_mask=mask(merchant.bank_account_number),
        pending=selectors.bank_change_pending(merchant),
        changes=selectors.bank_change_list(merchant)[:20],
        can_change=merchant.status in ACTIVE_MERCHANT_STATES,
    )
    return render(request, "portal/bank_account.html", context, status=400 if form.errors else 200)


@portal_view(PortalSection.APPLICATION)
def documents(request, merchant, member):
    """Current documents, the ones to renew (expiring or expired) and the renewals' reviews."""
    return _documents_page(request, merchant, member)


def _documents_page(request, merchant, member, *, form=None, form_document_id=None, status=200):
    current = list(selectors.document_current_list(merchant))
    pending = set(
        selectors.document_renewal_list(merchant)
        .filter(status=DocumentStatus.PENDING)
        .values_list("renews_id", flat=True)
    )
    rows = [
        {
            "document": d,
            "renewable": merchant.status in ACTIVE_MERCHANT_STATES and services.document_renewable(d),
            "renewal_pending": d.pk in pending,
            "form": form if d.pk == form_document_id else RenewalForm(),
        }
        for d in current
    ]
    context = portal_context(
        member,
        PortalSection.APPLICATION,
        rows=rows,
        renewals=selectors.document_renewal_list(merchant)[:50],
    )
    return render(request, "portal/documents.html", context, status=status)


@require_POST
@portal_view(PortalSection.APPLICATION)
def document_renew(request, merchant, member, document_id: int):
    document = found_or_404(selectors.document_current_get(merchant, document_id))
    form = RenewalForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.document_renew(
                merchant=merchant,
                actor=request.user,
                document=document,
                uploaded=form.cleaned_data["file"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Renewed document uploaded; a reviewer will check it."))
            return redirect("portal:documents")
    return _documents_page(request, merchant, member, form=form, form_document_id=document.pk, status=400)


@portal_view(PortalSection.DEPOSIT)
def deposit(request, merchant, member):
    entries = Paginator(merchant.deposit_entries.select_related("created_by").order_by("-created_at", "-id"), 20)
    context = portal_context(
        member,
        PortalSection.DEPOSIT,
        page=entries.get_page(request.GET.get("page")),
        required=selectors.deposit_required(merchant),
        balance=selectors.deposit_balance(merchant),
        shortfall=selectors.deposit_shortfall(merchant),
        can_pay=merchant.status in DEPOSIT_PAYABLE_STATES,
        sandbox_enabled=sandbox_enabled(),
        # One key per rendered form: a double click posts the same reference twice, and the
        # ledger's unique reference makes the second post a no-op.
        payment_key=uuid.uuid4().hex,
    )
    return render(request, "portal/deposit.html", context)


@sandbox_required
@require_POST
@portal_view(PortalSection.DEPOSIT)
def deposit_pay(request, merchant, member):
    """Sandbox payment of the shortfall (the real gateway comes with the orders issue); the
    route exists only while the sandbox is enabled."""

    def pay():
        entry = services.deposit_pay_shortfall_sandbox(
            merchant=merchant, actor=request.user, payment_key=request.POST.get("payment_key", "")
        )
        enqueue_on_commit(LEDGER_POST_TASK)  # its journal entry, posted by settlements
        return entry

    return run_action(
        request,
        pay,
        _("Payment received. Thank you!"),
        to="portal:deposit",
    )


# --- Members -----------------------------------------------------------------------


@portal_view(PortalSection.MEMBERS)
def members(request, merchant, member):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                merchant=merchant, actor=request.user, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("portal:members")
    context = portal_context(
        member,
        PortalSection.MEMBERS,
        form=form,
        members=selectors.member_list(merchant),
        invitations=selectors.invitation_list_open(merchant),
        role_form=RoleForm(),
    )
    return render(request, "portal/members.html", context, status=400 if form.errors else 200)


@require_POST
@portal_view(PortalSection.MEMBERS)
def member_role(request, merchant, member, member_id: int):
    target = found_or_404(selectors.member_get(merchant, member_id))
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("portal:members")
    return run_action(
        request,
        lambda: services.member_change_role(member=target, actor=request.user, role=form.cleaned_data["role"]),
        _("Role changed."),
        to="portal:members",
    )


@require_POST
@portal_view(PortalSection.MEMBERS)
def member_remove(request, merchant, member, member_id: int):
    target = found_or_404(selectors.member_get(merchant, member_id))
    return run_action(
        request,
        lambda: services.member_remove(member=target, actor=request.user),
        _("Member removed."),
        to="portal:members",
    )


@require_POST
@portal_view(PortalSection.MEMBERS)
def invitation_revoke(request, merchant, member, invitation_id: int):
    invitation = found_or_404(selectors.invitation_get(merchant, invitation_id))
    return run_action(
        request,
        lambda: services.invitation_revoke(invitation=invitation, actor=request.user),
        _("Invitation withdrawn."),
        to="portal:members",
    )


@login_required
def invitation_accept(request, token: str):
    invitation = Invitation.objects.select_related("merchant", "invited_by").filter(token=token).first()
    if invitation is None:
        raise Http404("No such invitation.")
    if request.method == "POST":
        try:
            services.invitation_accept(token=token, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Welcome to %(shop)s.") % {"shop": invitation.merchant.display_name})
            return redirect("portal:dashboard")
    return render(request, "portal/invitation.html", {"invitation": invitation})


# --- Shop page ---------------------------------------------------------------------


@portal_view(PortalSection.SHOP)
def shop_settings(request, merchant, member):
    form = ShopForm(
        request.POST or None,
        request.FILES or None,
        initial={"shop_name": merchant.shop_name or merchant.company_name, "description": merchant.description},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_update_shop(
                merchant=merchant,
                actor=request.user,
                shop_name=form.cleaned_data["shop_name"],
                description=form.cleaned_data["description"],
                logo=form.cleaned_data["logo"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Shop page saved."))
            return redirect("portal:shop")
    context = portal_context(member, PortalSection.SHOP, form=form)
    return render(request, "portal/shop.html", context, status=400 if form.errors else 200)


def shop_logo(request, slug: str):
    merchant = found_or_404(selectors.merchant_public_get(slug))
    if not merchant.logo:
        raise Http404("No logo.")
    response = FileResponse(merchant.logo.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
