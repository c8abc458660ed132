"""Merchant portal subsidies (issue #14), under /portal/statements/subsidies/: the merchant's
grant applications, applying to an open programme with invoices and documents (a tax rebate
with its tax year), one application's decision and payment and its documents; and the subsidy drill-down of a statement page.

Pages go through `portal_view(PortalSection.FINANCE)` (the owner and finance members);
rows come from selectors given the member's merchant, so another merchant's application ids
answer 404.
"""

from __future__ import annotations

import os

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.errors import DomainError
from marketplace.shortcuts import found_or_404
from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors
from .choices import GrantStatus, LineKind
from .services import subsidies
from .services.subsidies import GRANT_DOCUMENTS_MAX

FINANCE = PortalSection.FINANCE
MENU_STATEMENTS = "finance_statements"
#: The statement lines whose source rows the subsidy drill-down lists.
SUBSIDY_KINDS = frozenset({LineKind.LOGISTICS_SUBSIDY, LineKind.LOGISTICS_SUBSIDY_CLAWBACK, LineKind.GRANT_SUBSIDY})
#: The drill-down lists at most this many accruals on the page.
ACCRUALS_SHOWN = 200


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple) and data:
            return [single(d, initial) for d in data]
        return [single(data or None, initial)]  # nothing: "required"


class GrantApplicationForm(forms.Form):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=None, empty_label=None)
    project = forms.CharField(label=_("Project"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea({"rows": 3}))
    invoiced_amount = forms.DecimalField(
        label=_("Invoiced amount (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_(
            "Fit-out, equipment and training: the total of the invoices attached. "
            "Tax rebate: the local contribution of the tax year."
        ),
    )
    requested_amount = forms.DecimalField(
        label=_("Amount requested (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("Brand incubation: the amount the project asks for."),
    )
    tax_year = forms.IntegerField(
        label=_("Tax year"),
        required=False,
        min_value=2000,
        max_value=9999,
        help_text=_("Tax rebate: the ended calendar year the rebate is for, e.g. 2025."),
    )
    documents = MultipleFileField(
        label=_("Invoices and documents"),
        help_text=_("PDF, PNG or JPEG, at most 10 MB each."),
    )
    certification = forms.FileField(
        label=_("Regional brand certification"),
        required=False,
        help_text=_("Brand incubation: the certificate of the brand's regional certification (PDF, PNG or JPEG)."),
    )
    certification_region = forms.CharField(
        label=_("Certified by (region)"),
        required=False,
        max_length=100,
        help_text=_("Brand incubation: the region whose authority certified the brand, e.g. 浙江省."),
    )
    #: Service refusals shown on a field.
    error_fields = {
        "invalid_invoiced_amount": "invoiced_amount",
        "invalid_requested_amount": "requested_amount",
        "project_required": "project",
        "invalid_tax_year": "tax_year",
        "tax_year_not_ended": "tax_year",
        "tax_year_before_live": "tax_year",
        "tax_rebate_years_over": "tax_year",
        "tax_rebate_below_threshold": "tax_year",
        "tax_rebate_already_applied": "tax_year",
        "documents_required": "documents",
        "too_many_documents": "documents",
        "file_too_large": "documents",
        "file_empty": "documents",
        "file_type_not_allowed": "documents",
        "file_corrupt": "documents",
        "image_too_large": "documents",
        "certification_required": "certification",
        "certification_region_required": "certification_region",
        "certification_region_too_long": "certification_region",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = selectors.grant_programmes_open(timezone.localdate())
        self.fields["documents"].widget.attrs["accept"] = "application/pdf,image/png,image/jpeg"
        self.fields["certification"].widget.attrs["accept"] = "application/pdf,image/png,image/jpeg"

    def add_service_error(self, error: DomainError) -> None:
        self.add_error(self.error_fields.get(error.code), str(error.message))


@portal_view(FINANCE)
def grant_list(request, merchant, member):
    """The merchant's applications and, by POST, a new application."""
    form = GrantApplicationForm(request.POST, request.FILES) if request.method == "POST" else GrantApplicationForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = subsidies.grant_apply(
                merchant=merchant,
                programme=data["programme"],
                actor=request.user,
                project=data["project"],
                description=data["description"],
                invoiced_amount=data["invoiced_amount"],
                requested_amount=data["requested_amount"],
                tax_year=data["tax_year"],
                documents=data["documents"],
                certification=data["certification"],
                certification_region=data["certification_region"],
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, gettext("Your application is submitted; the platform reviews it."))
            return redirect("portal_statements:grant_detail", application.pk)
    context = portal_context(
        member,
        MENU_STATEMENTS,
        form=form,
        applications=selectors.grant_applications_for(merchant),
        documents_max=GRANT_DOCUMENTS_MAX,
    )
    return render(request, "portal/subsidies/list.html", context, status=400 if form.errors else 200)


@portal_view(FINANCE)
def grant_detail(request, merchant, member, application_id: int):
    application = found_or_404(selectors.grant_application_get(merchant=merchant, pk=application_id))
    statement_visible = application.statement is not None and application.statement.status in selectors.MERCHANT_VISIBLE
    context = portal_context(
        member,
        MENU_STATEMENTS,
        application=application,
        statement_visible=statement_visible,
        paid=application.status == GrantStatus.PAID,
    )
    return render(request, "portal/subsidies/detail.html", context)


def statement_subsidy_context(statement, kinds) -> dict:
    """The subsidy drill-down of a statement page (the statement already scoped to the
    merchant by its selector): empty when the statement has no subsidy line."""
    if not SUBSIDY_KINDS & set(kinds):
        return {"subsidies": None}
    return {
        "subsidies": {
            "summary": selectors.statement_subsidy_summary(statement),
            "accruals": list(selectors.statement_subsidy_accruals(statement)[:ACCRUALS_SHOWN]),
            "accruals_shown": ACCRUALS_SHOWN,
            "grants": list(selectors.statement_grants(statement)),
            "statement": statement,
        }
    }


@portal_view(FINANCE)
def grant_document(request, merchant, member, application_id: int, document_id: int):
    """One of the merchant's own application documents, streamed (as the penalties'
    evidence files): another merchant's, or a document of another application, is 404."""
    row = found_or_404(selectors.grant_document_get_for_merchant(merchant, application_id, document_id))
    try:
        handle = row.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=row.content_type)
    extension = os.path.splitext(row.file.name)[1]
    response["Content-Disposition"] = f'inline; filename="grant-{application_id}-{row.pk}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
