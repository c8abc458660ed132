"""The action buttons of the merchant page: for each, a confirmation form and the one
service it calls.

Who may use each action is its declaration in `merchants.permissions` (the applications API
uses the same ones). Each action's `available` only decides whether its button shows: the
service is the authority, and re-checks under lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from marketplace.admin_tools import ActionForm, ConfirmForm, ObjectAction
from marketplace.jobs import enqueue_on_commit
from marketplace.money import format_cny
from marketplace.regions import Region

from .. import permissions, selectors, services
from ..choices import ACTIVE_MERCHANT_STATES, DEPOSIT_PAYABLE_STATES, ContractStatus, CooperationMode, MerchantStatus
from ..models import TRANSITIONS, Merchant, Tier
from ..tasks import LEDGER_POST_TASK

# --- Action forms --------------------------------------------------------------------


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("The merchant will see it.")
    )
    error_fields = {"reason_required": "reason"}


class TierChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({format_cny(obj.deposit_amount)})"


class ApproveForm(ActionForm):
    tier = TierChoiceField(label=_("Tier"), queryset=Tier.objects.none(), widget=forms.RadioSelect, empty_label=None)
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    exclusive = forms.BooleanField(label=_("Exclusive contract"), required=False)
    settlement_days = forms.IntegerField(
        label=_("Settlement cycle (T + days)"),
        required=False,
        min_value=1,
        max_value=90,
        help_text=_("Empty for the default cycle."),
    )
    contract_years = forms.IntegerField(
        label=_("Contract years"),
        required=False,
        min_value=1,
        max_value=10,
        help_text=_("Empty for the tier's minimum or the default term."),
    )
    error_fields = {
        "revenue_share_rate_required": "revenue_share_rate",
        "invalid_revenue_share_rate": "revenue_share_rate",
        "franchise_fee_required": "franchise_fee",
        "strategic_contract_too_short": "contract_years",
    }

    def __init__(self, *args, obj: Merchant, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["tier"].queryset = selectors.tier_list()
        self.fields["tier"].initial = obj.requested_tier_id
        # Only the term the merchant's cooperation mode needs is asked for.
        if obj.cooperation_mode == CooperationMode.JOINT_OPERATION:
            self.fields["revenue_share_rate"] = forms.DecimalField(
                label=_("Revenue-share rate"),
                max_digits=5,
                decimal_places=4,
                validators=[MinValueValidator(0), MaxValueValidator(1)],
                help_text=_("Fraction of sales, replacing the category commission: 0.1200 = 12 %."),
            )
        elif obj.cooperation_mode == CooperationMode.FRANCHISE:
            self.fields["franchise_fee"] = forms.DecimalField(
                label=_("Yearly franchise fee (¥)"), max_digits=14, decimal_places=2, min_value=0
            )


class ChangeTierForm(ActionForm):
    tier = TierChoiceField(
        label=_("New tier"), queryset=Tier.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The merchant will see it.")
    )
    error_fields = {"reason_required": "reason", "same_tier": "tier"}

    def __init__(self, *args, obj: Merchant, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["tier"].queryset = selectors.tier_list()


class AmountField(forms.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(label=_("Amount (¥)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), **kwargs)


class DepositPaymentForm(ActionForm):
    amount = AmountField()
    reference = forms.CharField(
        label=_("Bank reference"), max_length=100, help_text=_("The bank transfer's reference, as on the statement.")
    )
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    error_fields = {"invalid_amount": "amount", "reference_required": "reference", "reference_reused": "reference"}


class DepositDeductForm(ActionForm):
    amount = AmountField()
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The merchant will see it.")
    )
    reference = forms.CharField(
        label=_("Reference"), max_length=100, help_text=_("The case, complaint or order this compensates.")
    )
    error_fields = {
        "invalid_amount": "amount",
        "insufficient_deposit": "amount",
        "reason_required": "reason",
        "reference_reused": "reference",
    }


class DepositRefundForm(ActionForm):
    reference = forms.CharField(
        label=_("Bank reference"), max_length=100, help_text=_("The reference of the outgoing bank transfer.")
    )
    error_fields = {"reference_reused": "reference"}


class CategoryGrantsForm(ActionForm):
    categories = forms.TypedMultipleChoiceField(
        label=_("Categories"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    error_fields = {"unknown_categories": "categories"}

    def __init__(self, *args, obj: Merchant, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        granted = set(catalog_selectors.granted_categories(obj).values_list("pk", flat=True))
        active = set(catalog_selectors.category_list().values_list("pk", flat=True))
        # An inactive category stays listed while granted, so saving does not drop it unseen.
        self.fields["categories"].choices = [
            (pk, label)
            for pk, label in catalog_selectors.category_choices(active_only=False)
            if pk in active or pk in granted
        ]
        self.fields["categories"].initial = sorted(granted)


class AmendmentForm(ActionForm):
    """New terms for the merchant's accepted contract; an empty field keeps the current term."""

    categories = forms.TypedMultipleChoiceField(
        label=_("Category scope"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    change_categories = forms.BooleanField(label=_("Change the category scope"), required=False)
    sales_regions = forms.MultipleChoiceField(
        label=_("Sales regions"),
        choices=Region.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked keeps the current regions."),
    )
    settlement_days = forms.IntegerField(
        label=_("Settlement cycle (T + days)"), required=False, min_value=1, max_value=90
    )
    tier = TierChoiceField(label=_("Tier"), queryset=Tier.objects.none(), required=False, empty_label=_("Keep"))
    end_date = forms.DateField(label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ladder_steps = forms.JSONField(
        label=_("Ladder steps"),
        required=False,
        help_text=_('Ladder contracts only, e.g. [{"min_net_sales": "1000000.00", "points": "1"}].'),
    )
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The merchant will see it.")
    )
    error_fields = {
        "reason_required": "reason",
        "invalid_ladder_steps": "ladder_steps",
        "ladder_not_applicable": "ladder_steps",
        "strategic_contract_too_short": "end_date",
    }

    def __init__(self, *args, obj: Merchant, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["tier"].queryset = selectors.tier_list()
        self.fields["categories"].choices = catalog_selectors.category_choices(active_only=False)
        contract = selectors.current_contract(obj)
        if contract is not None:
            self.fields["categories"].initial = list(contract.category_ids)

    @staticmethod
    def terms(data: dict) -> dict:
        """The service's terms from the cleaned data (None keeps the contract's)."""
        return {
            "category_ids": data["categories"] if data["change_categories"] else None,
            "sales_regions": data["sales_regions"] or None,
            "settlement_days": data["settlement_days"],
            "tier": data["tier"],
            "end_date": data["end_date"],
            "ladder_steps": data["ladder_steps"],
        }


# --- Actions -------------------------------------------------------------------------


def _deposit_summary(merchant: Merchant) -> str:
    return gettext("Deposit: balance %(balance)s, required %(required)s, shortfall %(shortfall)s.") % {
        "balance": format_cny(selectors.deposit_balance(merchant)),
        "required": format_cny(selectors.deposit_required(merchant)),
        "shortfall": format_cny(selectors.deposit_shortfall(merchant)),
    }


def _status_message(merchant: Merchant) -> str:
    return gettext("“%(merchant)s” is now “%(status)s”.") % {
        "merchant": merchant,
        "status": merchant.get_status_display(),
    }


def _start_review(request, merchant, data) -> str:
    return _status_message(services.application_start_review(merchant=merchant, actor=request.user))


def _approve(request, merchant, data) -> str:
    approval = catalog_services.merchant_approve_with_grants(
        merchant=merchant,
        actor=request.user,
        tier=data["tier"],
        reason=data["reason"],
        revenue_share_rate=data.get("revenue_share_rate"),
        franchise_fee=data.get("franchise_fee"),
        exclusive=data["exclusive"],
        settlement_days=data["settlement_days"],
        contract_years=data["contract_years"],
    )
    approved = approval.merchant
    contract = selectors.current_contract(approved)
    return gettext(
        "“%(merchant)s” is approved in tier “%(tier)s”. Contract %(number)s is offered; %(count)d categories granted."
    ) % {
        "merchant": approved,
        "tier": approved.tier,
        "number": contract.number,
        "count": len(approval.granted_category_ids),
    }


def _reject(request, merchant, data) -> str:
    return _status_message(services.application_reject(merchant=merchant, actor=request.user, reason=data["reason"]))


def _request_changes(request, merchant, data) -> str:
    return _status_message(
        services.application_request_changes(merchant=merchant, actor=request.user, reason=data["reason"])
    )


def _suspend(request, merchant, data) -> str:
    return _status_message(services.merchant_suspend(merchant=merchant, actor=request.user, reason=data["reason"]))


def _reinstate(request, merchant, data) -> str:
    return _status_message(services.merchant_reinstate(merchant=merchant, actor=request.user, reason=data["reason"]))


def _terminate(request, merchant, data) -> str:
    terminated = services.merchant_terminate(merchant=merchant, actor=request.user, reason=data["reason"])
    return gettext("“%(merchant)s” is terminated. The deposit refund is due on %(date)s.") % {
        "merchant": terminated,
        "date": terminated.deposit_refund_due_on.isoformat(),
    }


def _change_tier(request, merchant, data) -> str:
    changed = services.merchant_change_tier(
        merchant=merchant, actor=request.user, tier=data["tier"], reason=data["reason"]
    )
    return gettext("“%(merchant)s” is now in tier “%(tier)s”.") % {"merchant": changed, "tier": changed.tier} + (
        " " + _deposit_summary(changed)
    )


def _record_payment(request, merchant, data) -> str:
    entry = services.deposit_record_payment(
        merchant=merchant, actor=request.user, amount=data["amount"], reference=data["reference"], reason=data["reason"]
    )
    enqueue_on_commit(LEDGER_POST_TASK)  # the movement's journal entry, posted by settlements
    return gettext("Recorded %(amount)s (%(reference)s).") % {
        "amount": format_cny(entry.amount),
        "reference": entry.reference,
    } + (" " + _deposit_summary(merchant))


def _deduct(request, merchant, data) -> str:
    entry = services.deposit_deduct(
        merchant=merchant, actor=request.user, amount=data["amount"], reason=data["reason"], reference=data["reference"]
    )
    enqueue_on_commit(LEDGER_POST_TASK)  # the movement's journal entry, posted by settlements
    return gettext("Deducted %(amount)s.") % {"amount": format_cny(-entry.amount)} + (" " + _deposit_summary(merchant))


def _refund(request, merchant, data) -> str:
    entry = services.deposit_refund(merchant=merchant, actor=request.user, reference=data["reference"])
    enqueue_on_commit(LEDGER_POST_TASK)  # the movement's journal entry, posted by settlements
    return gettext("Refunded %(amount)s (%(reference)s).") % {
        "amount": format_cny(-entry.amount),
        "reference": entry.reference,
    } + (" " + _deposit_summary(merchant))


def _set_grants(request, merchant, data) -> str:
    # One transaction: the contract's scope moves with the grants, so the portal never shows
    # a scope the merchant no longer has (or lacks one it has).
    with transaction.atomic():
        ids = catalog_services.category_grants_set(
            merchant=merchant, category_ids=data["categories"], actor=request.user
        )
        services.contract_scope_set(merchant=merchant, actor=request.user, category_ids=ids)
    return gettext("“%(merchant)s” may sell in %(count)d categories.") % {"merchant": merchant, "count": len(ids)}


def _propose_amendment(request, merchant, data) -> str:
    contract = selectors.current_contract(merchant)
    if contract is None:
        raise forms.ValidationError(gettext("The merchant has no contract to amend."))
    amendment = services.amendment_propose(
        contract=contract, actor=request.user, reason=data["reason"], **AmendmentForm.terms(data)
    )
    return gettext("The amendment of contract %(number)s is proposed; it applies once the merchant accepts it.") % {
        "number": amendment.contract.number
    }


def _has_accepted_contract(merchant: Merchant) -> bool:
    contract = selectors.current_contract(merchant)
    return (
        merchant.status in ACTIVE_MERCHANT_STATES
        and contract is not None
        and contract.status == ContractStatus.ACCEPTED
    )


def _has_deposit(merchant: Merchant) -> bool:
    return selectors.deposit_balance(merchant) > 0


@dataclass(frozen=True)
class MerchantAction(ObjectAction):
    """An action of the merchant page. Its page may show the tiers and the deposit figures
    the reviewer decides on."""

    shows_tiers: bool = False
    shows_deposit: bool = False


MERCHANT_ACTIONS = [
    MerchantAction(
        "start_review",
        _("Start review"),
        ConfirmForm,
        _start_review,
        TRANSITIONS.predicate("start_review"),
        permissions.APPLICATION_START_REVIEW,
    ),
    MerchantAction(
        "approve",
        _("Approve"),
        ApproveForm,
        _approve,
        TRANSITIONS.predicate("approve"),
        permissions.APPLICATION_APPROVE,
        help_text=_("Approval offers the contract and grants the requested categories."),
        shows_tiers=True,
    ),
    MerchantAction(
        "reject", _("Reject"), ReasonForm, _reject, TRANSITIONS.predicate("reject"), permissions.APPLICATION_REJECT
    ),
    MerchantAction(
        "request_changes",
        _("Request changes"),
        ReasonForm,
        _request_changes,
        TRANSITIONS.predicate("request_changes"),
        permissions.APPLICATION_REQUEST_CHANGES,
    ),
    MerchantAction(
        "suspend", _("Suspend"), ReasonForm, _suspend, TRANSITIONS.predicate("suspend"), permissions.MERCHANT_SUSPEND
    ),
    MerchantAction(
        "reinstate",
        _("Reinstate"),
        ReasonForm,
        _reinstate,
        TRANSITIONS.predicate("reinstate"),
        permissions.MERCHANT_REINSTATE,
    ),
    MerchantAction(
        "terminate",
        _("Terminate"),
        ReasonForm,
        _terminate,
        TRANSITIONS.predicate("terminate"),
        permissions.MERCHANT_TERMINATE,
        help_text=_("The cooperation ends; the deposit is refunded within 30 working days."),
    ),
    MerchantAction(
        "change_tier",
        _("Change tier"),
        ChangeTierForm,
        _change_tier,
        lambda m: m.status in ACTIVE_MERCHANT_STATES,
        permissions.MERCHANT_CHANGE_TIER,
        shows_tiers=True,
        shows_deposit=True,
    ),
    MerchantAction(
        "record_deposit",
        _("Record deposit payment"),
        DepositPaymentForm,
        _record_payment,
        lambda m: m.status in DEPOSIT_PAYABLE_STATES,
        permissions.DEPOSIT_RECORD_PAYMENT,
        help_text=_("Record a bank transfer received for the deposit."),
        shows_deposit=True,
    ),
    MerchantAction(
        "deduct_deposit",
        _("Deduct from deposit"),
        DepositDeductForm,
        _deduct,
        _has_deposit,
        permissions.DEPOSIT_DEDUCT,
        shows_deposit=True,
    ),
    MerchantAction(
        "refund_deposit",
        _("Refund deposit"),
        DepositRefundForm,
        _refund,
        lambda m: m.status == MerchantStatus.TERMINATED and _has_deposit(m),
        permissions.DEPOSIT_REFUND,
        help_text=_("The whole balance is refunded, without interest."),
        shows_deposit=True,
    ),
    MerchantAction(
        "category_grants",
        _("Edit categories"),
        CategoryGrantsForm,
        _set_grants,
        lambda m: m.tier_id is not None,
        permissions.CATEGORY_GRANTS_SET,
        help_text=_("The categories the merchant may sell in; the contract's category scope follows."),
    ),
    MerchantAction(
        "propose_amendment",
        _("Propose contract amendment"),
        AmendmentForm,
        _propose_amendment,
        _has_accepted_contract,
        permissions.AMENDMENT_PROPOSE,
        help_text=_(
            "The merchant accepts or declines it in the portal; accepted, every term applies at once and the "
            "old terms stay readable. A strategic contract runs at least 3 years."
        ),
    ),
]
