"""Credit rating (issue #15): exact scores from fixed figures, grade boundaries, the
weights' validation, the nightly job's idempotence, and checkout pricing with the grade in
force when an order is placed."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from marketplace.errors import DomainError
from marketplace.models import AuditLogEntry, JobFailure
from merchants.models import Merchant
from risk import services
from risk.models import CreditRating, RatingWeights
from risk.services.quality import grade_for, rating_points
from tests.risk.quality_world import QualityShop, accepted_return, at, complaint, review

pytestmark = pytest.mark.django_db

DEFAULTS = SimpleNamespace(
    on_time_weight=40,
    return_weight=20,
    complaint_weight=20,
    review_weight=20,
    return_rate_zero_at=Decimal("20.00"),
    complaint_rate_zero_at=Decimal("10.00"),
)
NIGHT = datetime.date(2026, 11, 1)


def D(value):
    return Decimal(value)


# --- The formula, from figures ------------------------------------------------------------


def test_points_of_each_figure_under_the_default_weights():
    points = rating_points(
        weights=DEFAULTS,
        on_time_rate=D("95.00"),
        return_rate=D("2.00"),
        complaint_rate=D("1.00"),
        review_average=D("4.80"),
    )
    assert (points.on_time, points.returns, points.complaints, points.reviews) == (
        D("38.00"),
        D("18.00"),
        D("18.00"),
        D("19.00"),
    )
    assert points.score == D("93.00")
    assert grade_for(points.score) == "A"


def test_rates_at_or_above_their_zero_give_no_points_never_negative():
    points = rating_points(
        weights=DEFAULTS,
        on_time_rate=D("0.00"),
        return_rate=D("35.00"),
        complaint_rate=D("10.00"),
        review_average=D("1.00"),
    )
    assert (points.on_time, points.returns, points.complaints, points.reviews, points.score) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


def test_no_review_counts_a_neutral_four_star_average():
    points = rating_points(
        weights=DEFAULTS, on_time_rate=D("100"), return_rate=D("0"), complaint_rate=D("0"), review_average=None
    )
    assert (points.reviews, points.score) == (D("15.00"), D("95.00"))


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("100.00", "A"),
        ("90.00", "A"),
        ("89.99", "B"),
        ("80.00", "B"),
        ("79.99", "C"),
        ("60.00", "C"),
        ("59.99", "D"),
        ("0.00", "D"),
    ],
)
def test_grade_boundaries(score, grade):
    assert grade_for(D(score)) == grade


def test_a_score_of_89_99_is_b_and_90_is_a_from_the_points():
    # 40 × 99.98 % = 39.99 (39.992); the rest full: 89.99 → B. 100 %: 40.00 → 90.00 → A.
    near = rating_points(
        weights=DEFAULTS, on_time_rate=D("99.98"), return_rate=D("0"), complaint_rate=D("0"), review_average=D("3.00")
    )
    assert (near.score, grade_for(near.score)) == (D("89.99"), "B")
    at_90 = rating_points(
        weights=DEFAULTS, on_time_rate=D("100.00"), return_rate=D("0"), complaint_rate=D("0"), review_average=D("3.00")
    )
    assert (at_90.score, grade_for(at_90.score)) == (D("90.00"), "A")


# --- Weights --------------------------------------------------------------------------------


def test_weights_row_has_its_defaults():
    weights = services.rating_weights_get()
    assert (
        weights.on_time_weight,
        weights.return_weight,
        weights.complaint_weight,
        weights.review_weight,
        weights.return_rate_zero_at,
        weights.complaint_rate_zero_at,
        weights.min_orders,
    ) == (40, 20, 20, 20, D("20.00"), D("10.00"), 20)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"on_time_weight": 50}, "weights_sum_not_100"),
        ({"on_time_weight": -10, "return_weight": 70}, "weights_negative"),
        ({"on_time_weight": "4.5"}, "weights_invalid"),
        ({"return_rate_zero_at": "0"}, "invalid_zero_at"),
        ({"complaint_rate_zero_at": "101"}, "invalid_zero_at"),
        ({"complaint_rate_zero_at": "abc"}, "invalid_zero_at"),
        ({"min_orders": 0}, "invalid_min_orders"),
        ({"colour": "red"}, "weights_invalid"),
    ],
)
def test_weights_edit_is_validated_and_a_refusal_writes_nothing(staff_user, changes, code):
    services.rating_weights_get()
    audits = AuditLogEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        services.rating_weights_update(actor=staff_user, changes=changes)
    assert refused.value.code == code
    weights = RatingWeights.objects.get()
    assert (weights.on_time_weight, weights.return_weight, weights.min_orders) == (40, 20, 20)
    assert weights.return_rate_zero_at == D("20.00")
    assert AuditLogEntry.objects.count() == audits


def test_weights_edit_saves_and_audits(staff_user):
    weights = services.rating_weights_update(
        actor=staff_user, changes={"on_time_weight": "50", "review_weight": 10, "min_orders": 5}
    )
    assert (weights.on_time_weight, weights.review_weight, weights.min_orders) == (50, 10, 5)
    entry = AuditLogEntry.objects.get(action="risk.rating_weights_changed")
    assert entry.data["from"]["on_time_weight"] == "40"
    assert entry.data["to"]["on_time_weight"] == "50"


# --- The nightly rating from orders --------------------------------------------------------


def _ten_orders_shop():
    """10 orders paid in October 2026: 9 shipped within 48 h, 1 after 50 h; one returned
    (accepted), one complained about; three reviews 5, 5, 4 (average 4.67)."""
    shop = QualityShop()
    orders = [shop.shipped_order(paid=at(2026, 10, 1 + i, 10), ship_after_hours=24) for i in range(9)]
    orders.append(shop.shipped_order(paid=at(2026, 10, 20, 10), ship_after_hours=50))
    accepted_return(orders[0])
    accepted_return(orders[1], status="closed")  # refused: not a return
    complaint(orders[2])
    for order, rating in zip(orders[3:6], (5, 5, 4), strict=True):
        review(order, rating, created=at(2026, 10, 25, 12))
    return shop, orders


def test_rating_from_fixed_orders_to_the_exact_score(staff_user):
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 10})
    shop, _orders = _ten_orders_shop()
    assert services.credit_rating_compute(merchant_id=shop.merchant.pk, rated_on=NIGHT) is True
    rating = CreditRating.objects.get(merchant=shop.merchant)
    assert (rating.orders, rating.shipments_due, rating.shipped_on_time, rating.returned, rating.complained) == (
        10,
        10,
        9,
        1,
        1,
    )
    assert (rating.reviews, rating.review_average) == (3, D("4.67"))
    assert (rating.on_time_rate, rating.return_rate, rating.complaint_rate) == (D("90.00"), D("10.00"), D("10.00"))
    # 40 × 90 % = 36.00; 20 × (1 − 10/20) = 10.00; 20 × (1 − 10/10) = 0.00; 20 × 3.67 / 4 = 18.35.
    assert (rating.on_time_points, rating.return_points, rating.complaint_points, rating.review_points) == (
        D("36.00"),
        D("10.00"),
        D("0.00"),
        D("18.35"),
    )
    assert (rating.score, rating.grade, rating.previous_grade) == (D("64.35"), "C", "B")
    assert rating.window_start == at(2026, 8, 3, 0) and rating.window_end == at(2026, 11, 1, 0)
    shop.merchant.refresh_from_db()
    assert shop.merchant.credit_grade == "C"
    entry = AuditLogEntry.objects.get(action="merchant.credit_grade_changed")
    assert entry.data == {"from": "B", "to": "C"}
    assert entry.actor_id is None


def test_a_review_operations_hid_counts_for_nothing(staff_user):
    # The 1-star review hidden as malicious (issue #16) leaves the rating as it left the
    # shop's shown average: the same 3 reviews at 4.67 as without it.
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 10})
    shop, orders = _ten_orders_shop()
    hidden = review(orders[6], 1, created=at(2026, 10, 25, 12))
    type(hidden).objects.filter(pk=hidden.pk).update(is_hidden=True, hidden_reason="Malicious")
    assert services.credit_rating_compute(merchant_id=shop.merchant.pk, rated_on=NIGHT) is True
    rating = CreditRating.objects.get(merchant=shop.merchant)
    assert (rating.reviews, rating.review_average, rating.score) == (3, D("4.67"), D("64.35"))


def test_too_few_orders_is_not_scored_and_gets_b(staff_user):
    shop = QualityShop()
    Merchant.objects.filter(pk=shop.merchant.pk).update(credit_grade="D")
    for day in (1, 2):
        shop.shipped_order(paid=at(2026, 10, day, 10), ship_after_hours=80)
    services.credit_ratings_run(rated_on=NIGHT)
    rating = CreditRating.objects.get(merchant=shop.merchant)
    assert (rating.orders, rating.score, rating.on_time_points, rating.grade, rating.previous_grade) == (
        2,
        None,
        None,
        "B",
        "D",
    )
    assert rating.on_time_rate == D("0.00")
    shop.merchant.refresh_from_db()
    assert shop.merchant.credit_grade == "B"


def test_orders_outside_the_window_and_not_yet_due_are_not_counted(staff_user):
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 1})
    shop = QualityShop()
    shop.shipped_order(paid=at(2026, 8, 2, 23), ship_after_hours=100)  # before the 90 days
    shop.paid_order(paid=at(2026, 10, 31, 12))  # unshipped, deadline after the window's end
    shop.paid_order(paid=at(2026, 10, 20, 12))  # unshipped, past its deadline: late
    services.credit_rating_compute(merchant_id=shop.merchant.pk, rated_on=NIGHT)
    rating = CreditRating.objects.get(merchant=shop.merchant)
    assert (rating.orders, rating.shipments_due, rating.shipped_on_time, rating.on_time_rate) == (
        2,
        1,
        0,
        D("0.00"),
    )


def test_the_job_twice_in_a_night_changes_nothing(staff_user, django_assert_max_num_queries):
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 10})
    shop, _orders = _ten_orders_shop()
    first = services.credit_ratings_run(rated_on=NIGHT)
    assert (first.done, first.failed) == (1, 0)
    snapshot = list(CreditRating.objects.values())
    audits = AuditLogEntry.objects.count()
    second = services.credit_ratings_run(rated_on=NIGHT)
    assert (second.done, second.skipped, second.failed) == (0, 1, 0)
    assert list(CreditRating.objects.values()) == snapshot
    assert AuditLogEntry.objects.count() == audits
    assert not JobFailure.objects.exists()
    shop.merchant.refresh_from_db()
    assert shop.merchant.credit_grade == "C"


def test_the_next_night_rates_again_and_an_unchanged_grade_is_not_audited(staff_user):
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 10})
    _shop, _orders = _ten_orders_shop()
    services.credit_ratings_run(rated_on=NIGHT)
    services.credit_ratings_run(rated_on=NIGHT + datetime.timedelta(days=1))
    assert list(CreditRating.objects.order_by("rated_on").values_list("grade", "previous_grade")) == [
        ("C", "B"),
        ("C", "C"),
    ]
    assert AuditLogEntry.objects.filter(action="merchant.credit_grade_changed").count() == 1


def test_checkout_uses_the_grade_in_force_when_the_order_is_placed(staff_user):
    services.rating_weights_update(actor=staff_user, changes={"min_orders": 2})
    shop = QualityShop()
    before = [shop.shipped_order(paid=at(2026, 10, day, 10), ship_after_hours=2) for day in (1, 2)]
    # 10 % of ¥100 halved by the launch policy (live since 2026-09-10), grade B.
    assert before[0].commission_total == D("5.00")
    services.credit_ratings_run(rated_on=NIGHT)  # 100 % on time, no return, no review: 95.00
    shop.merchant.refresh_from_db()
    assert shop.merchant.credit_grade == "A"
    after = shop.paid_order(paid=at(2026, 11, 1, 10))
    assert after.commission_total == D("4.50")  # grade A: 10 % off the rate
    before[0].refresh_from_db()
    assert before[0].commission_total == D("5.00")  # placed before: unchanged
