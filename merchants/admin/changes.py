"""Staff screens of the merchant's own changes after approval: bank account changes (finance
verifies), renewed documents (reviewers decide) and contract amendments (operations propose
them from the merchant page; here they read them and the terms they replaced).

Read-only lists: every decision is an action (`ObjectActionsMixin`) that calls one service,
with its declaration in `merchants.permissions`.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog import selectors as catalog_selectors
from marketplace.admin_tools import ConfirmForm, ObjectAction, ObjectActionsMixin, ReadOnlyAdmin, badge, link, table
from marketplace.crypto import mask
from marketplace.regions import Region

from .. import permissions, selectors, services
from ..choices import AmendmentStatus, ChangeStatus, DocumentStatus
from ..models import (
    BANK_CHANGE_TRANSITIONS,
    DOCUMENT_TRANSITIONS,
    BankAccountChange,
    ContractAmendment,
    MerchantDocument,
)
from ..services.amendments import amendment_changes
from .actions import ReasonForm

DECISION_COLOURS = {
    ChangeStatus.PENDING: "#0d6efd",
    ChangeStatus.APPROVED: "#198754",
    ChangeStatus.REFUSED: "#dc3545",
    DocumentStatus.CURRENT: "#198754",
    DocumentStatus.REPLACED: "#6c757d",
    AmendmentStatus.PROPOSED: "#0d6efd",
    AmendmentStatus.ACCEPTED: "#198754",
    AmendmentStatus.DECLINED: "#dc3545",
}


def _status(record) -> str:
    return badge(DECISION_COLOURS.get(record.status, "#6c757d"), record.get_status_display())


# --- Bank account changes --------------------------------------------------------------


def _approve_bank(request, change, data) -> str:
    services.bank_change_approve(change=change, actor=request.user)
    return gettext("The new bank account of “%(merchant)s” is verified; payouts use it from now on.") % {
        "merchant": change.merchant
    }


def _refuse_bank(request, change, data) -> str:
    services.bank_change_refuse(change=change, actor=request.user, reason=data["reason"])
    return gettext("The bank account change of “%(merchant)s” is refused.") % {"merchant": change.merchant}


BANK_CHANGE_ACTIONS = [
    ObjectAction(
        "approve",
        _("Approve"),
        ConfirmForm,
        _approve_bank,
        BANK_CHANGE_TRANSITIONS.predicate("approve"),
        permissions.BANK_CHANGE_APPROVE,
        help_text=_("Approve only once the account is verified with the bank: the next payouts go to it."),
    ),
    ObjectAction(
        "refuse",
        _("Refuse"),
        ReasonForm,
        _refuse_bank,
        BANK_CHANGE_TRANSITIONS.predicate("refuse"),
        permissions.BANK_CHANGE_REFUSE,
    ),
]


@admin.register(BankAccountChange)
class BankAccountChangeAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Finance's queue of new payout accounts, oldest waiting first."""

    object_actions = BANK_CHANGE_ACTIONS
    view_action = permissions.BANK_CHANGE_VIEW
    list_filter = ["status"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "bank_account_name"]
    ordering = ["-status", "requested_at"]  # "pending" sorts before "approved" and "refused" descending
    readonly_fields = [
        "merchant_link",
        "status_badge",
        "number_masked",
        "number_full",
        "current_account_masked",
        "current_account_full",
    ]

    @staticmethod
    def _full(request) -> bool:
        # Masked unless the user may see full account numbers (as on the merchant page).
        return request.user.has_perm("merchants.view_bank_account")

    def get_list_display(self, request):
        number = "number_full" if self._full(request) else "number_masked"
        return ["merchant", "status_badge", "bank_account_name", "bank_name", number, "requested_at"]

    def get_fields(self, request, obj=None):
        suffix = "full" if self._full(request) else "masked"
        return [
            "merchant_link",
            "status_badge",
            "bank_account_name",
            "bank_name",
            f"number_{suffix}",
            f"current_account_{suffix}",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "reason",
        ]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, change):
        return _status(change)

    @admin.display(description=_("bank account number"))
    def number_masked(self, change):
        return mask(change.bank_account_number) or "—"

    @admin.display(description=_("bank account number"))
    def number_full(self, change):
        return change.bank_account_number or "—"

    @admin.display(description=_("current account"))
    def current_account_masked(self, change):
        merchant = change.merchant
        return f"{merchant.bank_account_name} · {merchant.bank_name} · {mask(merchant.bank_account_number) or '—'}"

    @admin.display(description=_("current account"))
    def current_account_full(self, change):
        merchant = change.merchant
        return f"{merchant.bank_account_name} · {merchant.bank_name} · {merchant.bank_account_number or '—'}"

    @admin.display(description=_("merchant"))
    def merchant_link(self, change):
        return link(change.merchant)


# --- Renewed documents -----------------------------------------------------------------


def _accept_renewal(request, document, data) -> str:
    services.document_renewal_accept(renewal=document, actor=request.user)
    return gettext("The renewed document is accepted and replaces the previous one.")


