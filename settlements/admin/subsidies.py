"""Incentive subsidies: programmes (operations create and change them; the rule parameters
are checked per kind), grant applications (approve an amount the rule computes, reserving the
pool, or refuse with a reason; the documents open from the page) and the logistics accruals
the runs wrote (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    badge,
    link,
    money,
)
from marketplace.errors import DomainError

from .. import permissions
from ..choices import GrantStatus
from ..models import GRANT_TRANSITIONS, GrantApplication, GrantDocument, SubsidyAccrual, SubsidyProgramme
from ..services import subsidies

GRANT_COLOURS = {
    GrantStatus.SUBMITTED: "#0d6efd",
    GrantStatus.APPROVED: "#20c997",
    GrantStatus.REFUSED: "#dc3545",
    GrantStatus.PAID: "#198754",
}


def _parameters_help() -> str:
    rows = [(kind.label, ", ".join(params)) for kind, params in subsidies.RULE_PARAMETERS.items()]
    return format_html(
        "{}<br>{}",
        _('A JSON object. Amounts and rates are strings, e.g. {"rate": "0.20", "max_amount": "1000000.00"}.'),
        format_html_join(mark_safe("<br>"), "{}: {}", rows),
    )


PROGRAMME_FIELDS = [
    "code",
    "name",
    "kind",
    "rules",
    "valid_from",
    "valid_until",
    "is_active",
    "budget",
    "merchant_year_cap",
]


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = SubsidyProgramme
        fields = PROGRAMME_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "rules" in self.fields:  # absent for staff who may only view programmes
            self.fields["rules"].help_text = _parameters_help()

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = SubsidyProgramme(
            **{name: cleaned.get(name) for name in PROGRAMME_FIELDS},
            committed=self.instance.committed,
            paid=self.instance.paid,
        )
        try:
            subsidies.programme_check(candidate)
        except DomainError as exc:
            fields = exc.extra.get("fields") or {}
            if exc.code == "invalid_programme_rules" and fields:
                for name, message in fields.items():
                    self.add_error("rules", f"{name}: {message}" if message else str(exc.message))
            elif fields:
                self.add_error(next(iter(fields)), str(exc.message))
            else:
                self.add_error(None, str(exc.message))
            return cleaned
        cleaned["rules"] = candidate.rules
        return cleaned


@admin.register(SubsidyProgramme)
class SubsidyProgrammeAdmin(admin.ModelAdmin):
    form = ProgrammeForm
    list_display = [
        "name",
        "kind",
        "valid_from",
        "valid_until",
        "is_active",
        "budget_display",
        "committed_display",
        "paid_display",
        "remaining_display",
        "merchant_year_cap",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    readonly_fields = ["committed_display", "paid_display", "remaining_display"]

    def has_delete_permission(self, request, obj=None):
        # Programmes are referenced by what they paid; end one with its validity instead.
        return False

    @admin.display(description=_("budget pool"), ordering="budget")
    def budget_display(self, programme):
        return money(programme.budget) if programme.budget is not None else "—"

    @admin.display(description=_("committed"), ordering="committed")
    def committed_display(self, programme):
        return money(programme.committed)

    @admin.display(description=_("paid"), ordering="paid")
    def paid_display(self, programme):
        return money(programme.paid)

    @admin.display(description=_("remaining"))
    def remaining_display(self, programme):
        return money(programme.remaining) if programme.remaining is not None else "—"

    def save_model(self, request, obj, form, change):
        subsidies.programme_save(programme=obj, actor=request.user)


# --- Grant applications -------------------------------------------------------------------


class ApproveForm(ActionForm):
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text=_("Leave empty to approve what the rule allows; a lower amount may be approved, never a higher one."),
    )
    rate = forms.DecimalField(
        label=_("Rate"),
        required=False,
        max_digits=5,
        decimal_places=4,
        help_text=_("Equipment subsidies only: the rate within the programme's range (empty: its highest rate)."),
    )
    error_fields = {"grant_amount_above_rule": "amount", "invalid_amount": "amount", "invalid_rate": "rate"}


class RefuseForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea({"rows": 3}))
    error_fields = {"reason_required": "reason"}


def _approve(request, application, data) -> str:
    approved = subsidies.grant_approve(
        application=application, actor=request.user, amount=data.get("amount"), rate=data.get("rate")
    )
    return gettext("Application %(application)s is approved: %(amount)s is reserved from the pool.") % {
        "application": approved,
        "amount": money(approved.approved_amount),
    }


def _refuse(request, application, data) -> str:
    refused = subsidies.grant_refuse(application=application, actor=request.user, reason=data["reason"])
    return gettext("Application %(application)s is refused.") % {"application": refused}


GRANT_ACTIONS = [
    ObjectAction(
        "approve",
        _("Approve"),
        ApproveForm,
        _approve,
        staff_action=permissions.GRANT_DECIDE,
        available=GRANT_TRANSITIONS.predicate("approve"),
        help_text=_(
            "The rule computes and caps the amount; it is reserved from the pool and paid in the next statement."
        ),
    ),
    ObjectAction(
        "refuse",
        _("Refuse"),
        RefuseForm,
        _refuse,
        staff_action=permissions.GRANT_DECIDE,
        available=GRANT_TRANSITIONS.predicate("refuse"),
        help_text=_("The merchant sees the reason in the portal."),
    ),
]


@admin.register(GrantApplication)
class GrantApplicationAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = [
        "project",
        "merchant",
        "programme",
        "invoiced_display",
        "requested_amount",
        "approved_display",
        "status_badge",
        "submitted_at",
        "decided_at",
    ]
    list_filter = ["status", "programme__kind"]
    list_select_related = ["merchant", "programme"]
    search_fields = ["project", "merchant__company_name", "merchant__shop_name"]
    readonly_fields = ["status_badge", "rule_ceiling", "documents_list", "statement_link"]
    exclude = ["statement"]
    object_actions = GRANT_ACTIONS
    view_action = permissions.GRANT_VIEW

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, application):
        return badge(GRANT_COLOURS.get(application.status, "#6c757d"), application.get_status_display())

    @admin.display(description=_("invoiced"), ordering="invoiced_amount")
    def invoiced_display(self, application):
        return money(application.invoiced_amount)

    @admin.display(description=_("approved"), ordering="approved_amount")
    def approved_display(self, application):
        return money(application.approved_amount) if application.approved_amount is not None else "—"

    @admin.display(description=_("the rule allows"))
    def rule_ceiling(self, application):
        """Before the merchant's yearly cap and the pool, which approval checks under lock."""
        try:
            amount, _rate = subsidies.grant_ceiling(programme=application.programme, application=application)
        except DomainError as exc:
            return str(exc.message)
        return money(amount)

    @admin.display(description=_("paid in"))
    def statement_link(self, application):
        return link(application.statement) if application.statement_id else "—"

    @admin.display(description=_("documents"))
    def documents_list(self, application):
        documents = list(application.documents.all())
        if not documents:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '{}: <a href="{}">{}</a> ({} KB)',
            (
                (
                    document.get_kind_display(),
                    self.page_url("document", document.pk),
                    document.original_name or document.pk,
                    document.size // 1024,
                )
                for document in documents
            ),
        )

    def page_urls(self):
        return [
            self.staff_page(
                "documents/<int:grant_document_id>/", self.document_view, "document", permissions.GRANT_VIEW
            )
        ]

    def document_view(self, request, grant_document_id):
        document = get_object_or_404(GrantDocument, pk=grant_document_id)
        try:
            handle = document.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return FileResponse(handle, content_type=document.content_type, as_attachment=True, filename=document.file.name)

    def action_summary(self, request, application):
        programme = application.programme
        return [
            (gettext("Merchant"), str(application.merchant)),
            (gettext("Programme"), str(programme)),
            (gettext("Invoiced"), money(application.invoiced_amount)),
            (gettext("The rule allows"), self.rule_ceiling(application)),
            (gettext("Pool remaining"), money(programme.remaining) if programme.budget is not None else "—"),
        ]


@admin.register(SubsidyAccrual)
class SubsidyAccrualAdmin(ReadOnlyAdmin):
    list_display = [
        "merchant_order_id",
        "merchant",
        "programme",
        "year",
        "completed_at",
        "due",
        "cut",
        "amount",
        "statement_link",
        "clawback_link",
    ]
    list_filter = ["programme", "year"]
    list_select_related = ["merchant", "programme", "statement", "clawed_back_in"]
    search_fields = ["merchant__company_name", "merchant_order__number"]

    @admin.display(description=_("paid in"))
    def statement_link(self, accrual):
        return link(accrual.statement)

    @admin.display(description=_("clawed back in"))
    def clawback_link(self, accrual):
        return link(accrual.clawed_back_in) if accrual.clawed_back_in_id else "—"
