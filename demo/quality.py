"""Demo merchant quality (issue #15): credit ratings, a requalification review, a renewal.

- last night's credit rating of the first demo shops, from demo figures scored with the
  real formula (`risk.services.quality.rating_points` under the weights row): the first
  shop grade A (95.58), the second grade D (47.62), the others B (87.75); each grade set through
  `merchants.services.merchant_set_credit_grade`, as the nightly job does. The demo's own
  orders are too few to rate (fewer than the 20 orders the weights ask), so the figures are
  the demo's: the next nightly run rates the shops from their real orders again;
- the second shop's evaluation of the quarter just ended at 72.50, with its requalification
  review open for the reviewer;
- the first shop's contract judged for renewal by the real service (its previous year has no
  GMV, so growth is unknown): the case waits for operations.

Idempotent: when a credit rating exists, the step creates nothing.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from demo.catalog import SHOPS
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.models import Merchant
from risk import services
from risk.models import CreditRating, QuarterlyEvaluation, RequalificationReview
from risk.services.quality import WEIGHTS_FIELDS, grade_for, percent, previous_quarter, rating_points

#: (orders, due, on time, returned, complained, reviews, average): A, D, then B for the rest.
FIGURES = [
    (120, 118, 117, 2, 1, 40, Decimal("4.85")),
    (60, 58, 41, 9, 5, 12, Decimal("3.20")),
    (80, 80, 74, 3, 1, 20, Decimal("4.40")),
]


def _rate(merchant: Merchant, figures, rated_on: datetime.date, weights) -> CreditRating:
    orders, due, on_time, returned, complained, reviews, average = figures
    rates = {
        "on_time_rate": percent(on_time, due, empty=Decimal("100.00")),
        "return_rate": percent(returned, orders, empty=Decimal("0.00")),
        "complaint_rate": percent(complained, orders, empty=Decimal("0.00")),
    }
    points = rating_points(weights=weights, review_average=average, **rates)
    end = timezone.make_aware(datetime.datetime.combine(rated_on, datetime.time.min))
    rating = CreditRating.objects.create(
        merchant=merchant,
        rated_on=rated_on,
        window_start=end - datetime.timedelta(days=90),
        window_end=end,
        orders=orders,
        shipments_due=due,
        shipped_on_time=on_time,
        returned=returned,
        complained=complained,
        reviews=reviews,
        review_average=average,
        on_time_points=points.on_time,
        return_points=points.returns,
        complaint_points=points.complaints,
        review_points=points.reviews,
        score=points.score,
        grade=grade_for(points.score),
        previous_grade=merchant.credit_grade,
        weights={field: str(getattr(weights, field)) for field in WEIGHTS_FIELDS},
        **rates,
    )
    merchant_services.merchant_set_credit_grade(
        merchant=merchant, grade=rating.grade, reason=f"Credit rating of {rated_on}: score {rating.score}."
    )
    return rating


def seed_quality_for(merchants: list[Merchant], *, today: datetime.date) -> int:
    """The demo's quality records for `merchants` (at least two); returns how many were made."""
    weights = services.rating_weights_get()
    created = 0
    with transaction.atomic():
        for index, merchant in enumerate(merchants):
            _rate(merchant, FIGURES[min(index, len(FIGURES) - 1)], today - datetime.timedelta(days=1), weights)
            created += 1
        quarter, start, end = previous_quarter(today)
        evaluation = QuarterlyEvaluation.objects.create(
            merchant=merchants[1],
            quarter=quarter,
            period_start=start,
            period_end=end,
            orders=40,
            shipments_due=40,
            shipped_on_time=29,
            quality_passed=29,
            on_time_rate=Decimal("72.50"),
            quality_pass_rate=Decimal("72.50"),
            score=Decimal("72.50"),
        )
        RequalificationReview.objects.create(evaluation=evaluation, merchant=merchants[1])
        created += 2
    contract = merchant_selectors.current_contract(merchants[0])
    if contract is not None:
        days = max(0, (contract.end_date - today).days)
        created += int(services.renewal_evaluate(contract_id=contract.pk, days=days))
    return created


def seed_quality(stdout) -> int:
    """Ratings, a requalification review and a pending renewal of the demo shops."""
    if CreditRating.objects.exists():
        return 0
    merchants = list(Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS], status="live").order_by("pk"))
    if len(merchants) < 2:
        return 0
    created = seed_quality_for(merchants, today=timezone.localdate())
    stdout.write("seed_demo: quality: ratings (one A, one D), a requalification review, a renewal to decide")
    return created
