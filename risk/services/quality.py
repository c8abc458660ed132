"""Merchant quality (issue #15, domain.md "Merchants"): the nightly credit rating, the
quarterly evaluation and its requalification review.

Credit rating (nightly, `credit_ratings_run`): for each live or suspended merchant, the
orders paid in the 90 days before the night (`orders.selectors.quality`) give four rates,
each turned into points by the weights row (`RatingWeights`, its docstring has the formula):

- on-time shipment rate = shipped by the deadline (paid + `PROMISED_SHIPPING_HOURS`) / orders
  due to ship (shipped, or past the deadline unshipped and not cancelled); none due: 100 %;
- return rate = orders with an accepted return / paid orders;
- complaint rate = orders with a complaint / paid orders;
- average review = mean rating of the reviews written in the window; none: a neutral 4.00.

Rates are percentages rounded to 0.01 and the points are computed from the rounded rates and
rounded to 0.01 each (`marketplace.money.quantize`, half up), so the figures the portal shows
add up to the score exactly. Grade: A ≥ 90, B ≥ 80, C ≥ 60, D below. A merchant with fewer
paid orders than `min_orders` is not scored and gets grade B, the grade every merchant starts
with. A grade change goes through `merchants.services.merchant_set_credit_grade` (audited,
`credit_grade_changed` sent), so orders placed after it are priced with the new grade.

Guarantees of the jobs: one row per merchant per night / quarter (unique keys; the second
run of a night finds the row and does nothing); each merchant in its own transaction
(`marketplace.jobs.run_each`: a failure is recorded and the others go on).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.jobs import JobRun, run_each
from marketplace.money import ZERO, quantize
from marketplace.transitions import transition
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from orders.selectors.quality import merchant_order_quality, merchant_review_figures

from ..choices_quality import RequalificationStatus
from ..defaults_quality import (
    EVALUATION_PASS_SCORE,
    GRADE_THRESHOLDS,
    LOWEST_GRADE,
    NO_REVIEW_AVERAGE,
    QUALITY_COMPLAINT_CATEGORIES,
    RATING_WINDOW_DAYS,
    UNRATED_GRADE,
)
from ..errors_quality import QualityError
from ..models import (
    REQUALIFICATION_TRANSITIONS,
    CreditRating,
    QuarterlyEvaluation,
    RatingWeights,
    RequalificationReview,
)
from ..signals import quarterly_evaluation_completed

HUNDRED = Decimal("100")
WEIGHT_FIELDS = ("on_time_weight", "return_weight", "complaint_weight", "review_weight")
WEIGHTS_FIELDS = (*WEIGHT_FIELDS, "return_rate_zero_at", "complaint_rate_zero_at", "min_orders")

# --- Weights ------------------------------------------------------------------------------


def rating_weights_get() -> RatingWeights:
    """The weights row (created with its defaults by the migration; again here if missing)."""
    weights, created = RatingWeights.objects.get_or_create(pk=1)
    if created:
        weights.refresh_from_db()  # the decimals as stored (20.00, not the default's 20)
    return weights


def _as_int(value, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    raise QualityError("weights_invalid", _("Weights are whole numbers."), {"field": field})


@transaction.atomic
def rating_weights_update(*, actor, changes: dict) -> RatingWeights:
    """Change the weights row. The four weights are whole numbers, none negative (400
    `weights_negative`), summing to 100 (400 `weights_sum_not_100`); the rates that score 0
    are above 0 and at most 100 (400 `invalid_zero_at`); `min_orders` is at least 1 (400
    `invalid_min_orders`). Nothing is written on a refusal. Locks the row; audits the old
    and new values. Ratings already computed keep the weights they were computed with."""
    unknown = set(changes) - set(WEIGHTS_FIELDS)
    if unknown:
        raise QualityError("weights_invalid", _("Unknown field."), {"fields": sorted(unknown)})
    weights = RatingWeights.objects.select_for_update().get(pk=rating_weights_get().pk)
    values = {field: getattr(weights, field) for field in WEIGHTS_FIELDS}
    for field in WEIGHT_FIELDS:
        if field in changes:
            values[field] = _as_int(changes[field], field)
    if any(values[field] < 0 for field in WEIGHT_FIELDS):
        raise QualityError("weights_negative", _("A weight cannot be negative."))
    total = sum(values[field] for field in WEIGHT_FIELDS)
    if total != 100:
        raise QualityError(
            "weights_sum_not_100",
            _("The four weights must add up to 100 (they add up to %(total)s).") % {"total": total},
            {"total": total},
        )
    for field in ("return_rate_zero_at", "complaint_rate_zero_at"):
        if field in changes:
            try:
                values[field] = Decimal(str(changes[field]))
            except ArithmeticError:
                values[field] = None
            if values[field] is None or not values[field].is_finite() or not ZERO < values[field] <= HUNDRED:
                raise QualityError(
                    "invalid_zero_at", _("A rate that scores 0 is above 0 % and at most 100 %."), {"field": field}
                )
            values[field] = quantize(values[field])
    if "min_orders" in changes:
        values["min_orders"] = _as_int(changes["min_orders"], "min_orders")
        if values["min_orders"] < 1:
            raise QualityError("invalid_min_orders", _("At least one order is needed to rate a merchant."))
    before = {field: str(getattr(weights, field)) for field in WEIGHTS_FIELDS}
    for field, value in values.items():
        setattr(weights, field, value)
    weights.save()
    audit_record(
        action="risk.rating_weights_changed",
        actor=actor,
        obj=weights,
        data={"from": before, "to": {field: str(value) for field, value in values.items()}},
    )
    return weights


def _weights_snapshot(weights: RatingWeights) -> dict:
    return {field: str(getattr(weights, field)) for field in WEIGHTS_FIELDS}


# --- Scoring ------------------------------------------------------------------------------


def percent(part: int, whole: int, *, empty: Decimal) -> Decimal:
    """`part` / `whole` as a percentage rounded to 0.01; `empty` when `whole` is 0."""
    if not whole:
        return empty
    return quantize(Decimal(part) * HUNDRED / Decimal(whole))


def grade_for(score: Decimal) -> str:
    """A ≥ 90, B ≥ 80, C ≥ 60, D below (89.99 is B)."""
    for threshold, grade in GRADE_THRESHOLDS:
        if score >= threshold:
            return grade
    return LOWEST_GRADE


@dataclass(frozen=True)
class RatingPoints:
    on_time: Decimal
    returns: Decimal
    complaints: Decimal
    reviews: Decimal

    @property
    def score(self) -> Decimal:
        return self.on_time + self.returns + self.complaints + self.reviews


def rating_points(
    *, weights, on_time_rate: Decimal, return_rate: Decimal, complaint_rate: Decimal, review_average: Decimal | None
) -> RatingPoints:
    """The points of each figure under `weights` (the formula of `RatingWeights`), each
    rounded to 0.01. Rates are percentages; `review_average` None counts `NO_REVIEW_AVERAGE`."""

    def falling(weight, rate, zero_at) -> Decimal:
        share = max(ZERO, 1 - Decimal(rate) / Decimal(zero_at))
        return quantize(Decimal(weight) * share)

    average = NO_REVIEW_AVERAGE if review_average is None else Decimal(review_average)
    return RatingPoints(
        on_time=quantize(Decimal(weights.on_time_weight) * Decimal(on_time_rate) / HUNDRED),
        returns=falling(weights.return_weight, return_rate, weights.return_rate_zero_at),
        complaints=falling(weights.complaint_weight, complaint_rate, weights.complaint_rate_zero_at),
        reviews=quantize(Decimal(weights.review_weight) * (average - 1) / 4),
    )


def _night_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- Credit rating ------------------------------------------------------------------------


def credit_rating_compute(*, merchant_id: int, rated_on: datetime.date, weights: RatingWeights | None = None) -> bool:
    """Rate `merchant_id` for the night of `rated_on` (the 90 days before `rated_on` starts)
    and give it the grade; True when a rating was written, False when the night's rating
    exists already (or the merchant does not). Runs in the caller's transaction (the job's
    per-merchant one); the grade change locks the merchant's row (`merchant_set_credit_grade`)."""
    merchant = merchant_selectors.merchant_get(merchant_id)
    if merchant is None or CreditRating.objects.filter(merchant_id=merchant_id, rated_on=rated_on).exists():
        return False
    weights = weights or rating_weights_get()
    window_end = _night_start(rated_on)
    window_start = window_end - datetime.timedelta(days=RATING_WINDOW_DAYS)
    counts = merchant_order_quality(
        merchant_id=merchant_id,
        paid_from=window_start,
        paid_until=window_end,
        promised_hours=settings.PROMISED_SHIPPING_HOURS,
    )
    reviews, average = merchant_review_figures(
        merchant_id=merchant_id, created_from=window_start, created_until=window_end
    )
    review_average = quantize(average) if average is not None else None
    rates = {
        "on_time_rate": percent(counts.shipped_on_time, counts.shipments_due, empty=HUNDRED),
        "return_rate": percent(counts.returned, counts.orders, empty=ZERO),
        "complaint_rate": percent(counts.complained, counts.orders, empty=ZERO),
    }
    if counts.orders >= weights.min_orders:
        points = rating_points(weights=weights, review_average=review_average, **rates)
        score, grade = points.score, grade_for(points.score)
        point_fields = {
            "on_time_points": points.on_time,
            "return_points": points.returns,
            "complaint_points": points.complaints,
            "review_points": points.reviews,
        }
    else:
        score, grade, point_fields = None, UNRATED_GRADE, {}
    try:
        with transaction.atomic():
            rating = CreditRating.objects.create(
                merchant_id=merchant_id,
                rated_on=rated_on,
                window_start=window_start,
                window_end=window_end,
                orders=counts.orders,
                shipments_due=counts.shipments_due,
                shipped_on_time=counts.shipped_on_time,
                returned=counts.returned,
                complained=counts.complained,
                reviews=reviews,
                review_average=review_average,
                score=score,
                grade=grade,
                previous_grade=merchant.credit_grade,
                weights=_weights_snapshot(weights),
                **rates,
                **point_fields,
            )
    except IntegrityError:  # an overlapping run of the same night wrote it first
        return False
    if grade != merchant.credit_grade:
        with translation.override(settings.LANGUAGE_CODE):
            if score is None:
                reason = gettext("Credit rating of %(date)s: too few orders to rate (%(orders)s).") % {
                    "date": rated_on.isoformat(),
                    "orders": counts.orders,
                }
            else:
                reason = gettext("Credit rating of %(date)s: score %(score)s.") % {
                    "date": rated_on.isoformat(),
                    "score": score,
                }
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade=grade, actor=None, reason=reason)
    return rating is not None


