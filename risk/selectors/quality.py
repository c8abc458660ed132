"""Reads of merchant quality. Merchant-facing reads take the merchant, so a merchant only
ever sees its own ratings and evaluations."""

from __future__ import annotations

from django.db.models import F, QuerySet

from ..choices_quality import RenewalStatus, RequalificationStatus
from ..models import CreditRating, QuarterlyEvaluation, RatingWeights, RenewalCase, RequalificationReview


def credit_rating_latest(merchant) -> CreditRating | None:
    """`merchant`'s newest credit rating, or None before its first night."""
    return CreditRating.objects.filter(merchant=merchant).order_by("-rated_on").first()


def credit_rating_history(merchant, *, limit: int = 30) -> list[CreditRating]:
    """`merchant`'s last `limit` nightly ratings, newest first."""
    return list(CreditRating.objects.filter(merchant=merchant).order_by("-rated_on")[:limit])


def evaluations_for_merchant(merchant, *, limit: int = 8) -> list[QuarterlyEvaluation]:
    """`merchant`'s last `limit` quarterly evaluations with their review, newest first."""
    return list(
        QuarterlyEvaluation.objects.filter(merchant=merchant).select_related("review").order_by("-quarter")[:limit]
    )


def requalification_open_for_merchant(merchant) -> RequalificationReview | None:
    """`merchant`'s open requalification review, or None."""
    return (
        RequalificationReview.objects.filter(merchant=merchant, status=RequalificationStatus.OPEN)
        .select_related("evaluation")
        .first()
    )


def rating_weights_current() -> RatingWeights:
    """The weights the next rating uses: the row, or (before the migration made it) an
    unsaved row with the defaults the rating would create it with."""
    return RatingWeights.objects.order_by("pk").first() or RatingWeights()


def renewal_queue() -> QuerySet[RenewalCase]:
    """Pending renewals, weakest first: lowest credit score (unrated last), then the
    lowest GMV growth, then the soonest end date."""
    return (
        RenewalCase.objects.filter(status=RenewalStatus.PENDING)
        .select_related("merchant", "contract")
        .order_by(F("score").asc(nulls_last=True), F("gmv_growth").asc(nulls_first=True), "contract_end_date", "pk")
    )
