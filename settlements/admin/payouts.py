"""Payout batches and payouts: creating a batch, the bank file, marking payouts paid or
failed (one by one, or from the bank's result file), and manual adjustments.

Segregation of duties is the service's rule (whoever approved a statement cannot confirm
its payment); these screens show its refusal. The bank file holds full account numbers, so
exporting it also needs `merchants.view_bank_account`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    NON_FIELD,
    ActionForm,
    ConfirmForm,
    CreateOnlyAdmin,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    admin_url,
    badge,
    form_error,
    link,
    money,
    table,
    when,
)
from marketplace.csvfiles import FILE_ERRORS
from marketplace.errors import DomainError
from merchants.models import Merchant

from .. import permissions, selectors, services
from ..choices import PayoutStatus
from ..models import PAYOUT_TRANSITIONS, ManualAdjustment, Payout, PayoutBatch

PAYOUT_COLOURS = {PayoutStatus.PENDING: "#0d6efd", PayoutStatus.PAID: "#198754", PayoutStatus.FAILED: "#dc3545"}
#: The largest bank result file accepted (bytes); a month's file is far smaller.


def payout_badge(payout: Payout) -> str:
    return badge(PAYOUT_COLOURS.get(payout.status, "#6c757d"), payout.get_status_display())


# --- Payouts ------------------------------------------------------------------------------


class PaidForm(ActionForm):
    bank_reference = forms.CharField(
        label=_("Bank reference"), max_length=100, help_text=_("The transfer's reference on the bank statement.")
    )
    error_fields = {"segregation_of_duties": NON_FIELD}


class FailedForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea({"rows": 3}))
    error_fields = {"reason_required": "reason"}


def _mark_paid(request, payout, data) -> str:
    paid = services.payout_mark_paid(payout=payout, actor=request.user, bank_reference=data["bank_reference"])
    return gettext("Payout %(payout)s is paid (%(amount)s).") % {"payout": paid, "amount": money(paid.amount)}


def _mark_failed(request, payout, data) -> str:
    failed = services.payout_mark_failed(payout=payout, actor=request.user, reason=data["reason"])
    return gettext("Payout %(payout)s failed; the statement stays owed for a later batch.") % {"payout": failed}


PAYOUT_ACTIONS = [
    ObjectAction(
        "mark_paid",
        _("Mark paid"),
        PaidForm,
        _mark_paid,
        staff_action=permissions.PAYOUT_MARK_PAID,
        available=PAYOUT_TRANSITIONS.predicate("mark_paid"),
        help_text=_("The bank paid: the statement is paid and the ledger moves the payable to the bank."),
    ),
    ObjectAction(
        "mark_failed",
        _("Mark failed"),
        FailedForm,
        _mark_failed,
        staff_action=permissions.PAYOUT_MARK_FAILED,
        available=PAYOUT_TRANSITIONS.predicate("mark_failed"),
        help_text=_("The bank refused: the statement stays approved and owed."),
    ),
]


@admin.register(Payout)
class PayoutAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = [
        "reference",
        "batch",
        "merchant",
        "period",
        "amount_display",
        "status_badge",
        "bank_reference",
        "marked_at",
    ]
    list_filter = ["status"]
    list_select_related = ["batch", "statement__merchant"]
    search_fields = ["reference", "bank_reference", "batch__reference", "statement__merchant__company_name"]
    readonly_fields = ["status_badge", "merchant", "period"]
    object_actions = PAYOUT_ACTIONS

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, payout):
        return payout_badge(payout)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, payout):
        return money(payout.amount)

    @admin.display(description=_("merchant"))
    def merchant(self, payout):
        return payout.statement.merchant

    @admin.display(description=_("period"))
    def period(self, payout):
        return payout.statement.period

    def action_summary(self, request, payout):
        return [
            (gettext("Merchant"), str(payout.statement.merchant)),
            (gettext("Statement"), str(payout.statement)),
            (gettext("Amount"), money(payout.amount)),
            (gettext("Batch"), str(payout.batch)),
        ]


# --- Batches ------------------------------------------------------------------------------


class ResultsForm(ActionForm):
    file = forms.FileField(
        label=_("Bank result file (CSV)"),
        help_text=_(
            "Columns: reference, status (paid or failed), bank_reference, reason. Nothing is applied if any row is wrong."
        ),
    )

    # A file the service cannot read (marketplace.csvfiles) is refused on the file field.
    error_fields = dict.fromkeys(FILE_ERRORS, "file")

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > services.RESULT_MAX_BYTES:
            # Refused before reading it into memory.
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; split it into smaller files.")
                % {"mb": services.RESULT_MAX_BYTES // (1024 * 1024)}
            )
        return uploaded.read()


def _export(request, batch, data) -> HttpResponse:
    content = services.payout_batch_csv(batch=batch, actor=request.user)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.reference}.csv"'
    return response


def _import_results(request, batch, data) -> str:
    result = services.payout_results_import(batch=batch, actor=request.user, data=data["file"])
    if result.errors:
        raise forms.ValidationError([*result.errors, gettext("Nothing was applied.")])
    return gettext("%(count)d payout(s) marked from the bank's file.") % {"count": result.applied}


BATCH_ACTIONS = [
    ObjectAction(
        "export",
        _("Export CSV for the bank"),
        ConfirmForm,
        _export,
        staff_action=permissions.PAYOUT_BATCH_EXPORT,
        help_text=_("The file holds full bank account numbers; the export is recorded in the audit log."),
    ),
    ObjectAction(
        "results",
        _("Upload the bank's results"),
        ResultsForm,
        _import_results,
        staff_action=permissions.PAYOUT_RESULTS_IMPORT,
        available=lambda batch: batch.pending_count > 0,
        multipart=True,
    ),
]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ObjectActionsMixin, CreateOnlyAdmin):
    """Created here (the add page calls the service); otherwise read-only."""

    list_display = [
        "reference",
        "payout_count",
        "total_display",
        "pending_count",
        "created_by",
        "created_at",
        "exported_at",
    ]
    list_select_related = ["created_by"]
    search_fields = ["reference"]
    readonly_fields = ["payouts_table"]
    fields = ["reference", ("created_by", "created_at"), "exported_at", "payouts_table"]
    object_actions = BATCH_ACTIONS
    add_action = permissions.PAYOUT_BATCH_CREATE
    view_action = permissions.PAYOUT_BATCH_VIEW

    def get_queryset(self, request):
        return selectors.payout_batch_list()

    @admin.display(description=_("payouts"), ordering="payout_count")
    def payout_count(self, batch):
        return batch.payout_count

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, batch):
        return money(batch.total)

    @admin.display(description=_("at the bank"), ordering="pending_count")
    def pending_count(self, batch):
        return batch.pending_count

    @admin.display(description=_("payouts"))
    def payouts_table(self, batch):
        payouts = list(selectors.batch_payouts(batch))
        return table(
            [
                gettext("payout"),
                gettext("merchant"),
                gettext("period"),
                gettext("amount"),
                gettext("status"),
                gettext("bank reference / reason"),
                gettext("marked"),
                "",
            ],
            (
                (
                    link(p, p.reference),
                    p.statement.merchant,
                    link(p.statement, p.statement.period),
                    money(p.amount),
                    payout_badge(p),
                    p.bank_reference or p.failure_reason or "—",
                    format_html("{} {}", when(p.marked_at), p.marked_by or "") if p.marked_at else "—",
                    self._mark_links(p),
                )
                for p in payouts
            ),
            foot=["", "", "", money(sum((p.amount for p in payouts), 0)), "", "", "", ""],
        )

    def _mark_links(self, payout) -> str:
        # The action views check the declaration (settlements.payout_mark_paid / _failed).
        if not PAYOUT_TRANSITIONS.can("mark_paid", payout):
            return ""
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            admin_url(payout, "mark_paid"),
            gettext("mark paid"),
            admin_url(payout, "mark_failed"),
            gettext("mark failed"),
        )

    def add_view(self, request, form_url="", extra_context=None):
        """Create a batch of every approved positive statement not yet sent to the bank."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = services.payout_batch_create(actor=request.user)
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    gettext("Batch %(batch)s created with %(count)d payout(s).")
                    % {"batch": batch, "count": batch.payouts.count()},
                )
                return redirect(self.page_url("change", batch.pk))
        waiting = list(selectors.statements_to_pay())
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Create a payout batch"),
            form=form,
            submit_label=gettext("Create the batch"),
            summary=[(gettext("Statements waiting to be paid"), len(waiting))],
            preview=table(
                [gettext("statement"), gettext("merchant"), gettext("payable")],
                ((link(s, s), s.merchant, money(s.payable)) for s in waiting),
            )
            if waiting
            else "",
        )


