"""Merchant quality in the admin (issue #15): the credit rating's weights (operations edit
them through `rating_weights_update`), the ratings' history and the quarterly evaluations
(read-only, filterable), the requalification reviews reviewers decide, and the renewal
queue, weakest merchants first, where operations renew or not.

Every change is a service call; the permissions come from `risk.permissions_quality`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ServiceEditAdmin,
    form_error,
    money,
)
from marketplace.errors import DomainError

from .. import permissions_quality as permissions
from .. import services
from ..choices_quality import RenewalStatus
from ..defaults_quality import RENEWAL_NOTICE_DAYS
from ..models import (
    RENEWAL_TRANSITIONS,
    REQUALIFICATION_TRANSITIONS,
    CreditRating,
    QuarterlyEvaluation,
    RatingWeights,
    RenewalCase,
    RequalificationReview,
)
from ..services.quality import WEIGHTS_FIELDS

# --- Weights --------------------------------------------------------------------------------


class RatingWeightsForm(forms.ModelForm):
    error_fields = {
        "weights_sum_not_100": "on_time_weight",
        "weights_negative": "on_time_weight",
        "weights_invalid": "on_time_weight",
        "invalid_zero_at": "return_rate_zero_at",
        "invalid_min_orders": "min_orders",
    }

    class Meta:
        model = RatingWeights
        fields = list(WEIGHTS_FIELDS)


@admin.register(RatingWeights)
class RatingWeightsAdmin(ServiceEditAdmin, admin.ModelAdmin):
    """The one weights row; its formula is the model's docstring (shown to merchants too)."""

    form = RatingWeightsForm
    list_display = [
        "__str__",
        "on_time_weight",
        "return_weight",
        "complaint_weight",
        "review_weight",
        "return_rate_zero_at",
        "complaint_rate_zero_at",
        "min_orders",
        "updated_at",
    ]

    def update(self, request, obj, changes):
        # Validate the whole row (the four weights must add up), not only the changed fields.
        services.rating_weights_update(
            actor=request.user, changes={field: getattr(obj, field) for field in WEIGHTS_FIELDS}
        )

    def create(self, request, fields):
        raise DomainError("weights_single_row", gettext("There is one weights row: edit it."))

    def delete(self, request, objs):
        raise DomainError("weights_single_row", gettext("There is one weights row: edit it."))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- History ----------------------------------------------------------------------------------


@admin.register(CreditRating)
class CreditRatingAdmin(ReadOnlyAdmin):
    list_display = [
        "rated_on",
        "merchant",
        "score",
        "grade",
        "previous_grade",
        "orders",
        "on_time_rate",
        "return_rate",
        "complaint_rate",
        "review_average",
    ]
    list_filter = ["grade", "previous_grade", "rated_on"]
    date_hierarchy = "rated_on"
    list_select_related = ["merchant"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]


@admin.register(QuarterlyEvaluation)
class QuarterlyEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["quarter", "merchant", "score", "on_time_rate", "quality_pass_rate", "orders"]
    list_filter = ["quarter"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]


# --- Requalification reviews ------------------------------------------------------------------


class RequalificationForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea({"rows": 3}))
    error_fields = {"reason_required": "reason"}


class ConditionsForm(RequalificationForm):
    conditions = forms.CharField(
        label=_("Conditions"), widget=forms.Textarea({"rows": 3}), help_text=_("What the merchant must do, by when.")
    )
    error_fields = {"reason_required": "reason", "conditions_required": "conditions"}


def _decide(outcome: str, message):
    def perform(request, review, data) -> str:
        services.requalification_decide(
            review=review,
            actor=request.user,
            outcome=outcome,
            reason=data["reason"],
            conditions=data.get("conditions", ""),
        )
        return str(message)

    return perform


REQUALIFICATION_ACTIONS = [
    ObjectAction(
        "pass",
        _("Pass"),
        RequalificationForm,
        _decide("pass", _("The merchant passed the requalification.")),
        staff_action=permissions.REQUALIFICATION_DECIDE,
        available=REQUALIFICATION_TRANSITIONS.predicate("pass"),
    ),
    ObjectAction(
        "conditions",
        _("Pass with conditions"),
        ConditionsForm,
        _decide("conditions", _("The merchant passed with conditions.")),
        staff_action=permissions.REQUALIFICATION_DECIDE,
        available=REQUALIFICATION_TRANSITIONS.predicate("conditions"),
    ),
    ObjectAction(
        "suspend",
        _("Suspend"),
        RequalificationForm,
        _decide("suspend", _("The merchant is suspended.")),
        staff_action=permissions.REQUALIFICATION_DECIDE,
        available=REQUALIFICATION_TRANSITIONS.predicate("suspend"),
        help_text=_("The shop goes offline (the merchants' suspension); it can be reinstated later."),
    ),
]


