"""Merchant quality (issue #15, domain.md "Merchants"): the credit rating's weights, one
rating per merchant per night with the figures it was computed from, the quarterly
evaluation with its requalification review, and the yearly renewal case.

Every row keeps the figures it was decided from, so the portal, the admin and an auditor
can recompute the score by hand; the services are the only writers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.transitions import Transitions

from .choices_quality import RenewalStatus, RequalificationStatus

PCT = {"max_digits": 5, "decimal_places": 2}
MONEY = {"max_digits": 14, "decimal_places": 2}
GRADES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]


class RatingWeights(models.Model):
    """How the credit score is made (one row, edited by operations in the admin).

    score = on-time points + return points + complaint points + review points, where
    on-time points = on-time weight × on-time rate;
    return points = return weight × (1 − return rate / `return_rate_zero_at`), never below 0;
    complaint points = complaint weight × (1 − complaint rate / `complaint_rate_zero_at`), never below 0;
    review points = review weight × (average review − 1) / 4.
    The four weights sum to 100, so a perfect merchant scores 100.
    """

    on_time_weight = models.PositiveSmallIntegerField(_("on-time shipment weight"), default=40)
    return_weight = models.PositiveSmallIntegerField(_("return rate weight"), default=20)
    complaint_weight = models.PositiveSmallIntegerField(_("complaint rate weight"), default=20)
    review_weight = models.PositiveSmallIntegerField(_("review score weight"), default=20)
    return_rate_zero_at = models.DecimalField(
        _("return rate that scores 0 (%)"), **PCT, default=20, help_text=_("At or above it the return part gives 0.")
    )
    complaint_rate_zero_at = models.DecimalField(
        _("complaint rate that scores 0 (%)"),
        **PCT,
        default=10,
        help_text=_("At or above it the complaint part gives 0."),
    )
    min_orders = models.PositiveIntegerField(
        _("fewest orders to rate"),
        default=20,
        help_text=_("With fewer paid orders in 90 days a merchant is not rated and keeps grade B."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("credit rating weights")
        verbose_name_plural = _("credit rating weights")
        constraints = [
            # The services validate first (400 with a code); these keep the row sound whoever writes.
            models.CheckConstraint(
                condition=Exact(
                    F("on_time_weight") + F("return_weight") + F("complaint_weight") + F("review_weight"), 100
                ),
                name="rating_weights_sum_100",
            ),
            models.CheckConstraint(
                condition=Q(return_rate_zero_at__gt=0, complaint_rate_zero_at__gt=0),
                name="rating_weights_zero_at_positive",
            ),
        ]

    def __str__(self):
        return str(_("Credit rating weights"))


class CreditRating(models.Model):
    """One night's credit rating of a merchant: the figures of the 90 days before `rated_on`,
    the points each gave under the weights of that night, the score and the grade.

    One row per merchant per night (unique): the history shows the trend of the score even
    when the grade does not move, the portal shows the newest row, and a second run of the
    same night finds the row and changes nothing. `score` is None when the merchant had too
    few orders to judge (`min_orders`): it then gets `UNRATED_GRADE`."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="credit_ratings"
    )
    rated_on = models.DateField(_("rated on"))
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    orders = models.PositiveIntegerField(_("paid orders"))
    shipments_due = models.PositiveIntegerField(_("orders due to ship"))
    shipped_on_time = models.PositiveIntegerField(_("shipped on time"))
    returned = models.PositiveIntegerField(_("orders returned"))
    complained = models.PositiveIntegerField(_("orders complained about"))
    reviews = models.PositiveIntegerField(_("reviews"))
    review_average = models.DecimalField(_("average review"), max_digits=3, decimal_places=2, null=True, blank=True)
    on_time_rate = models.DecimalField(_("on-time shipment rate (%)"), **PCT)
    return_rate = models.DecimalField(_("return rate (%)"), **PCT)
    complaint_rate = models.DecimalField(_("complaint rate (%)"), **PCT)
    on_time_points = models.DecimalField(_("on-time points"), **PCT, null=True, blank=True)
    return_points = models.DecimalField(_("return points"), **PCT, null=True, blank=True)
    complaint_points = models.DecimalField(_("complaint points"), **PCT, null=True, blank=True)
    review_points = models.DecimalField(_("review points"), **PCT, null=True, blank=True)
    score = models.DecimalField(_("score"), **PCT, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, choices=GRADES)
    previous_grade = models.CharField(_("grade before"), max_length=1, choices=GRADES)
    #: The weights row as it was that night, so an old score can be recomputed after an edit.
    weights = models.JSONField(_("weights used"), default=dict)
    created_at = models.DateTimeField(_("computed"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit rating")
        verbose_name_plural = _("credit ratings")
        ordering = ["-rated_on", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "rated_on"], name="credit_rating_one_per_merchant_night")
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.rated_on}: {self.grade}"

    @property
    def grade_changed(self) -> bool:
        return self.grade != self.previous_grade