# --- Manual adjustments -------------------------------------------------------------------


class AdjustmentForm(forms.Form):
    period = forms.CharField(
        label=_("For period"), max_length=7, help_text=_("Settled in this period's statement, e.g. 2026-10.")
    )
    amount = forms.DecimalField(
        label=_("Amount (¥)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Positive credits the merchant, negative debits."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=200, widget=forms.Textarea({"rows": 3}), help_text=_("The merchant will see it.")
    )
    error_fields = {"invalid_period": "period", "invalid_amount": "amount", "reason_required": "reason"}

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # Searched as the merchant list is (MerchantAdmin's search fields); only merchants that
        # were ever approved have statements to adjust.
        self.fields["merchant"] = forms.ModelChoiceField(
            label=_("Merchant"),
            queryset=Merchant.objects.filter(tier__isnull=False).order_by("company_name"),
            widget=AutocompleteSelect(ManualAdjustment._meta.get_field("merchant"), admin_site),
        )
        self.order_fields(["merchant", "period", "amount", "reason"])


@admin.register(ManualAdjustment)
class ManualAdjustmentAdmin(ObjectActionsMixin, CreateOnlyAdmin):
    add_action = permissions.ADJUSTMENT_CREATE
    list_display = ["created_at", "merchant", "period", "amount", "reason", "created_by", "statement"]
    list_filter = ["period"]
    list_select_related = ["merchant", "created_by", "statement"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "reason"]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AdjustmentForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                adjustment = services.adjustment_create(
                    merchant=data["merchant"],
                    period=data["period"],
                    amount=data["amount"],
                    reason=data["reason"],
                    actor=request.user,
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Adjustment of %(amount)s for %(merchant)s recorded; it is settled in the next statement.")
                    % {"amount": money(adjustment.amount), "merchant": adjustment.merchant},
                )
                return redirect(self.page_url("changelist"))
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Add a manual adjustment"),
            form=form,
            submit_label=gettext("Record the adjustment"),
            media=self.media + form.media,
        )