def _refuse_renewal(request, document, data) -> str:
    services.document_renewal_refuse(renewal=document, actor=request.user, reason=data["reason"])
    return gettext("The renewed document is refused; the merchant sees the reason.")


RENEWAL_ACTIONS = [
    ObjectAction(
        "accept_renewal",
        _("Accept renewal"),
        ConfirmForm,
        _accept_renewal,
        DOCUMENT_TRANSITIONS.predicate("accept_renewal"),
        permissions.DOCUMENT_RENEWAL_ACCEPT,
        help_text=_("It becomes the current document of its kind; the previous one is kept in the history."),
    ),
    ObjectAction(
        "refuse_renewal",
        _("Refuse renewal"),
        ReasonForm,
        _refuse_renewal,
        DOCUMENT_TRANSITIONS.predicate("refuse_renewal"),
        permissions.DOCUMENT_RENEWAL_REFUSE,
    ),
]


class RenewalFilter(admin.SimpleListFilter):
    title = _("renewal")
    parameter_name = "renewal"

    def lookups(self, request, model_admin):
        return [("yes", _("Renewals")), ("no", _("Application documents"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(renews__isnull=self.value() == "no")
        return queryset


@admin.register(MerchantDocument)
class MerchantDocumentAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Qualification documents; the renewals awaiting review come first."""

    object_actions = RENEWAL_ACTIONS
    view_action = permissions.DOCUMENT_VIEW
    list_display = ["merchant", "kind", "status_badge", "expires_on", "renewal_of", "uploaded_at"]
    list_filter = ["status", RenewalFilter, "kind"]
    list_select_related = ["merchant", "renews"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]
    ordering = ["status", "uploaded_at"]  # "pending" before "replaced"; current ones first of all
    fields = [
        "merchant_link",
        "kind",
        "status_badge",
        "file_link",
        "content_type",
        "size",
        "sha256",
        "expires_on",
        "renewal_of",
        "uploaded_by",
        "uploaded_at",
        "reviewed_by",
        "reviewed_at",
        "review_reason",
    ]
    readonly_fields = fields

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, document):
        return _status(document)

    @admin.display(description=_("renews"))
    def renewal_of(self, document):
        if document.renews_id is None:
            return "—"
        old = document.renews
        return gettext("%(kind)s expiring %(date)s") % {"kind": old.get_kind_display(), "date": old.expires_on or "—"}

    @admin.display(description=_("merchant"))
    def merchant_link(self, document):
        return link(document.merchant)

    @admin.display(description=_("file"))
    def file_link(self, document):
        # Served by the portal's document view, which checks the same declaration.
        return format_html('<a href="/portal/documents/{}/" target="_blank">{}</a>', document.pk, gettext("view"))


# --- Contract amendments ---------------------------------------------------------------


@admin.register(ContractAmendment)
class ContractAmendmentAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Amendments proposed from the merchant page (action "Propose contract amendment") and
    the merchant's decisions; the contract's earlier versions are shown on each."""

    view_action = permissions.AMENDMENT_VIEW
    list_display = ["contract", "merchant", "status_badge", "proposed_by", "proposed_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["contract", "merchant", "proposed_by"]
    search_fields = ["contract__number", "merchant__company_name", "merchant__shop_name"]
    fields = [
        "merchant_link",
        "contract",
        "status_badge",
        "changes",
        "reason",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decline_reason",
        "versions",
    ]
    readonly_fields = fields

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, amendment):
        return _status(amendment)

    @admin.display(description=_("merchant"))
    def merchant_link(self, amendment):
        return link(amendment.merchant)

    @admin.display(description=_("changes"))
    def changes(self, amendment):
        return table([gettext("term"), gettext("new value")], _term_rows(amendment_changes(amendment)))

    @admin.display(description=_("earlier versions"))
    def versions(self, amendment):
        rows = [
            (version.version, format_html("{}", _terms_text(version.terms)), version.created_at)
            for version in selectors.contract_version_list(amendment.contract)
        ]
        if not rows:
            return "—"
        return table([gettext("version"), gettext("terms"), gettext("replaced at")], rows)


TERM_LABELS = {
    "category_ids": _("category scope"),
    "sales_regions": _("sales regions"),
    "settlement_days": _("settlement cycle (T + days)"),
    "ladder_steps": _("ladder steps"),
    "tier": _("tier"),
    "commission_plan": _("commission plan"),
    "start_date": _("start date"),
    "end_date": _("end date"),
}


def _term_value(name: str, value) -> str:
    if name == "category_ids":
        return ", ".join(catalog_selectors.category_names(value)) or "—"
    if name == "sales_regions":
        labels = dict(Region.choices)
        return ", ".join(str(labels.get(r, r)) for r in value) or "—"
    if name == "ladder_steps":
        return "; ".join(f"≥ {s['min_net_sales']}: −{s['points']}" for s in value) or "—"
    return str(value)


def _term_rows(terms: dict):
    return ((TERM_LABELS.get(name, name), _term_value(name, value)) for name, value in terms.items())


def _terms_text(terms: dict) -> str:
    return "; ".join(f"{label}: {value}" for label, value in _term_rows(terms))
