"""Staff screens of the merchants app: the review queue, the merchant page with its action
buttons, tiers, public holidays and the deposit ledger.

The merchant form is read-only: every change to a merchant goes through an action view
(`ObjectActionsMixin.action_view`, actions in `actions.py`) that calls one service, so the
transition table, the locks and the audit log apply to staff exactly as to the API.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog import selectors as catalog_selectors
from marketplace.admin_tools import (
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceEditAdmin,
    badge,
    link,
    table,
    when,
)
from marketplace.crypto import mask
from marketplace.money import format_cny
from marketplace.regions import Region

from .. import permissions, selectors, services
from ..choices import DocumentStatus, MerchantStatus
from ..models import (
    MAX_DEPOSIT,
    MIN_DEPOSIT,
    Contract,
    DepositEntry,
    Invitation,
    Merchant,
    MerchantDocument,
    MerchantMember,
    PublicHoliday,
    Tier,
)
from .actions import MERCHANT_ACTIONS, MerchantAction
from .changes import BankAccountChangeAdmin, ContractAmendmentAdmin, MerchantDocumentAdmin  # noqa: F401 (registers)

STATUS_COLOURS = {
    MerchantStatus.DRAFT: "#6c757d",
    MerchantStatus.SUBMITTED: "#0d6efd",
    MerchantStatus.UNDER_REVIEW: "#6f42c1",
    MerchantStatus.CHANGES_REQUESTED: "#fd7e14",
    MerchantStatus.REJECTED: "#dc3545",
    MerchantStatus.APPROVED: "#20c997",
    MerchantStatus.CONTRACT_SIGNED: "#20c997",
    MerchantStatus.DEPOSIT_PAID: "#20c997",
    MerchantStatus.LIVE: "#198754",
    MerchantStatus.SUSPENDED: "#ffc107",
    MerchantStatus.TERMINATED: "#343a40",
}


def _badge(merchant: Merchant) -> str:
    return badge(STATUS_COLOURS.get(merchant.status, "#6c757d"), merchant.get_status_display())


# --- Changelist filters --------------------------------------------------------------


class RequestedCategoryFilter(admin.SimpleListFilter):
    title = _("requested category")
    parameter_name = "requested_category"

    def lookups(self, request, model_admin):
        return [(str(pk), label) for pk, label in catalog_selectors.category_choices()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            category_id = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(requested_category_ids__contains=[category_id])


class ExpiringDocumentsFilter(admin.SimpleListFilter):
    title = _("documents expiring")
    parameter_name = "documents_expiring"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(has_expiring_documents=self.value() == "yes")
        return queryset


# --- Inlines -------------------------------------------------------------------------


class DocumentInline(ReadOnlyInline):
    model = MerchantDocument
    fields = ["kind", "original_name", "content_type", "size", "expires_on", "expiry", "view", "uploaded_at"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        # The same declaration as the file's download: staff who cannot open them do not see them.
        return permissions.DOCUMENT_VIEW.allows(request.user)

    def get_queryset(self, request):
        expiring = selectors.documents_expiring().filter(pk=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_expiring=Exists(expiring))

    @admin.display(description=_("expiry"))
    def expiry(self, document):
        if document.expires_on is None or not document.is_expiring:
            return ""
        if document.expires_on < timezone.localdate():
            return format_html('<strong class="mp-text-expired">{}</strong>', gettext("expired"))
        return format_html('<strong class="mp-text-expiring">{}</strong>', gettext("expires soon"))

    @admin.display(description=_("file"))
    def view(self, document):
        # Served by the portal's document view, which checks the same declaration.
        return format_html('<a href="/portal/documents/{}/" target="_blank">{}</a>', document.pk, gettext("view"))


class DepositEntryInline(ReadOnlyInline):
    model = DepositEntry
    fields = ["created_at", "kind", "amount", "reference", "reason", "created_by"]
    readonly_fields = fields


# --- Merchant ------------------------------------------------------------------------


@admin.register(Merchant)
class MerchantAdmin(ObjectActionsMixin, admin.ModelAdmin):
    """The review queue and the merchant page. Read-only: changes go through the actions."""

    object_actions = MERCHANT_ACTIONS
    view_action = permissions.MERCHANT_VIEW
    action_template = "admin/merchants/merchant/action_form.html"

    list_display = [
        "company_name",
        "shop_name",
        "status_badge",
        "requested_tier",
        "tier",
        "cooperation_mode",
        "submitted_at",
        "documents_expiring",
    ]
    list_filter = [
        "status",
        "tier",
        "requested_tier",
        "cooperation_mode",
        RequestedCategoryFilter,
        ExpiringDocumentsFilter,
    ]
    list_select_related = ["requested_tier", "tier"]
    search_fields = ["company_name", "shop_name", "social_credit_code", "owner__email"]
    # The queue: oldest submitted first (drafts, never submitted, sort last on PostgreSQL).
    ordering = ["submitted_at", "id"]
    inlines = [DocumentInline, DepositEntryInline]
    readonly_fields = [
        "status_badge",
        "requested_categories",
        "sales_regions_display",
        "legal_rep_id_masked",
        "legal_rep_id_full",
        "bank_account_masked",
        "bank_account_full",
        "current_contract",
        "deposit_balance",
        "deposit_required",
        "deposit_shortfall",
        "granted_categories",
        "changes_after_approval",
        "history",
    ]

    def get_fieldsets(self, request, obj=None):
        full = request.user.has_perm("merchants.view_bank_account")
        id_number = "legal_rep_id_full" if full else "legal_rep_id_masked"
        account = "bank_account_full" if full else "bank_account_masked"
        return [
            (
                _("Application"),
                {
                    "fields": [
                        "company_name",
                        "shop_name",
                        "social_credit_code",
                        "legal_rep_name",
                        id_number,
                        "owner",
                        ("contact_name", "contact_phone", "contact_email"),
                        "requested_categories",
                        "sales_regions_display",
                        ("cooperation_mode", "requested_tier"),
                        ("sells_manufactured_goods", "sells_third_party_brands", "is_cross_border"),
                        "description",
                        "logo",
                    ]
                },
            ),
            (_("Bank account"), {"fields": ["bank_account_name", "bank_name", account]}),
            (
                _("Status"),
                {
                    "fields": [
                        "status_badge",
                        "status_reason",
                        ("tier", "credit_grade"),
                        "slug",
                        ("created_at", "submitted_at", "decided_at"),
                        ("live_since", "terminated_at", "deposit_refund_due_on"),
                    ]
                },
            ),
            (_("Contract"), {"fields": ["current_contract"]}),
            (_("Changes after approval"), {"fields": ["changes_after_approval"]}),
            (_("Deposit"), {"fields": [("deposit_balance", "deposit_required", "deposit_shortfall")]}),
            (_("Category grants"), {"fields": ["granted_categories"]}),
            (_("History"), {"fields": ["history"]}),
        ]

    def get_queryset(self, request):
        expiring = selectors.documents_expiring().filter(merchant=OuterRef("pk"))
        return super().get_queryset(request).annotate(has_expiring_documents=Exists(expiring))

    def has_add_permission(self, request):
        return False  # applications come from the portal

    def has_change_permission(self, request, obj=None):
        return False  # the form is read-only; see the actions

    def has_delete_permission(self, request, obj=None):
        return False

    # Display columns and fields.

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, merchant):
        return _badge(merchant)

    @admin.display(description=_("documents expiring"), boolean=True, ordering="has_expiring_documents")
    def documents_expiring(self, merchant):
        return merchant.has_expiring_documents

    @admin.display(description=_("requested categories"))
    def requested_categories(self, merchant):
        return ", ".join(catalog_selectors.category_names(merchant.requested_category_ids)) or "—"

    @admin.display(description=_("sales regions"))
    def sales_regions_display(self, merchant):
        labels = dict(Region.choices)
        return ", ".join(str(labels.get(r, r)) for r in merchant.sales_regions) or "—"

    @admin.display(description=_("legal representative ID number"))
    def legal_rep_id_masked(self, merchant):
        return mask(merchant.legal_rep_id_number) or "—"

    @admin.display(description=_("legal representative ID number"))
    def legal_rep_id_full(self, merchant):
        return merchant.legal_rep_id_number or "—"

    @admin.display(description=_("bank account number"))
    def bank_account_masked(self, merchant):
        return mask(merchant.bank_account_number) or "—"

    @admin.display(description=_("bank account number"))
    def bank_account_full(self, merchant):
        return merchant.bank_account_number or "—"

    @admin.display(description=_("current contract"))
    def current_contract(self, merchant):
        contract = selectors.current_contract(merchant)
        if contract is None:
            return "—"
        meta = Contract._meta
        values = [
            ("number", contract.number),
            ("status", contract.get_status_display()),
            ("tier", contract.tier),
            ("cooperation_mode", contract.get_cooperation_mode_display()),
            ("category_ids", ", ".join(catalog_selectors.category_names(contract.category_ids))),
            ("sales_regions", ", ".join(str(dict(Region.choices).get(r, r)) for r in contract.sales_regions)),
            ("exclusive", gettext("yes") if contract.exclusive else gettext("no")),
            ("settlement_days", contract.settlement_days),
            ("commission_plan", contract.get_commission_plan_display()),
            ("revenue_share_rate", contract.revenue_share_rate if contract.revenue_share_rate is not None else "—"),
            ("franchise_fee", format_cny(contract.franchise_fee) if contract.franchise_fee is not None else "—"),
            ("start_date", contract.start_date),
            ("end_date", contract.end_date),
            ("offered_at", when(contract.offered_at)),
            ("offered_by", contract.offered_by or "—"),
            ("accepted_at", when(contract.accepted_at) if contract.accepted_at else "—"),
            ("accepted_by", contract.accepted_by or "—"),
        ]
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((capfirst(meta.get_field(f).verbose_name), v) for f, v in values)
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description=_("waiting for staff or the merchant"))
    def changes_after_approval(self, merchant):
        rows = []
        change = selectors.bank_change_pending(merchant)
        if change is not None:
            rows.append((gettext("bank account change"), link(change, change.get_status_display())))
        for renewal in selectors.document_renewal_list(merchant).filter(status=DocumentStatus.PENDING):
            rows.append((gettext("renewed document"), link(renewal, renewal.get_kind_display())))
        for amendment in selectors.amendment_open(merchant):
            rows.append((gettext("contract amendment"), link(amendment, amendment.get_status_display())))
        if not rows:
            return "—"
        return table([gettext("what"), gettext("record")], rows)

    @admin.display(description=_("balance"))
    def deposit_balance(self, merchant):
        return format_cny(selectors.deposit_balance(merchant))

    @admin.display(description=_("required"))
    def deposit_required(self, merchant):
        return format_cny(selectors.deposit_required(merchant))

    @admin.display(description=_("shortfall"))
    def deposit_shortfall(self, merchant):
        return format_cny(selectors.deposit_shortfall(merchant))

    @admin.display(description=_("granted categories"))
    def granted_categories(self, merchant):
        paths = dict(catalog_selectors.category_choices(active_only=False))
        grants = catalog_selectors.grant_list(merchant)
        if not grants:
            return "—"
        return table(
            [gettext("category"), gettext("granted by"), gettext("granted at")],
            ((paths.get(g.category_id, g.category.name), g.granted_by or "—", when(g.granted_at)) for g in grants),
        )

    @admin.display(description=_("history"))
    def history(self, merchant):
        rows = selectors.history_rows(merchant)
        if not rows:
            return "—"
        return table(
            [gettext("time"), gettext("actor"), gettext("action"), gettext("reason")],
            (
                (
                    when(row["entry"].created_at),
                    row["entry"].actor or gettext("system"),
                    row["label"],
                    row["entry"].reason,
                )
                for row in rows
            ),
        )

    # The action pages (marketplace.admin_tools.ObjectActionsMixin) show the merchant and, for
    # some actions, the tiers and deposit figures.

    def action_context(self, request, merchant, action: MerchantAction) -> dict:
        return {
            "status": _badge(merchant),
            "tiers": self._tier_rows(merchant) if action.shows_tiers else None,
            "deposit": self._deposit_figures(merchant) if action.shows_deposit else None,
        }

    def action_unavailable(self, merchant, action: MerchantAction) -> str:
        return gettext("“%(action)s” is not possible while the merchant is “%(status)s”.") % {
            "action": action.label,
            "status": merchant.get_status_display(),
        }

    def _deposit_figures(self, merchant) -> dict:
        return {
            "balance": selectors.deposit_balance(merchant),
            "required": selectors.deposit_required(merchant),
            "shortfall": selectors.deposit_shortfall(merchant),
        }

    def _tier_rows(self, merchant) -> list[dict]:
        balance = selectors.deposit_balance(merchant)
        return [
            {
                "tier": tier,
                "requested": tier.pk == merchant.requested_tier_id,
                "current": tier.pk == merchant.tier_id,
                "shortfall": max(tier.deposit_amount - balance, 0),
            }
            for tier in selectors.tier_list()
        ]


# --- Reference data and ledgers ------------------------------------------------------


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = list(services.TIER_FIELDS)

    def clean_deposit_amount(self):
        amount = self.cleaned_data["deposit_amount"]
        if amount is not None and not MIN_DEPOSIT <= amount <= MAX_DEPOSIT:
            raise forms.ValidationError(
                _("The deposit must be between %(min)s and %(max)s."),
                params={"min": format_cny(MIN_DEPOSIT), "max": format_cny(MAX_DEPOSIT)},
                code="deposit_range",
            )
        return amount


@admin.register(Tier)
class TierAdmin(ServiceEditAdmin, admin.ModelAdmin):
    form = TierForm
    list_display = ["name", "code", "deposit_amount", "commission_plan", "position"]
    readonly_fields = ["code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "deposit_amount", "commission_plan", "position"]}),
        (
            _("Entry criteria"),
            {
                "fields": [
                    "entry_criteria",
                    ("min_monthly_gmv", "min_sku_coverage_pct"),
                    ("min_annual_growth_pct", "min_contract_years"),
                ]
            },
        ),
        (_("Offer"), {"fields": ["benefits"]}),
    ]

    def has_add_permission(self, request):
        return False  # one row per TierCode, created by a migration

    def has_delete_permission(self, request, obj=None):
        return False  # merchants and contracts keep pointing at their tier

    def update(self, request, obj, changes):
        services.tier_update(tier=obj, actor=request.user, **changes)


@admin.register(PublicHoliday)
class PublicHolidayAdmin(ServiceEditAdmin, admin.ModelAdmin):
    list_display = ["date", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"

    def create(self, request, fields):
        return services.holiday_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.holiday_update(holiday=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.holidays_delete(holidays=objs, actor=request.user)


@admin.register(DepositEntry)
class DepositEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "kind", "amount", "reference", "reason", "created_by"]
    list_filter = ["kind"]
    list_select_related = ["merchant", "created_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "reference"]
    date_hierarchy = "created_at"


@admin.register(MerchantMember)
class MerchantMemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "merchant", "role", "added_at"]
    list_filter = ["role"]
    list_select_related = ["user", "merchant"]
    search_fields = ["user__email", "merchant__company_name", "merchant__shop_name"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "merchant", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    list_select_related = ["merchant", "invited_by"]
    search_fields = ["email", "merchant__company_name"]
    # The token is the invitation's secret: it stays out of the admin.
    exclude = ["token"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token"]