def credit_ratings_run(*, rated_on: datetime.date | None = None) -> JobRun:
    """Rate every live or suspended merchant for the night of `rated_on` (today by default),
    one transaction each (`run_each`); idempotent for a night (module docstring)."""
    rated_on = rated_on or timezone.localdate()
    weights = rating_weights_get()
    ids = merchant_selectors.merchants_rated().order_by("pk").values_list("pk", flat=True)
    return run_each(
        job="risk.credit_ratings",
        object_type="merchants.merchant",
        ids=ids,
        handle=lambda pk: credit_rating_compute(merchant_id=pk, rated_on=rated_on, weights=weights),
    )


# --- Quarterly evaluation -------------------------------------------------------------------


def quarter_of(day: datetime.date) -> tuple[str, datetime.date, datetime.date]:
    """(label "YYYYQn", first day, first day of the next quarter) of the quarter holding `day`."""
    first_month = (day.month - 1) // 3 * 3 + 1
    start = datetime.date(day.year, first_month, 1)
    end = datetime.date(day.year + 1, 1, 1) if first_month == 10 else datetime.date(day.year, first_month + 3, 1)
    return f"{day.year}Q{(first_month - 1) // 3 + 1}", start, end


def previous_quarter(day: datetime.date) -> tuple[str, datetime.date, datetime.date]:
    """The quarter that ended before the one holding `day`."""
    _label, start, _end = quarter_of(day)
    return quarter_of(start - datetime.timedelta(days=1))


