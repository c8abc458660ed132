"""Penalties and service fees in the admin (issue #14).

Operations raise penalties with evidence, decide appeals and set the amounts, plans and
prices; finance deducts a standing penalty from the deposit when asked to. Every change is a
service call (the admin's defaults never write): raising and recording are add pages, the
decisions are object actions, the price rows save through `price_row_save`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ConfirmForm,
    CreateOnlyAdmin,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ServiceEditAdmin,
    form_error,
    link,
    money,
    table,
    when,
)
from marketplace.errors import DomainError
from merchants.models import Merchant

from .. import permissions, services
from ..choices import VALUE_ADDED_KINDS, PenaltyKind, PenaltyStatus
from ..models import (
    PENALTY_TRANSITIONS,
    FeeCharge,
    Penalty,
    PenaltyParameter,
    Subscription,
    SubscriptionPlan,
    TechnicalServiceFee,
    ValueAddedService,
)
from ..portal_charges import MultipleFileField

# --- Penalties ------------------------------------------------------------------------------


class PenaltyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PenaltyKind.choices)
    amount = forms.DecimalField(
        label=_("Amount (¥)"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty for the amount set for the kind (penalty parameters)."),
    )
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea({"rows": 3}), help_text=_("The merchant will see it.")
    )
    evidence = MultipleFileField(label=_("Evidence"), required=False, help_text=_("PDF, PNG or JPEG."))
    error_fields = {
        "invalid_amount": "amount",
        "reason_required": "reason",
        "invalid_penalty_kind": "kind",
        "too_many_files": "evidence",
        "file_type_not_allowed": "evidence",
        "file_too_large": "evidence",
        "file_empty": "evidence",
        "file_corrupt": "evidence",
        "image_too_large": "evidence",
    }

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"] = forms.ModelChoiceField(
            label=_("Merchant"),
            queryset=Merchant.objects.filter(tier__isnull=False).order_by("company_name"),
            widget=AutocompleteSelect(Penalty._meta.get_field("merchant"), admin_site),
        )
        self.order_fields(["merchant", "kind", "amount", "reason", "evidence"])


class DecisionForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea({"rows": 3}), help_text=_("The merchant will see it.")
    )
    error_fields = {"reason_required": "reason"}


def _uphold(request, penalty, data) -> str:
    services.penalty_decide(penalty=penalty, actor=request.user, upheld=True, reason=data["reason"])
    return gettext("The appeal is upheld: the penalty is cancelled.")


def _reject(request, penalty, data) -> str:
    services.penalty_decide(penalty=penalty, actor=request.user, upheld=False, reason=data["reason"])
    return gettext("The appeal is rejected: the penalty stands and is deducted in the next statement.")


def _deduct(request, penalty, data) -> str:
    done = services.penalty_deduct_from_deposit(penalty=penalty, actor=request.user)
    return gettext("%(amount)s is deducted from the deposit (reference %(reference)s).") % {
        "amount": money(done.amount),
        "reference": done.deposit_reference,
    }


def _deductible(penalty) -> bool:
    if penalty.statement_id or penalty.deposit_reference:
        return False
    lapsed = penalty.status == PenaltyStatus.OPEN and penalty.appeal_until <= timezone.now()
    return PENALTY_TRANSITIONS.can("deduct", penalty) or lapsed


PENALTY_ACTIONS = [
    ObjectAction(
        "uphold",
        _("Uphold the appeal"),
        DecisionForm,
        _uphold,
        staff_action=permissions.PENALTY_DECIDE,
        available=PENALTY_TRANSITIONS.predicate("uphold"),
        help_text=_("The penalty is cancelled and never deducted."),
    ),
    ObjectAction(
        "reject",
        _("Reject the appeal"),
        DecisionForm,
        _reject,
        staff_action=permissions.PENALTY_DECIDE,
        available=PENALTY_TRANSITIONS.predicate("reject"),
        help_text=_("The penalty stands: it is deducted in the next statement unless taken from the deposit."),
    ),
    ObjectAction(
        "deduct_deposit",
        _("Deduct from the deposit"),
        ConfirmForm,
        _deduct,
        staff_action=permissions.PENALTY_DEDUCT_DEPOSIT,
        available=_deductible,
        help_text=_("Takes the amount from the merchant's deposit now instead of the next statement."),
    ),
]


@admin.register(Penalty)
class PenaltyAdmin(ObjectActionsMixin, CreateOnlyAdmin):
    add_action = permissions.PENALTY_RAISE
    view_action = permissions.PENALTY_VIEW
    object_actions = PENALTY_ACTIONS
    list_display = ["__str__", "merchant", "kind", "amount", "status", "raised_at", "appeal_until", "statement"]
    list_filter = ["status", "kind"]
    list_select_related = ["merchant", "statement"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "reason"]
    readonly_fields = ["files_table"]

    @admin.display(description=_("files"))
    def files_table(self, penalty):
        rows = list(penalty.files.all())
        if not rows:
            return "—"
        return table(
            [gettext("attached to"), gettext("file"), gettext("uploaded")],
            (
                (
                    row.get_side_display(),
                    format_html('<a href="{}">{}</a>', self.page_url("file", penalty.pk, row.pk), str(row)),
                    when(row.uploaded_at),
                )
                for row in rows
            ),
        )

    def page_urls(self):
        return [
            self.staff_page("<int:penalty_id>/files/<int:file_id>/", self.file_view, "file", permissions.PENALTY_VIEW)
        ]

    def file_view(self, request, penalty_id, file_id):
        penalty = Penalty.objects.filter(pk=penalty_id).first()
        row = penalty.files.filter(pk=file_id).first() if penalty else None
        if row is None:
            raise Http404
        response = FileResponse(row.file.open("rb"), content_type=row.content_type)
        response["Content-Disposition"] = f'inline; filename="penalty-{penalty_id}-{row.pk}{row.extension}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PenaltyForm(request.POST or None, request.FILES or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                penalty = services.penalty_raise(
                    merchant=data["merchant"],
                    kind=data["kind"],
                    amount=data["amount"],
                    reason=data["reason"],
                    actor=request.user,
                    evidence=data["evidence"],
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Penalty %(penalty)s of %(amount)s raised; the merchant may appeal until %(until)s.")
                    % {"penalty": penalty, "amount": money(penalty.amount), "until": when(penalty.appeal_until)},
                )
                return redirect(self.page_url("change", penalty.pk))
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Raise a penalty"),
            form=form,
            submit_label=gettext("Raise the penalty"),
            media=self.media + form.media,
        )


class PriceRowAdmin(ServiceEditAdmin, admin.ModelAdmin):
    """Rows of amounts and prices: edited through `price_row_save` (validated, audited)."""

    def create(self, request, fields):
        return services.price_row_save(row=self.model(), actor=request.user, changes=fields)

    def update(self, request, obj, changes):
        services.price_row_save(row=obj, actor=request.user, changes=changes)

    def delete(self, request, objs):
        raise PermissionDenied

    def has_delete_permission(self, request, obj=None):
        return False  # charges and penalties keep pointing at what they were made from


@admin.register(PenaltyParameter)
class PenaltyParameterAdmin(PriceRowAdmin):
    list_display = ["kind", "amount"]
    readonly_fields = ["kind"]

    def has_add_permission(self, request):
        return False  # one row per kind, created by a migration


# --- Service fees ---------------------------------------------------------------------------


@admin.register(TechnicalServiceFee)
class TechnicalServiceFeeAdmin(PriceRowAdmin):
    list_display = ["tier", "yearly_amount"]
    readonly_fields = ["tier"]

    def has_add_permission(self, request):
        return False  # one row per tier, created by a migration


@admin.register(SubscriptionPlan)
class SubscriptionPlanAdmin(PriceRowAdmin):
    list_display = ["name", "code", "monthly_price", "yearly_price", "active", "position"]


@admin.register(ValueAddedService)
class ValueAddedServiceAdmin(PriceRowAdmin):
    list_display = ["name", "kind", "price", "active"]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            kwargs["choices"] = [(k.value, k.label) for k in VALUE_ADDED_KINDS]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "plan", "cycle", "starts_on", "ended_on", "created_by"]
    list_filter = ["plan", "cycle"]
    list_select_related = ["merchant", "plan", "created_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]


class FeeChargeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in VALUE_ADDED_KINDS])
    amount = forms.DecimalField(label=_("Amount (¥)"), max_digits=14, decimal_places=2)
    description = forms.CharField(label=_("Description"), max_length=200, help_text=_("The merchant will see it."))
    reference = forms.CharField(
        label=_("Reference"), max_length=60, help_text=_("The order or contract reference: billed once per reference.")
    )
    billed_on = forms.DateField(label=_("Billed on"), required=False, help_text=_("Today when empty."))
    error_fields = {
        "invalid_fee_kind": "kind",
        "invalid_amount": "amount",
        "description_required": "description",
        "reference_required": "reference",
        "reference_reused": "reference",
    }

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"] = forms.ModelChoiceField(
            label=_("Merchant"),
            queryset=Merchant.objects.filter(tier__isnull=False).order_by("company_name"),
            widget=AutocompleteSelect(FeeCharge._meta.get_field("merchant"), admin_site),
        )
        self.order_fields(["merchant", "kind", "amount", "description", "reference", "billed_on"])


@admin.register(FeeCharge)
class FeeChargeAdmin(ObjectActionsMixin, CreateOnlyAdmin):
    add_action = permissions.FEE_CHARGE_RECORD
    view_action = permissions.FEE_CHARGE_VIEW
    list_display = ["billed_on", "merchant", "kind", "description", "gross", "relief", "amount", "statement_link"]
    list_filter = ["kind", "billed_on"]
    list_select_related = ["merchant", "statement"]
    search_fields = ["merchant__company_name", "merchant__shop_name", "key", "description"]

    @admin.display(description=_("deducted in"))
    def statement_link(self, charge):
        if charge.statement_id:
            return link(charge.statement)
        return gettext("waived") if not charge.amount else "—"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FeeChargeForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                charge = services.fee_charge_record(actor=request.user, **data)
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("%(amount)s billed to %(merchant)s; it is deducted in the next statement.")
                    % {"amount": money(charge.amount), "merchant": charge.merchant},
                )
                return redirect(self.page_url("changelist"))
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Record a value-added service"),
            form=form,
            submit_label=gettext("Record the charge"),
            media=self.media + form.media,
        )
