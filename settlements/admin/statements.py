"""Statements: the review list with its totals row, the read-only statement page with every
source row behind its figures, approval (one, or all drafts of a run or period), invoices,
and the reconciliation page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ConfirmForm,
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
from marketplace.errors import DomainError

from .. import permissions, selectors, services
from ..choices import LineKind, StatementStatus
from ..exports import statement_csv
from ..models import STATEMENT_TRANSITIONS, Invoice, Statement
from ..pdf import invoice_pdf, statement_pdf

STATUS_COLOURS = {
    StatementStatus.DRAFT: "#0d6efd",
    StatementStatus.APPROVED: "#20c997",
    StatementStatus.PAID: "#198754",
}
#: The drill-down lists at most this many settled orders on the page.
SETTLED_ORDERS_SHOWN = 500


def statement_badge(statement: Statement) -> str:
    return badge(STATUS_COLOURS.get(statement.status, "#6c757d"), statement.get_status_display())


def invoice_of(statement: Statement) -> Invoice | None:
    try:
        return statement.invoice
    except Invoice.DoesNotExist:
        return None


def _dispute(order) -> str:
    """The dispute holding a frozen order: the open one, else the latest."""
    disputes = sorted((r.dispute for r in order.disputed), key=lambda d: (d.status == "open", d.opened_at, d.pk))
    if not disputes:
        return "—"
    return format_html("{} ({})", link(disputes[-1]), disputes[-1].get_status_display())


def _approve(request, statement, data) -> str:
    approved = services.statement_approve(statement=statement, actor=request.user)
    return gettext("Statement %(statement)s is approved; %(payable)s is posted to the ledger.") % {
        "statement": approved,
        "payable": money(approved.payable),
    }


def _issue_invoice(request, statement, data) -> str:
    invoice = services.invoice_issue(statement=statement, actor=request.user)
    return gettext("Invoice %(number)s is issued: %(total)s.") % {
        "number": invoice.number,
        "total": money(invoice.total),
    }


STATEMENT_ACTIONS = [
    ObjectAction(
        "approve",
        _("Approve"),
        ConfirmForm,
        _approve,
        staff_action=permissions.STATEMENT_APPROVE,
        available=STATEMENT_TRANSITIONS.predicate("approve"),
        help_text=_("The statement becomes payable and its journal entry is posted."),
    ),
    ObjectAction(
        "issue_invoice",
        _("Issue invoice"),
        ConfirmForm,
        _issue_invoice,
        staff_action=permissions.INVOICE_ISSUE,
        available=lambda s: s.status != StatementStatus.DRAFT and invoice_of(s) is None,
        help_text=_("Invoices the statement's commission (less commission returned) and service fees."),
    ),
]


class ApproveAllForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, required=False, help_text=_("e.g. 2026-10"))
    run = forms.IntegerField(label=_("Run"), required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not data.get("period") and not data.get("run"):
            raise forms.ValidationError(_("Give the period (or open this page from a run)."))
        return data


class ReconciliationForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("e.g. 2026-10"))
    error_fields = {"invalid_period": "period"}


@admin.register(Statement)
class StatementAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Read-only: statements change only through approval, payouts and the run."""

    list_display = [
        "__str__",
        "period",
        "merchant",
        "status_badge",
        "payable_display",
        "run",
        "approved_by",
        "approved_at",
    ]
    list_filter = ["period", "status", ("run", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["merchant", "run", "approved_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "period"]
    object_actions = STATEMENT_ACTIONS
    view_action = permissions.STATEMENT_VIEW
    readonly_fields = [
        "status_badge",
        "lines_table",
        "settled_orders_table",
        "settled_refunds_table",
        "frozen_orders_table",
        "adjustments_table",
        "penalties_table",
        "fee_charges_table",
        "journal_table",
        "invoice_info",
        "payouts_table",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("merchant", "period"),
                    ("status_badge", "payable"),
                    ("run", "orders_completed_before"),
                    ("approved_by", "approved_at"),
                    "created_at",
                ]
            },
        ),
        (_("Statement"), {"fields": ["lines_table"]}),
        (_("Settled orders"), {"fields": ["settled_orders_table"]}),
        (_("Settled refunds"), {"fields": ["settled_refunds_table"]}),
        (_("Frozen orders"), {"fields": ["frozen_orders_table"]}),
        (_("Manual adjustments"), {"fields": ["adjustments_table"]}),
        (_("Penalties and service fees"), {"fields": ["penalties_table", "fee_charges_table"]}),
        (_("Ledger"), {"fields": ["journal_table"]}),
        (_("Invoice and payouts"), {"fields": ["invoice_info", "payouts_table"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, statement):
        return statement_badge(statement)

    @admin.display(description=_("payable"), ordering="payable")
    def payable_display(self, statement):
        return money(statement.payable)

    @admin.display(description=_("lines"))
    def lines_table(self, statement):
        lines = selectors.statement_lines(statement)
        return table(
            [gettext("line"), gettext("records"), gettext("amount")],
            ((line.get_kind_display(), line.count, money(line.amount)) for line in lines),
            foot=[gettext("Payable"), "", money(statement.payable)],
        )

    @admin.display(description=_("settled orders"))
    def settled_orders_table(self, statement):
        rows = selectors.settled_orders_for_merchant(statement.merchant, statement)  # the portal's drill-down
        count = rows.count()
        if not count:
            return "—"
        shown = table(
            [
                gettext("merchant order"),
                gettext("completed"),
                gettext("goods paid"),
                gettext("platform discounts"),
                gettext("shipping"),
                gettext("commission"),
            ],
            (
                (
                    link(order, order.number),
                    when(order.completed_at),
                    money(order.goods),
                    money(order.platform_discount),
                    money(order.shipping_fee),
                    money(-(order.commission or 0)),
                )
                for order in rows[:SETTLED_ORDERS_SHOWN]
            ),
        )
        if count <= SETTLED_ORDERS_SHOWN:
            return shown
        return format_html(
            "{}<p>{}</p>",
            shown,
            gettext("The first %(shown)d of %(count)d orders are shown.")
            % {"shown": SETTLED_ORDERS_SHOWN, "count": count},
        )

    @admin.display(description=_("settled refunds"))
    def settled_refunds_table(self, statement):
        rows = list(selectors.settled_refunds_for_merchant(statement.merchant, statement))
        if not rows:
            return "—"
        return table(
            [
                gettext("refund"),
                gettext("merchant order"),
                gettext("completed"),
                gettext("refunded"),
                gettext("shipping refunded"),
                gettext("platform discount taken back"),
                gettext("commission returned"),
            ],
            (
                (
                    link(row.refund, row.refund.reference),
                    row.refund.merchant_order.number,
                    when(row.refund.completed_at),
                    money(-row.amount),
                    money(-row.shipping_amount),
                    money(-row.discount_back),
                    money(row.commission_returned),
                )
                for row in rows
            ),
        )

    @admin.display(description=_("frozen orders"))
    def frozen_orders_table(self, statement):
        rows = list(selectors.frozen_orders_for_merchant(statement.merchant, statement))
        if not rows:
            return "—"
        return table(
            [gettext("merchant order"), gettext("amount held"), gettext("reason"), gettext("dispute")],
            (
                (
                    link(row.merchant_order, row.merchant_order.number),
                    money(row.amount),
                    row.reason,
                    _dispute(row.merchant_order),
                )
                for row in rows
            ),
        )

    @admin.display(description=_("manual adjustments"))
    def adjustments_table(self, statement):
        rows = list(selectors.adjustments_for_merchant(statement.merchant, statement))
        if not rows:
            return "—"
        return table(
            [gettext("for period"), gettext("amount"), gettext("reason"), gettext("by"), gettext("created")],
            ((a.period, money(a.amount), a.reason, a.created_by, when(a.created_at)) for a in rows),
        )

    @admin.display(description=_("penalties"))
    def penalties_table(self, statement):
        rows = list(selectors.penalties_for_merchant_statement(statement.merchant, statement))
        if not rows:
            return "—"
        return table(
            [gettext("penalty"), gettext("raised"), gettext("amount"), gettext("reason")],
            ((link(p), when(p.raised_at), money(-p.amount), p.reason) for p in rows),
        )

    @admin.display(description=_("service fee charges"))
    def fee_charges_table(self, statement):
        rows = list(selectors.fee_charges_for_merchant_statement(statement.merchant, statement))
        if not rows:
            return "—"
        return table(
            [gettext("billed on"), gettext("kind"), gettext("description"), gettext("relief"), gettext("amount")],
            ((c.billed_on, c.get_kind_display(), c.description, money(c.relief), money(-c.amount)) for c in rows),
        )

    @admin.display(description=_("journal entries"))
    def journal_table(self, statement):
        entries = list(selectors.statement_journal_entries(statement))
        if not entries:
            return "—"
        return table(
            [gettext("entry"), gettext("time"), gettext("postings (debit +, credit −)")],
            (
                (
                    link(entry, entry.key),
                    when(entry.created_at),
                    format_html_join(
                        "", "<div>{}: {}</div>", ((p.account, money(p.amount)) for p in entry.postings.all())
                    ),
                )
                for entry in entries
            ),
        )

    @admin.display(description=_("invoice"))
    def invoice_info(self, statement):
        invoice = invoice_of(statement)
        if invoice is None:
            return "—"
        return format_html(
            '{} · {} · <a href="{}">{}</a>',
            invoice.number,
            money(invoice.total),
            self.page_url("invoice_pdf", statement.pk),
            gettext("Download the PDF"),
        )

    @admin.display(description=_("payouts"))
    def payouts_table(self, statement):
        payouts = list(statement.payouts.select_related("batch").order_by("id"))
        if not payouts:
            return "—"
        return table(
            [gettext("payout"), gettext("batch"), gettext("amount"), gettext("status"), gettext("bank reference")],
            (
                (link(p, p.reference), link(p.batch), money(p.amount), p.get_status_display(), p.bank_reference or "—")
                for p in payouts
            ),
        )

    # --- The list with its totals row ----------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        user = request.user
        extra = {
            **(extra_context or {}),
            "approve_all_url": self.page_url("approve_all") if permissions.STATEMENT_APPROVE.allows(user) else None,
            "reconciliation_url": self.page_url("reconciliation") if permissions.RECONCILE.allows(user) else None,
        }
        response = super().changelist_view(request, extra_context=extra)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            totals = selectors.statement_totals(context["cl"].queryset)
            context["totals"] = table(
                [
                    gettext("statements"),
                    *(LineKind(kind).label for kind, _amount in totals["lines"]),
                    gettext("payable"),
                ],
                [[totals["count"], *(money(amount) for _kind, amount in totals["lines"]), money(totals["payable"])]],
            )
        return response

    # --- Pages ---------------------------------------------------------------------------

    def page_urls(self):
        return [
            self.staff_page("approve-all/", self.approve_all_view, "approve_all", permissions.STATEMENT_APPROVE),
            self.staff_page("reconciliation/", self.reconciliation_view, "reconciliation", permissions.RECONCILE),
            self.staff_page(
                "<path:object_id>/invoice.pdf", self.invoice_pdf_view, "invoice_pdf", permissions.INVOICE_DOWNLOAD
            ),
            # The statement as the merchant downloads it from the portal (issue #16).
            self.staff_page(
                "<int:object_id>/statement.pdf", self.statement_pdf_view, "pdf", permissions.STATEMENT_VIEW
            ),
            self.staff_page(
                "<int:object_id>/statement.csv", self.statement_csv_view, "csv", permissions.STATEMENT_VIEW
            ),
        ]

    def action_buttons(self, request, statement):
        return [
            *super().action_buttons(request, statement),
            {"label": gettext("Download the PDF"), "url": self.page_url("pdf", statement.pk)},
            {"label": gettext("Download the CSV"), "url": self.page_url("csv", statement.pk)},
        ]

    def statement_pdf_view(self, request, object_id: int):
        """The portal's statement PDF (`pdf.statement_pdf`), for finance."""
        statement = get_object_or_404(Statement.objects.select_related("merchant"), pk=object_id)
        response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="statement-{statement.period}-{statement.merchant_id}.pdf"'
        )
        return response

    def statement_csv_view(self, request, object_id: int):
        """The portal's statement CSV (`exports.statement_csv`), streamed, for finance."""
        statement = get_object_or_404(Statement.objects.select_related("merchant"), pk=object_id)
        lines = (line.encode("utf-8") for line in statement_csv(statement))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="statement-{statement.period}-{statement.merchant_id}.csv"'
        )
        return response

    def approve_all_view(self, request):
        """Approve every draft of a run or a period (`services.statement_approve_all`: each in
        its own transaction, one refusal does not undo the others)."""
        form = ApproveAllForm(request.POST if request.method == "POST" else (request.GET or None))
        drafts = None
        if form.is_bound and form.is_valid():
            drafts = selectors.statement_drafts(period=form.cleaned_data["period"], run_id=form.cleaned_data["run"])
            if request.method == "POST":
                result = services.statement_approve_all(
                    actor=request.user, period=form.cleaned_data["period"], run_id=form.cleaned_data["run"]
                )
                messages.success(
                    request,
                    gettext("%(approved)d statement(s) approved, %(skipped)d skipped (no longer to review).")
                    % {"approved": result.approved, "skipped": result.skipped},
                )
                return redirect(self.page_url("changelist") + "?status__exact=approved")
        summary = []
        if drafts is not None:
            summary = [(gettext("Statements to review"), drafts.count())]
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Approve all statements to review"),
            form=form,
            summary=summary,
            submit_label=gettext("Approve them all"),
            help_text=gettext("Each statement is approved and posted to the ledger on its own."),
        )

    def reconciliation_view(self, request):
        """Read-only: payments, refunds and the ledger compared for a period."""
        form = ReconciliationForm(request.GET or None)
        report = None
        if form.is_bound and form.is_valid():
            try:
                services.parse_period(form.cleaned_data["period"])
                report = selectors.reconcile(period=form.cleaned_data["period"])
            except DomainError as exc:
                form_error(form, exc)
        return self.render_page(
            request, "admin/settlements/reconciliation.html", gettext("Reconciliation"), form=form, report=report
        )

    def invoice_pdf_view(self, request, object_id):
        statement = self.get_object(request, unquote(object_id))
        invoice = invoice_of(statement) if statement is not None else None
        if invoice is None:
            raise Http404(gettext("This statement has no invoice."))
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "merchant", "statement", "commission", "service_fees", "total", "issued_at", "pdf"]
    list_select_related = ["merchant", "statement"]
    search_fields = ["number", "merchant__company_name", "merchant__shop_name"]
    date_hierarchy = "issued_at"
    readonly_fields = ["pdf"]

    @admin.display(description=_("PDF"))
    def pdf(self, invoice):
        return format_html('<a href="{}">{}</a>', admin_url(invoice.statement, "invoice_pdf"), gettext("download"))