class QuarterlyEvaluation(models.Model):
    """A merchant's evaluation for one quarter: on-time delivery and quality pass rates of
    the orders paid in the quarter, and their mean as the score. One per merchant and
    quarter (unique), so the job at quarter start may run twice."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="evaluations"
    )
    quarter = models.CharField(_("quarter"), max_length=7, db_index=True)  # "2026Q3"
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until (excluded)"))
    orders = models.PositiveIntegerField(_("paid orders"))
    shipments_due = models.PositiveIntegerField(_("orders due to ship"))
    shipped_on_time = models.PositiveIntegerField(_("shipped on time"))
    quality_passed = models.PositiveIntegerField(_("orders without a quality failure"))
    on_time_rate = models.DecimalField(_("on-time delivery rate (%)"), **PCT)
    quality_pass_rate = models.DecimalField(_("quality pass rate (%)"), **PCT)
    score = models.DecimalField(_("score"), **PCT)
    created_at = models.DateTimeField(_("computed"), auto_now_add=True)

    class Meta:
        verbose_name = _("quarterly evaluation")
        verbose_name_plural = _("quarterly evaluations")
        ordering = ["-quarter", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "quarter"], name="evaluation_one_per_merchant_quarter")
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.quarter}: {self.score}"


class RequalificationReview(models.Model):
    """The review a quarterly score below 80 opens; one per evaluation, hence one per
    merchant and quarter. Reviewers decide it once: pass, pass with conditions, suspend."""

    evaluation = models.OneToOneField(
        QuarterlyEvaluation, verbose_name=_("evaluation"), on_delete=models.PROTECT, related_name="review"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="requalifications"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RequalificationStatus.choices, default=RequalificationStatus.OPEN
    )
    conditions = models.TextField(_("conditions"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("requalification review")
        verbose_name_plural = _("requalification reviews")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="conditions") | ~Q(conditions=""), name="requalification_conditions_written"
            )
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.evaluation.quarter if self.evaluation_id else ''}"


REQUALIFICATION_TRANSITIONS = Transitions(
    {
        "pass": ({RequalificationStatus.OPEN}, RequalificationStatus.PASSED),
        "conditions": ({RequalificationStatus.OPEN}, RequalificationStatus.CONDITIONS),
        "suspend": ({RequalificationStatus.OPEN}, RequalificationStatus.SUSPENDED),
    },
    error=InvalidTransition,
    refusal=_("This review is already decided."),
    extra_action=False,
)


class RenewalCase(models.Model):
    """The yearly renewal of one contract term: the figures it was judged on and the
    decision (automatic, or staff's with a reason). One per contract and end date (unique):
    the yearly job and the staff action may both run; an extended contract's new end date
    is a new term, judged again next year."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="renewals"
    )
    contract = models.ForeignKey(
        "merchants.Contract", verbose_name=_("contract"), on_delete=models.PROTECT, related_name="renewals"
    )
    contract_end_date = models.DateField(_("contract ends"))
    gmv_current = models.DecimalField(_("GMV, last 12 months"), **MONEY)
    gmv_previous = models.DecimalField(_("GMV, 12 months before"), **MONEY)
    gmv_growth = models.DecimalField(_("GMV growth (%)"), max_digits=9, decimal_places=2, null=True, blank=True)
    satisfaction = models.DecimalField(_("satisfaction"), max_digits=3, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, choices=GRADES)
    score = models.DecimalField(_("credit score"), **PCT, null=True, blank=True)
    quarterly_scores = models.JSONField(_("quarterly scores"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RenewalStatus.choices, default=RenewalStatus.PENDING)
    automatic = models.BooleanField(_("renewed automatically"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    new_end_date = models.DateField(_("new end date"), null=True, blank=True)
    created_at = models.DateTimeField(_("evaluated"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    #: Set when the contract of a case not renewed has ended and the merchant was terminated.
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["status", "score", "contract_end_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "contract_end_date"], name="renewal_one_per_contract_term")
        ]

    def __str__(self):
        return f"{self.contract_id} → {self.contract_end_date}"


RENEWAL_TRANSITIONS = Transitions(
    {
        "renew": ({RenewalStatus.PENDING}, RenewalStatus.RENEWED),
        "not_renew": ({RenewalStatus.PENDING}, RenewalStatus.NOT_RENEWED),
    },
    error=InvalidTransition,
    refusal=_("This renewal is already decided."),
    extra_action=False,
)
