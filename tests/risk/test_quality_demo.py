"""The demo's merchant quality: one grade A, one grade D (through the grade service), an open
requalification review, a renewal waiting for staff."""

import datetime
from decimal import Decimal

import pytest

from demo.quality import seed_quality_for
from marketplace.models import AuditLogEntry
from merchants.models import Contract
from risk.models import CreditRating, RenewalCase, RequalificationReview
from tests.catalog.factories import live_merchant

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 7)


def test_demo_ratings_review_and_renewal():
    merchants = [live_merchant()[0] for _ in range(3)]
    Contract.objects.filter(merchant=merchants[0]).update(
        status="accepted", start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2027, 1, 1)
    )
    assert seed_quality_for(merchants, today=TODAY) == 6
    ratings = {r.merchant_id: r for r in CreditRating.objects.all()}
    assert [(ratings[m.pk].score, ratings[m.pk].grade) for m in merchants] == [
        (Decimal("95.58"), "A"),
        (Decimal("47.62"), "D"),
        (Decimal("87.75"), "B"),
    ]
    for merchant in merchants:
        merchant.refresh_from_db()
    assert [m.credit_grade for m in merchants] == ["A", "D", "B"]
    assert AuditLogEntry.objects.filter(action="merchant.credit_grade_changed").count() == 2
    review = RequalificationReview.objects.get()
    assert (review.merchant_id, review.status, review.evaluation.quarter, review.evaluation.score) == (
        merchants[1].pk,
        "open",
        "2026Q3",
        Decimal("72.50"),
    )
    case = RenewalCase.objects.get()
    assert (case.merchant_id, case.status, case.gmv_growth, case.grade) == (merchants[0].pk, "pending", None, "A")