@admin.register(RequalificationReview)
class RequalificationReviewAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    view_action = permissions.REQUALIFICATION_VIEW
    object_actions = REQUALIFICATION_ACTIONS
    list_display = ["merchant", "quarter", "score", "status", "opened_at", "decided_by", "decided_at"]
    list_filter = ["status", "evaluation__quarter"]
    list_select_related = ["merchant", "evaluation", "decided_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]

    @admin.display(description=_("quarter"), ordering="evaluation__quarter")
    def quarter(self, review):
        return review.evaluation.quarter

    @admin.display(description=_("score"), ordering="evaluation__score")
    def score(self, review):
        return review.evaluation.score


# --- Renewals -------------------------------------------------------------------------------


class RenewalForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea({"rows": 3}))
    error_fields = {"reason_required": "reason"}


def _renew(request, case, data) -> str:
    decided = services.renewal_decide(case=case, actor=request.user, renew=True, reason=data["reason"])
    return gettext("Renewed: the contract now ends on %(date)s.") % {"date": decided.new_end_date}


def _not_renew(request, case, data) -> str:
    services.renewal_decide(case=case, actor=request.user, renew=False, reason=data["reason"])
    return gettext("Not renewed: the contract ends on %(date)s.") % {"date": case.contract_end_date}


RENEWAL_ACTIONS = [
    ObjectAction(
        "renew",
        _("Renew"),
        RenewalForm,
        _renew,
        staff_action=permissions.RENEWAL_DECIDE,
        available=RENEWAL_TRANSITIONS.predicate("renew"),
        help_text=_("The contract is extended by its term."),
    ),
    ObjectAction(
        "not_renew",
        _("Do not renew"),
        RenewalForm,
        _not_renew,
        staff_action=permissions.RENEWAL_DECIDE,
        available=RENEWAL_TRANSITIONS.predicate("not_renew"),
        help_text=_("The contract ends at its end date and the merchant is then terminated."),
    ),
]


class EvaluateForm(forms.Form):
    days = forms.IntegerField(
        label=_("Contracts ending within (days)"), min_value=1, max_value=366, initial=RENEWAL_NOTICE_DAYS
    )


@admin.register(RenewalCase)
class RenewalCaseAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """The renewal queue: pending cases first, weakest merchant first (lowest credit score,
    then lowest GMV growth), with the figures staff decide on."""

    view_action = permissions.RENEWAL_VIEW
    object_actions = RENEWAL_ACTIONS
    list_display = [
        "merchant",
        "contract_end_date",
        "score",
        "grade",
        "growth",
        "satisfaction",
        "quarters",
        "status",
        "automatic",
        "decided_by",
    ]
    list_filter = ["status", "automatic", "grade"]
    list_select_related = ["merchant", "contract", "decided_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]
    readonly_fields = ["contract_link", "gmv"]
    change_list_template = "admin/risk/renewalcase/change_list.html"

    def get_ordering(self, request):
        return [
            "status",
            F("score").asc(nulls_last=True),
            F("gmv_growth").asc(nulls_first=True),
            "contract_end_date",
            "pk",
        ]

    @admin.display(description=_("GMV growth (%)"), ordering="gmv_growth")
    def growth(self, case):
        return "—" if case.gmv_growth is None else case.gmv_growth

    @admin.display(description=_("quarterly scores"))
    def quarters(self, case):
        return ", ".join(f"{row['quarter']}: {row['score']}" for row in case.quarterly_scores) or "—"

    @admin.display(description=_("contract"))
    def contract_link(self, case):
        contract = case.contract
        return f"{contract.number} ({contract.start_date} → {contract.end_date})"

    @admin.display(description=_("GMV"))
    def gmv(self, case):
        return f"{money(case.gmv_previous)} → {money(case.gmv_current)}"

    def page_urls(self):
        return [self.staff_page("evaluate/", self.evaluate_view, "evaluate", permissions.RENEWAL_EVALUATE)]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_evaluate": permissions.RENEWAL_EVALUATE.allows(request.user)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def evaluate_view(self, request):
        form = EvaluateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.renewals_evaluate_due(days=form.cleaned_data["days"])
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("%(done)s contracts judged, %(skipped)s already judged, %(failed)s failed.")
                    % {"done": run.done, "skipped": run.skipped, "failed": run.failed},
                )
                return redirect(self.page_url("changelist") + f"?status__exact={RenewalStatus.PENDING}")
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Judge the contracts ending soon"),
            form=form,
            submit_label=gettext("Judge them now"),
            help_text=gettext(
                "Contracts with GMV growth of at least 15 % and satisfaction of at least 4.8 are renewed; "
                "the others wait here for a decision."
            ),
        )
