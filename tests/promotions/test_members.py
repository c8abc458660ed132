"""Membership levels and RFM segments: the nightly run's exact results from fixed orders,
its idempotence, its one-run lock, and the levels' rules."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from marketplace.models import JobFailure
from orders import services as order_services
from orders.models import MerchantOrder
from orders.selectors import buyer_activity, buyer_activity_bounds
from orders.services import RefundItem
from promotions import selectors, services
from promotions.errors import MembershipError
from promotions.models import Membership, MembershipChange, MembershipLevel, RfmScore
from promotions.tasks import ORDER_FIGURES, members_refresh_task
from tests.factories import UserFactory

from .member_factories import Shop, at, levels

pytestmark = pytest.mark.django_db

AS_OF = at(2026, 12, 7)
#: Queries of a run besides its batches (earlier failures, the lock, the bounds, the reset,
#: the scores, with their savepoints), of each batch (its savepoint, the selector, the
#: levels, the batch's memberships and scores, three bulk inserts) and of a batch without rows.
PER_RUN = 11
PER_BATCH = 9
PER_EMPTY_BATCH = 3


def days_ago(days: int):
    """Noon, `days` calendar days before the run."""
    return AS_OF - datetime.timedelta(days=days) + datetime.timedelta(hours=12)


def run(as_of=AS_OF, **kwargs):
    return services.members_refresh(figures=ORDER_FIGURES, as_of=as_of, **kwargs)


@pytest.fixture
def world():
    """Five buyers with orders, one whose only paid order was cancelled, one who never paid.

    | buyer | paid orders (days before the run, goods)      | spend | R   | F | M    |
    | A     | 2d 2000, 30d 2000, 60d 2000                    | 6000  | 2   | 3 | 6000 |
    | B     | 5d 1200                                        | 1200  | 5   | 1 | 1200 |
    | E     | 10d 3000, of which 2500 refunded               | 500   | 10  | 1 | 500  |
    | C     | 100d 300, 200d 300                             | 600   | 100 | 2 | 600  |
    | D     | 400d 5000 (outside the 12 months)              | 0     | 400 | 0 | 0    |
    | F     | 3d 800, cancelled after payment                | —     |     |   |      |
    | G     | an unpaid order                                | —     |     |   |      |
    """
    lv = levels(("regular", "Regular", "0"), ("silver", "Silver", "1000"), ("gold", "Gold", "5000"))
    shop = Shop()
    buyers = {name: UserFactory(email=f"{name.lower()}@example.com") for name in "ABCDEFG"}
    for days in (2, 30, 60):
        shop.order(buyers["A"], "2000.00", paid_at=days_ago(days))
    shop.order(buyers["B"], "1200.00", paid_at=days_ago(5))
    e_order = shop.order(buyers["E"], "3000.00", paid_at=days_ago(10))
    with mock.patch("django.utils.timezone.now", return_value=days_ago(8)):
        order_services.refund_issue(
            merchant_order=e_order, items=[RefundItem(e_order.lines.get().pk, Decimal("2500.00"))], reason="damaged"
        )
    shop.order(buyers["C"], "300.00", paid_at=days_ago(100))
    shop.order(buyers["C"], "300.00", paid_at=days_ago(200))
    shop.order(buyers["D"], "2500.00", paid_at=days_ago(400), quantity=2)
    f_order = shop.order(buyers["F"], "800.00", paid_at=days_ago(3))
    order_services.merchant_order_cancel(order=f_order, note="out of stock")
    shop.order(buyers["G"], "100.00", paid_at=None)
    return {"levels": {lvl.code: lvl for lvl in lv}, "buyers": buyers}


def _memberships():
    return {
        m.buyer.email[0].upper(): (m.level.code, m.spend_12m)
        for m in Membership.objects.select_related("buyer", "level")
    }


def _scores():
    return {
        s.buyer.email[0].upper(): (s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score, s.segment)
        for s in RfmScore.objects.select_related("buyer")
    }


def _snapshot():
    return (
        list(Membership.objects.order_by("pk").values()),
        list(MembershipChange.objects.order_by("pk").values()),
        list(RfmScore.objects.order_by("pk").values()),
    )


def test_the_orders_selectors_sum_paid_goods_less_refunds_and_skip_cancelled(world):
    b = world["buyers"]
    paid = sorted(u.pk for u in (b["A"], b["B"], b["C"], b["D"], b["E"], b["F"]))  # F paid, then cancelled
    assert buyer_activity_bounds(size=2, until=AS_OF) == [paid[1], paid[3], paid[5]]
    assert buyer_activity_bounds(size=4, until=AS_OF) == [paid[3]]
    rows = buyer_activity(after_buyer_id=0, up_to_buyer_id=None, since=at(2025, 12, 7), until=AS_OF)
    by_buyer = {row["buyer_id"]: (row["orders_12m"], row["goods_paid_12m"]) for row in rows}
    assert by_buyer == {
        b["A"].pk: (3, Decimal("6000.00")),
        b["B"].pk: (1, Decimal("1200.00")),
        b["C"].pk: (2, Decimal("600.00")),
        b["D"].pk: (0, Decimal("0.00")),
        b["E"].pk: (1, Decimal("500.00")),
    }
    assert [row["buyer_id"] for row in rows] == sorted(by_buyer)
    upper = buyer_activity(after_buyer_id=paid[1], up_to_buyer_id=paid[3], since=at(2025, 12, 7), until=AS_OF)
    assert [row["buyer_id"] for row in upper] == [pk for pk in sorted(by_buyer) if paid[1] < pk <= paid[3]]


def test_levels_and_rfm_scores_from_fixed_orders(world):
    result = run(batch_size=2)
    # Batches (0, id2], (id2, id4], (id4, id6] and above id6: F's holds no counted order.
    assert (result.ran, result.buyers, result.batches, result.failed, result.reset) == (True, 5, 4, 0, 0)
    assert _memberships() == {
        "A": ("gold", Decimal("6000.00")),
        "B": ("silver", Decimal("1200.00")),
        "C": ("regular", Decimal("600.00")),
        "D": ("regular", Decimal("0.00")),
        "E": ("regular", Decimal("500.00")),
    }
    # R: by recency (D 400, C 100, E 10, B 5, A 2 days); F: D 0, B and E 1 (tied: both get
    # the lower quintile, 2), C 2, A 3; M: D 0, E 500, C 600, B 1200, A 6000.
    assert _scores() == {
        "A": (2, 3, Decimal("6000.00"), 5, 5, 5, "champions"),
        "B": (5, 1, Decimal("1200.00"), 4, 2, 4, "loyal"),
        "E": (10, 1, Decimal("500.00"), 3, 2, 2, "potential"),
        "C": (100, 2, Decimal("600.00"), 2, 4, 3, "at_risk"),
        "D": (400, 0, Decimal("0.00"), 1, 1, 1, "lost"),
    }
    assert set(RfmScore.objects.values_list("computed_at", flat=True)) == {AS_OF}
    history = {
        (c.buyer.email[0].upper(), c.from_name, c.to_name) for c in MembershipChange.objects.select_related("buyer")
    }
    assert history == {
        ("A", "", "Gold"),
        ("B", "", "Silver"),
        ("C", "", "Regular"),
        ("D", "", "Regular"),
        ("E", "", "Regular"),
    }
    with translation.override("en"):
        counts = selectors.rfm_segment_counts()
    assert counts == [
        ("champions", "Champions", 1),
        ("loyal", "Loyal", 1),
        ("new", "New", 0),
        ("potential", "Potential", 1),
        ("at_risk", "At risk", 1),
        ("hibernating", "Hibernating", 0),
        ("lost", "Lost", 1),
    ]


def test_the_job_run_twice_changes_nothing(world):
    first = run(batch_size=2)
    before = _snapshot()
    second = run(batch_size=3)
    assert (second.level_changes, second.reset, second.scored) == (0, 0, 0)
    assert _snapshot() == before
    assert first.scored == 5


def test_a_later_run_moves_levels_writes_history_and_resets_buyers_without_counted_orders(world):
    run()
    b = world["buyers"]
    # C's orders get cancelled (a correction): C has no counted paid order any more.
    MerchantOrder.objects.filter(buyer_order__buyer=b["C"]).update(status="cancelled")
    # A month later A's oldest order (60 days) is still inside the window; B's stays too.
    later = at(2027, 1, 7)
    result = run(as_of=later)
    assert result.reset == 1
    assert _memberships()["C"] == ("regular", Decimal("0.00"))
    assert "C" not in _scores()
    assert RfmScore.objects.count() == 4
    # D was at regular and stays: no history row; nobody else moved.
    assert MembershipChange.objects.filter(changed_at=later).count() == 0


def test_a_level_change_is_recorded_once(world):
    run()
    b = world["buyers"]
    # B's order is refunded by 300: spend 900, below silver.
    order = MerchantOrder.objects.get(buyer_order__buyer=b["B"])
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 7, 10)):
        order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, Decimal("300.00"))], reason="partial"
        )
    next_day = at(2026, 12, 8)
    run(as_of=next_day)
    run(as_of=next_day)
    changes = list(
        MembershipChange.objects.filter(buyer=b["B"]).order_by("changed_at").values_list("to_name", "spend_12m")
    )
    assert changes == [("Silver", Decimal("1200.00")), ("Regular", Decimal("900.00"))]


def test_the_task_runs_the_service_as_of_the_start_of_the_day(world):
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 7, 2, 30)):
        result = members_refresh_task.apply().get()
    assert result["buyers"] == 5 and result["ran"] is True
    assert set(Membership.objects.values_list("computed_at", flat=True)) == {AS_OF}


@pytest.mark.django_db(transaction=True)
def test_one_run_at_a_time():
    """A run while another holds the lock (on its own connection) returns at once, writing nothing."""
    from django.db import connections

    levels(("regular", "Regular", "0"))
    held, release = threading.Event(), threading.Event()

    def other_run():
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [services.members.RUN_LOCK_ID])
                held.set()
                release.wait(30)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [services.members.RUN_LOCK_ID])
        finally:
            conn.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(30)
        reads = []
        spy = services.OrderFigures(bounds=lambda **kw: reads.append(kw) or [], activity=lambda **kw: [])
        result = services.members_refresh(figures=spy, as_of=AS_OF)
        assert result.ran is False and reads == []
    finally:
        release.set()
        thread.join()
    # Once the other run is over, a run works (and releases the lock again).
    empty = services.OrderFigures(bounds=lambda **kw: [], activity=lambda **kw: [])
    assert services.members_refresh(figures=empty, as_of=AS_OF).ran is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [services.members.RUN_LOCK_ID])
        assert cursor.fetchone() == (True,)
        cursor.execute("SELECT pg_advisory_unlock(%s)", [services.members.RUN_LOCK_ID])


# --- Segments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "champions"),
        ((4, 4, 4), "champions"),
        ((4, 3, 3), "loyal"),
        ((3, 3, 3), "loyal"),
        ((5, 1, 1), "new"),
        ((4, 1, 4), "new"),
        ((5, 2, 2), "potential"),
        ((3, 1, 1), "potential"),
        ((2, 3, 3), "at_risk"),
        ((1, 5, 5), "at_risk"),
        ((2, 2, 3), "hibernating"),
        ((1, 2, 3), "lost"),
    ],
)
def test_the_segment_table(scores, segment):
    assert services.rfm_segment(*scores) == segment


def test_every_score_has_a_segment():
    assert {services.rfm_segment(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)} == {
        "champions",
        "loyal",
        "new",
        "potential",
        "at_risk",
        "hibernating",
        "lost",
    }


def test_the_sql_segments_match_the_table():
    """Every (R, F, M) through the SQL CASE gives what rfm_segment gives."""
    case, params = services.members._segment_case()
    values = ", ".join(f"({r}, {f}, {m})" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r, f, m, {case} FROM (VALUES {values}) AS t(r, f, m)", params)
        rows = cursor.fetchall()
    assert len(rows) == 125
    assert all(segment == services.rfm_segment(r, f, m) for r, f, m, segment in rows)


# --- Levels --------------------------------------------------------------------------------------


def _level_rows():
    return list(MembershipLevel.objects.order_by("threshold").values_list("code", "threshold"))


def test_the_default_levels_start_at_zero():
    assert _level_rows() == [
        ("regular", Decimal("0.00")),
        ("silver", Decimal("1000.00")),
        ("gold", Decimal("5000.00")),
        ("platinum", Decimal("20000.00")),
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"threshold": "1000.00"}, "level_threshold_taken"),
        ({"threshold": "-1"}, "level_threshold_negative"),
    ],
)
def test_a_new_level_must_keep_thresholds_strictly_increasing(fields, code):
    before = _level_rows()
    with pytest.raises(MembershipError) as refused:
        services.membership_level_create(actor=None, code="x", name="X", benefits="", **fields)
    assert refused.value.code == code
    assert _level_rows() == before


def test_the_base_level_cannot_move_off_zero_or_go():
    base = MembershipLevel.objects.get(code="regular")
    before = _level_rows()
    with pytest.raises(MembershipError) as refused:
        services.membership_level_update(level=base, actor=None, threshold=Decimal("10"))
    assert refused.value.code == "level_base_required"
    with pytest.raises(MembershipError) as refused:
        services.membership_levels_delete(levels=[base], actor=None)
    assert refused.value.code == "level_base_required"
    assert _level_rows() == before


def test_moving_a_level_onto_another_threshold_is_refused():
    silver = MembershipLevel.objects.get(code="silver")
    before = _level_rows()
    with pytest.raises(MembershipError) as refused:
        services.membership_level_update(level=silver, actor=None, threshold=Decimal("5000.00"))
    assert refused.value.code == "level_threshold_taken"
    assert _level_rows() == before


def test_deleting_a_held_level_moves_its_buyers_by_their_spend():
    gold = MembershipLevel.objects.get(code="gold")
    silver = MembershipLevel.objects.get(code="silver")
    buyer = UserFactory()
    Membership.objects.create(buyer=buyer, level=gold, spend_12m=Decimal("6000.00"), computed_at=AS_OF)
    services.membership_levels_delete(levels=[gold], actor=None)
    assert Membership.objects.get(buyer=buyer).level == silver
    change = MembershipChange.objects.get(buyer=buyer)
    assert (change.from_level_id, change.from_name, change.to_level, change.spend_12m) == (
        None,
        gold.name,
        silver,
        Decimal("6000.00"),
    )


def test_the_buyers_view_shows_spend_and_what_the_next_level_needs():
    buyer = UserFactory()
    view = selectors.membership_of(buyer)
    assert (view.level.code, view.spend_12m, view.next_level.code, view.needed) == (
        "regular",
        Decimal("0.00"),
        "silver",
        Decimal("1000.00"),
    )
    Membership.objects.create(
        buyer=buyer, level=MembershipLevel.objects.get(code="silver"), spend_12m=Decimal("1234.50"), computed_at=AS_OF
    )
    view = selectors.membership_of(buyer)
    assert (view.level.code, view.spend_12m, view.next_level.code, view.needed) == (
        "silver",
        Decimal("1234.50"),
        "gold",
        Decimal("3765.50"),
    )
    top = MembershipLevel.objects.get(code="platinum")
    Membership.objects.filter(buyer=buyer).update(level=top, spend_12m=Decimal("25000.00"))
    view = selectors.membership_of(buyer)
    assert (view.level.code, view.next_level, view.needed) == ("platinum", None, None)


def test_scores_are_rewritten_only_when_they_differ(world):
    run()
    RfmScore.objects.filter(buyer=world["buyers"]["A"]).update(r_score=1, segment="lost")
    assert services.rfm_score_all() == 1
    assert RfmScore.objects.get(buyer=world["buyers"]["A"]).segment == "champions"
    assert services.rfm_score_all() == 0


def test_the_runs_queries_grow_with_its_batches_not_its_buyers(world):
    """Five buyers in one batch, then in five: each batch costs the same fixed number of
    queries (the selector's two, then bulk statements), never one per buyer."""

    def queries(batch_size):
        Membership.objects.all().delete()
        MembershipChange.objects.all().delete()
        RfmScore.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            result = run(batch_size=batch_size)
        assert result.buyers == 5
        return len(captured.captured_queries)

    # Size 100: one batch holding all five. Size 2: three batches with rows and the empty
    # range above the last bound. Size 1: a batch per buyer with a paid order (F's is empty:
    # F's only order was cancelled), then the empty range above the last.
    assert (queries(100), queries(2), queries(1)) == (
        PER_RUN + PER_BATCH,
        PER_RUN + 3 * PER_BATCH + PER_EMPTY_BATCH,
        PER_RUN + 5 * PER_BATCH + 2 * PER_EMPTY_BATCH,
    )


def test_the_selectors_take_one_query_each_whatever_the_batch(world, django_assert_num_queries):
    for size in (1, 100):
        with django_assert_num_queries(1):
            bounds = buyer_activity_bounds(size=size, until=AS_OF)
        with django_assert_num_queries(1):
            buyer_activity(after_buyer_id=0, up_to_buyer_id=(bounds or [None])[0], since=at(2025, 12, 7), until=AS_OF)


def test_a_failing_batch_is_recorded_the_others_stored_and_nobody_reset(world):
    run()
    b = world["buyers"]
    MerchantOrder.objects.filter(buyer_order__buyer=b["C"]).update(status="cancelled")  # C's reset is due
    bounds = buyer_activity_bounds(size=2, until=AS_OF)  # batches: A B | C D | E F | —

    def activity(**kwargs):
        if kwargs["after_buyer_id"] == bounds[0]:
            raise RuntimeError("replica lost")
        return buyer_activity(**kwargs)

    later = at(2026, 12, 8)
    flaky = services.OrderFigures(bounds=buyer_activity_bounds, activity=activity)
    result = services.members_refresh(figures=flaky, as_of=later, batch_size=2)
    assert (result.batches, result.failed, result.buyers, result.reset) == (4, 1, 3, 0)
    failure = JobFailure.objects.get(job="promotions.members_refresh")
    assert (failure.object_type, failure.object_id, failure.code, failure.message, failure.resolved_at) == (
        "promotions.buyer_batch",
        str(bounds[0]),
        "unexpected_error",
        "RuntimeError: replica lost",
        None,
    )
    as_of = {m.buyer.email[0].upper(): m.computed_at for m in Membership.objects.select_related("buyer")}
    assert as_of == {"A": later, "B": later, "C": AS_OF, "D": AS_OF, "E": later}
    assert _memberships()["C"] == ("regular", Decimal("600.00"))  # not reset after a failed batch

    result = services.members_refresh(figures=ORDER_FIGURES, as_of=later, batch_size=2)
    assert (result.failed, result.reset) == (0, 1)
    failure.refresh_from_db()
    assert failure.resolved_at is not None
    assert _memberships()["C"] == ("regular", Decimal("0.00"))
