"""Quarterly evaluation (issue #15): the score from fixed orders, a score below 80 opens
exactly one requalification review, the signal on commit, and the reviewers' decisions."""

from decimal import Decimal

import pytest

from marketplace.errors import DomainError
from marketplace.models import AuditLogEntry
from merchants.models import Merchant
from risk import services
from risk.models import QuarterlyEvaluation, RequalificationReview
from risk.services.quality import previous_quarter, quarter_of
from risk.signals import quarterly_evaluation_completed
from tests.risk.quality_world import QualityShop, accepted_return, at, complaint

pytestmark = pytest.mark.django_db

Q4_START = at(2026, 10, 1, 0).date()


def _weak_shop():
    """Five orders paid in September 2026: one shipped after 60 h (4/5 on time); one
    returned, one complaint about counterfeit goods, one about service (quality 3/5)."""
    shop = QualityShop()
    orders = [shop.shipped_order(paid=at(2026, 9, 11 + i, 10), ship_after_hours=10) for i in range(4)]
    orders.append(shop.shipped_order(paid=at(2026, 9, 20, 10), ship_after_hours=60))
    accepted_return(orders[0], status="awaiting_return")
    complaint(orders[1], category="counterfeit")
    complaint(orders[2], category="service")
    return shop


def test_quarters():
    assert quarter_of(at(2026, 11, 5, 0).date())[0] == "2026Q4"
    assert previous_quarter(Q4_START) == ("2026Q3", at(2026, 7, 1, 0).date(), at(2026, 10, 1, 0).date())
    assert previous_quarter(at(2027, 1, 1, 0).date()) == (
        "2026Q4",
        at(2026, 10, 1, 0).date(),
        at(2027, 1, 1, 0).date(),
    )


def test_a_score_below_80_opens_exactly_one_review_and_signals_on_commit(django_capture_on_commit_callbacks):
    shop = _weak_shop()
    received = []

    def listener(sender, **kwargs):
        received.append((sender, kwargs))

    quarterly_evaluation_completed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.quarterly_evaluations_run(today=Q4_START)
        with django_capture_on_commit_callbacks(execute=True):
            again = services.quarterly_evaluations_run(today=Q4_START)
    finally:
        quarterly_evaluation_completed.disconnect(listener)
    assert (run.done, again.done, again.skipped) == (1, 0, 1)
    evaluation = QuarterlyEvaluation.objects.get()
    assert (evaluation.quarter, evaluation.orders, evaluation.shipments_due, evaluation.shipped_on_time) == (
        "2026Q3",
        5,
        5,
        4,
    )
    assert evaluation.quality_passed == 3
    assert (evaluation.on_time_rate, evaluation.quality_pass_rate, evaluation.score) == (
        Decimal("80.00"),
        Decimal("60.00"),
        Decimal("70.00"),
    )
    review = RequalificationReview.objects.get()
    assert (review.merchant_id, review.evaluation_id, review.status) == (shop.merchant.pk, evaluation.pk, "open")
    assert received == [
        (
            None,
            {
                "signal": quarterly_evaluation_completed,
                "merchant_id": shop.merchant.pk,
                "evaluation_id": evaluation.pk,
                "score": Decimal("70.00"),
                "quarter": "2026Q3",
            },
        )
    ]


def test_a_score_of_80_opens_no_review():
    shop = QualityShop()
    for i in range(4):
        shop.shipped_order(paid=at(2026, 9, 11 + i, 10), ship_after_hours=10)
    late = shop.shipped_order(paid=at(2026, 9, 20, 10), ship_after_hours=60)
    complaint(late, category="not_as_described")
    services.quarterly_evaluations_run(today=Q4_START)
    evaluation = QuarterlyEvaluation.objects.get()
    # on time 4/5 = 80 %, quality 4/5 = 80 %: 80.00, not below 80.
    assert evaluation.score == Decimal("80.00")
    assert not RequalificationReview.objects.exists()


def test_a_merchant_without_orders_in_the_quarter_is_not_evaluated():
    QualityShop()
    run = services.quarterly_evaluations_run(today=Q4_START)
    assert (run.done, run.skipped) == (0, 1)
    assert not QuarterlyEvaluation.objects.exists()


def _open_review():
    _weak_shop()
    services.quarterly_evaluations_run(today=Q4_START)
    return RequalificationReview.objects.get()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"outcome": "pass", "reason": " "}, "reason_required"),
        ({"outcome": "conditions", "reason": "Late shipping", "conditions": ""}, "conditions_required"),
        ({"outcome": "close", "reason": "x"}, "invalid_outcome"),
    ],
)
def test_a_refused_decision_changes_nothing(staff_user, kwargs, code):
    review = _open_review()
    audits = AuditLogEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        services.requalification_decide(review=review, actor=staff_user, **kwargs)
    assert refused.value.code == code
    review.refresh_from_db()
    assert (review.status, review.decided_by_id, review.reason) == ("open", None, "")
    assert AuditLogEntry.objects.count() == audits


def test_pass_with_conditions_is_recorded_and_audited_once(staff_user):
    review = _open_review()
    decided = services.requalification_decide(
        review=review, actor=staff_user, outcome="conditions", reason="Late parcels", conditions="Ship within 24 h"
    )
    assert (decided.status, decided.conditions, decided.reason, decided.decided_by) == (
        "conditions",
        "Ship within 24 h",
        "Late parcels",
        staff_user,
    )
    assert decided.decided_at is not None
    entry = AuditLogEntry.objects.get(action="risk.requalification_decided")
    assert (entry.actor_id, entry.reason, entry.data["to"]) == (staff_user.pk, "Late parcels", "conditions")
    with pytest.raises(DomainError) as twice:
        services.requalification_decide(review=review, actor=staff_user, outcome="pass", reason="Again")
    assert twice.value.code == "invalid_transition"
    review.refresh_from_db()
    assert review.status == "conditions"


def test_suspend_goes_through_the_merchants_state_machine(staff_user):
    review = _open_review()
    services.requalification_decide(review=review, actor=staff_user, outcome="suspend", reason="Counterfeits")
    merchant = Merchant.objects.get(pk=review.merchant_id)
    assert (merchant.status, merchant.status_reason) == ("suspended", "Counterfeits")
    assert AuditLogEntry.objects.filter(action="merchant.suspend").count() == 1


def test_suspending_a_merchant_no_longer_live_is_refused_and_the_review_stays_open(staff_user):
    review = _open_review()
    Merchant.objects.filter(pk=review.merchant_id).update(status="suspended")
    with pytest.raises(DomainError) as refused:
        services.requalification_decide(review=review, actor=staff_user, outcome="suspend", reason="Counterfeits")
    assert refused.value.code == "invalid_transition"
    review.refresh_from_db()
    assert (review.status, review.decided_by_id) == ("open", None)
    assert not AuditLogEntry.objects.filter(action="risk.requalification_decided").exists()