def quarterly_evaluation_compute(*, merchant_id: int, quarter_start: datetime.date) -> bool:
    """Evaluate `merchant_id` for the quarter starting `quarter_start`; True when an
    evaluation was written. Score = (on-time delivery rate + quality pass rate) / 2, over the
    orders paid in the quarter: on-time delivery is the shipping promise kept (the data holds
    no delivery deadline); quality passed means neither an accepted return nor a complaint
    for counterfeit or not-as-described goods. No paid order in the quarter: nothing to
    judge, no evaluation. A score below 80 opens one requalification review (one per
    evaluation, hence per merchant and quarter). Sends `quarterly_evaluation_completed` on
    commit. Runs in the caller's transaction."""
    quarter, start, end = quarter_of(quarter_start)
    if QuarterlyEvaluation.objects.filter(merchant_id=merchant_id, quarter=quarter).exists():
        return False
    counts = merchant_order_quality(
        merchant_id=merchant_id,
        paid_from=_night_start(start),
        paid_until=_night_start(end),
        promised_hours=settings.PROMISED_SHIPPING_HOURS,
        quality_complaints=QUALITY_COMPLAINT_CATEGORIES,
    )
    if not counts.orders:
        return False
    on_time = percent(counts.shipped_on_time, counts.shipments_due, empty=HUNDRED)
    quality = percent(counts.quality_passed, counts.orders, empty=HUNDRED)
    score = quantize((on_time + quality) / 2)
    try:
        with transaction.atomic():
            evaluation = QuarterlyEvaluation.objects.create(
                merchant_id=merchant_id,
                quarter=quarter,
                period_start=start,
                period_end=end,
                orders=counts.orders,
                shipments_due=counts.shipments_due,
                shipped_on_time=counts.shipped_on_time,
                quality_passed=counts.quality_passed,
                on_time_rate=on_time,
                quality_pass_rate=quality,
                score=score,
            )
    except IntegrityError:  # an overlapping run wrote it first
        return False
    if score < EVALUATION_PASS_SCORE:
        review = RequalificationReview.objects.create(evaluation=evaluation, merchant_id=merchant_id)
        audit_record(
            action="risk.requalification_opened",
            obj=review,
            data={"merchant": merchant_id, "quarter": quarter, "score": str(score)},
        )
    transaction.on_commit(
        partial(
            quarterly_evaluation_completed.send,
            sender=None,
            merchant_id=merchant_id,
            evaluation_id=evaluation.pk,
            score=score,
            quarter=quarter,
        )
    )
    return True


def quarterly_evaluations_run(*, today: datetime.date | None = None) -> JobRun:
    """Evaluate every live or suspended merchant for the quarter that ended before `today`
    (today by default), one transaction each (`run_each`); a rerun writes nothing twice."""
    _quarter, start, _end = previous_quarter(today or timezone.localdate())
    ids = merchant_selectors.merchants_rated().order_by("pk").values_list("pk", flat=True)
    return run_each(
        job="risk.quarterly_evaluations",
        object_type="merchants.merchant",
        ids=ids,
        handle=lambda pk: quarterly_evaluation_compute(merchant_id=pk, quarter_start=start),
    )


# --- Requalification review ---------------------------------------------------------------

OUTCOMES = {
    "pass": RequalificationStatus.PASSED,
    "conditions": RequalificationStatus.CONDITIONS,
    "suspend": RequalificationStatus.SUSPENDED,
}


def requalification_decide(
    *, review: RequalificationReview, actor, outcome: str, reason: str, conditions: str = ""
) -> RequalificationReview:
    """A reviewer decides an open review once: `outcome` "pass", "conditions" (with the
    `conditions` text) or "suspend" (the merchant is suspended through
    `merchants.services.merchant_suspend`, its state machine: 409 when it is not live).
    400 `invalid_outcome`, `reason_required`, `conditions_required`; 409
    `invalid_transition` for a decided review. One use case (`atomic(durable=True)`):
    locks the review, then the merchant; audits who, when, why; nothing written on a refusal."""
    if outcome not in OUTCOMES:
        raise QualityError("invalid_outcome", _("Choose pass, pass with conditions or suspend."), {"outcome": outcome})
    reason = (reason or "").strip()
    conditions = (conditions or "").strip()
    if not reason:
        raise QualityError("reason_required", _("Give a reason."))
    if outcome == "conditions" and not conditions:
        raise QualityError("conditions_required", _("Write the conditions the merchant must meet."))
    with transaction.atomic(durable=True):

        def record(row, previous):
            audit_record(
                action="risk.requalification_decided",
                actor=actor,
                obj=row,
                reason=reason,
                data={"from": previous, "to": row.status, "conditions": conditions, "merchant": row.merchant_id},
            )

        decided = transition(
            review,
            outcome,
            table=REQUALIFICATION_TRANSITIONS,
            queryset=RequalificationReview.objects.select_related("merchant", "evaluation"),
            changes={
                "reason": reason,
                "conditions": conditions if outcome == "conditions" else "",
                "decided_by": actor,
                "decided_at": timezone.now(),
            },
            record=record,
        )
        if outcome == "suspend":
            merchant_services.merchant_suspend(merchant=decided.merchant, actor=actor, reason=reason)
    return decided
