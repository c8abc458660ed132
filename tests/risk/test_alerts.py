"""Risk alerts (issue #15): each rule at its boundary with exact figures, raised once however
often the job runs and again only after resolution and the condition's return, the race of two
runs, staff's transitions, the owner's e-mail once."""

import datetime
import threading
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import translation

from marketplace.errors import DomainError, InvalidTransition
from marketplace.models import AuditLogEntry, JobFailure
from merchants import services as merchant_services
from merchants.choices import MerchantStatus
from merchants.models import DepositEntry, MerchantDocument
from orders.models import Complaint
from risk import tasks
from risk.models import AlertRule, RiskAlert
from risk.services import alerts as services
from risk.signals import quarterly_evaluation_completed
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.risk.factories import complaints, orders, returns

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=SH)
DAY = datetime.timedelta(days=1)


def live():
    return merchant_in_state(MerchantStatus.LIVE)


def _alerts(kind):
    return list(RiskAlert.objects.filter(kind=kind).order_by("pk"))


# --- Complaint rate ---------------------------------------------------------------------------


def test_complaint_rate_above_5_percent_with_20_orders_raises_with_its_figures():
    over, few, at_limit, just_over = live(), live(), live(), live()
    complaints(orders(over, 20, paid_at=NOW - 29 * DAY)[:2], at=NOW - DAY)  # 10 %
    complaints(orders(few, 19, paid_at=NOW - 29 * DAY)[:2], at=NOW - DAY)  # 19 orders: too few to judge
    complaints(orders(at_limit, 40, paid_at=NOW - 2 * DAY)[:2], at=NOW - DAY)  # exactly 5 %: not above
    complaints(orders(just_over, 40, paid_at=NOW - 2 * DAY)[:3], at=NOW - DAY)  # 7.5 %
    # Outside the 30 days: neither these orders nor these complaints count.
    complaints(orders(at_limit, 20, paid_at=NOW - 31 * DAY)[:5], at=NOW - 31 * DAY)

    run = services.alerts_complaint_rate(now=NOW)

    assert (run.done, run.failed) == (2, 0)
    raised = {a.merchant_id: a for a in _alerts("complaint_rate")}
    assert set(raised) == {over.pk, just_over.pk}
    assert raised[over.pk].figures == {"days": 30, "orders": 20, "complaints": 2, "rate": "0.1000"}
    assert raised[just_over.pk].figures == {"days": 30, "orders": 40, "complaints": 3, "rate": "0.0750"}
    assert raised[over.pk].severity == "high" and raised[over.pk].state == "open"
    assert raised[over.pk].condition_key == f"complaint_rate:m:{over.pk}"


def test_raised_once_however_often_the_job_runs_and_again_only_after_resolution_and_return():
    merchant = live()
    made = orders(merchant, 20, paid_at=NOW - DAY)
    complaints(made[:2], at=NOW - DAY)
    staff = UserFactory(is_staff=True)
    for _ in range(3):
        services.alerts_complaint_rate(now=NOW)
    (first,) = _alerts("complaint_rate")
    assert AuditLogEntry.objects.filter(action="risk.alert_raised").count() == 1

    services.alert_resolve(alert=first, actor=staff, note="Called the merchant")
    services.alerts_complaint_rate(now=NOW)  # still there, never went away: no second alert
    assert len(_alerts("complaint_rate")) == 1

    Complaint.objects.filter(merchant_order__in=made).delete()
    services.alerts_complaint_rate(now=NOW)  # gone: the resolved alert is marked cleared
    first.refresh_from_db()
    assert first.cleared_at is not None and len(_alerts("complaint_rate")) == 1

    complaints(made[:2], at=NOW - DAY)  # back
    services.alerts_complaint_rate(now=NOW)
    services.alerts_complaint_rate(now=NOW)
    alerts = _alerts("complaint_rate")
    assert [a.state for a in alerts] == ["resolved", "open"]


def test_a_condition_that_clears_and_returns_while_its_alert_is_open_keeps_the_one_alert():
    merchant = live()
    made = orders(merchant, 20, paid_at=NOW - DAY)
    complaints(made[:2], at=NOW - DAY)
    services.alerts_complaint_rate(now=NOW)
    Complaint.objects.all().delete()
    services.alerts_complaint_rate(now=NOW)
    complaints(made[:2], at=NOW - DAY)
    services.alerts_complaint_rate(now=NOW)
    (alert,) = _alerts("complaint_rate")
    assert alert.state == "open" and alert.cleared_at is None


# --- The owner and the e-mail --------------------------------------------------------------------


def test_the_kinds_default_owner_gets_the_alert_and_one_email(django_capture_on_commit_callbacks):
    owner = UserFactory(is_staff=True, email="risk-owner@example.com")
    AlertRule.objects.create(kind="complaint_rate", owner=owner)
    merchant = live()
    complaints(orders(merchant, 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_complaint_rate(now=NOW)
    (alert,) = _alerts("complaint_rate")
    assert alert.owner == owner and alert.owner_notified_at is not None
    # The owner's e-mail, then the shop owner's notification of the alert on its shop.
    assert [m.to for m in mail.outbox] == [["risk-owner@example.com"], [merchant.owner.email]]
    assert f"/admin/risk/riskalert/{alert.pk}/change/" in mail.outbox[0].body
    # A second delivery of the task (a retry, a redelivery) sends nothing.
    assert tasks.alert_email_task(alert.pk) is False
    assert len(mail.outbox) == 2


def test_an_alert_without_an_owner_emails_nobody(django_capture_on_commit_callbacks):
    complaints(orders(live(), 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_complaint_rate(now=NOW)
    (alert,) = _alerts("complaint_rate")
    assert alert.owner is None and alert.owner_notified_at is None
    # Only the shop's owner hears of it (its notification), no staff e-mail.
    assert [m.to for m in mail.outbox] == [[alert.merchant.owner.email]]


# --- Staff's transitions -------------------------------------------------------------------------


def test_acknowledge_then_resolve_records_who_and_when_and_refuses_the_rest():
    complaints(orders(live(), 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    services.alerts_complaint_rate(now=NOW)
    (alert,) = _alerts("complaint_rate")
    ops = UserFactory(is_staff=True)

    with pytest.raises(DomainError) as info:
        services.alert_resolve(alert=alert, actor=ops, note="  ")
    assert info.value.code == "note_required"
    alert.refresh_from_db()
    assert alert.state == "open" and alert.resolved_at is None

    services.alert_acknowledge(alert=alert, actor=ops)
    with pytest.raises(InvalidTransition):
        services.alert_acknowledge(alert=alert, actor=ops)
    services.alert_resolve(alert=alert, actor=ops, note="Refund policy explained")
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.resolved_by, alert.resolution_note) == (
        "resolved",
        ops,
        ops,
        "Refund policy explained",
    )
    assert alert.acknowledged_at is not None and alert.resolved_at is not None
    with pytest.raises(InvalidTransition) as info:
        services.alert_resolve(alert=alert, actor=ops, note="again")
    assert info.value.code == "invalid_transition"
    actions = list(
        AuditLogEntry.objects.filter(object_id=str(alert.pk), action__startswith="risk.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["risk.alert_raised", "risk.alert_acknowledged", "risk.alert_resolved"]


def test_assigning_needs_active_staff_and_a_live_alert():
    complaints(orders(live(), 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    services.alerts_complaint_rate(now=NOW)
    (alert,) = _alerts("complaint_rate")
    ops, other, buyer = UserFactory(is_staff=True), UserFactory(is_staff=True), UserFactory()
    with pytest.raises(DomainError) as info:
        services.alert_assign(alert=alert, actor=ops, owner_id=buyer.pk)
    assert info.value.code == "invalid_owner"
    alert.refresh_from_db()
    assert alert.owner_id is None
    services.alert_assign(alert=alert, actor=ops, owner_id=other.pk)
    alert.refresh_from_db()
    assert alert.owner == other
    services.alert_resolve(alert=alert, actor=ops, note="done")
    with pytest.raises(InvalidTransition):
        services.alert_assign(alert=alert, actor=ops, owner_id=ops.pk)
    alert.refresh_from_db()
    assert alert.owner == other


# --- Other rules at their boundary ---------------------------------------------------------------


def test_return_rate_spike_last_7_days_against_the_30_before():
    spike, steady, too_few = live(), live(), live()
    # spike: 10 recent orders, 2 returns (20 %) against 40 orders, 2 returns (5 %) before.
    returns(orders(spike, 10, paid_at=NOW - 3 * DAY)[:2], at=NOW - 2 * DAY)
    returns(orders(spike, 40, paid_at=NOW - 20 * DAY)[:2], at=NOW - 19 * DAY)
    # steady: 10 % now against 10 % before: not twice.
    returns(orders(steady, 10, paid_at=NOW - 3 * DAY)[:1], at=NOW - 2 * DAY)
    returns(orders(steady, 40, paid_at=NOW - 20 * DAY)[:4], at=NOW - 19 * DAY)
    # too few: 9 recent orders, 3 returns.
    returns(orders(too_few, 9, paid_at=NOW - 3 * DAY)[:3], at=NOW - 2 * DAY)

    services.alerts_return_rate_spike(now=NOW)

    (alert,) = _alerts("return_rate_spike")
    assert alert.merchant_id == spike.pk
    assert alert.figures == {
        "recent_days": 7,
        "recent_orders": 10,
        "recent_returns": 2,
        "recent_rate": "0.2000",
        "baseline_days": 30,
        "baseline_orders": 40,
        "baseline_returns": 2,
        "baseline_rate": "0.0500",
    }


def test_on_time_shipping_falling_10_points_or_more():
    falling, stable = live(), live()
    hours = datetime.timedelta(hours=10)
    late = datetime.timedelta(hours=60)
    # falling: baseline 20/20 on time; recent 18 of 20 (90 %): 10 points lower.
    orders(falling, 20, paid_at=NOW - 25 * DAY, shipped_after=hours)
    orders(falling, 18, paid_at=NOW - 5 * DAY, shipped_after=hours)
    orders(falling, 2, paid_at=NOW - 5 * DAY)  # never shipped: late
    # stable: baseline 20/20, recent 19 of 20 (95 %).
    orders(stable, 20, paid_at=NOW - 25 * DAY, shipped_after=hours)
    orders(stable, 19, paid_at=NOW - 5 * DAY, shipped_after=hours)
    orders(stable, 1, paid_at=NOW - 5 * DAY, shipped_after=late)
    # Paid within the last 48 h: not due yet, not counted.
    orders(stable, 30, paid_at=NOW - datetime.timedelta(hours=47))

    services.alerts_on_time_shipping(now=NOW)

    (alert,) = _alerts("on_time_shipping_fall")
    assert alert.merchant_id == falling.pk
    assert alert.figures == {
        "recent_days": 14,
        "recent_orders": 20,
        "recent_on_time": 18,
        "recent_rate": "0.9000",
        "baseline_days": 30,
        "baseline_orders": 20,
        "baseline_on_time": 20,
        "baseline_rate": "1.0000",
    }


def test_deposit_below_the_tiers_requirement():
    short, paid = live(), live()
    staff = UserFactory(is_staff=True)
    required = short.tier.deposit_amount
    merchant_services.deposit_deduct(
        merchant=short, actor=staff, amount=Decimal("0.01"), reason="Penalty", reference="P-1"
    )
    services.alerts_deposit_short()
    (alert,) = _alerts("deposit_short")
    assert alert.merchant_id == short.pk
    assert alert.figures == {"required": str(required), "held": str(required - Decimal("0.01")), "short": "0.01"}
    assert paid.pk not in {a.merchant_id for a in _alerts("deposit_short")}
    assert DepositEntry.objects.filter(merchant=paid).count() == 1


def test_documents_expiring_within_30_days_and_expired_the_merchant_told_once(django_capture_on_commit_callbacks):
    merchant = live()
    today = datetime.date(2026, 11, 20)
    (licence,) = MerchantDocument.objects.filter(merchant=merchant)
    MerchantDocument.objects.filter(pk=licence.pk).update(expires_on=today + datetime.timedelta(days=30))

    def document(kind, expires_on):
        return MerchantDocument.objects.create(
            merchant=merchant,
            kind=kind,
            file=licence.file.name,
            content_type=licence.content_type,
            size=licence.size,
            sha256=licence.sha256,
            expires_on=expires_on,
            uploaded_by=merchant.owner,
        )

    expired_doc = document("production_licence", today - DAY)
    document("brand_authorisation", today + datetime.timedelta(days=31))  # beyond the 30 days
    document("quality_certification", today - 5 * DAY)  # expired, but renewed by the newer one below
    document("quality_certification", today + datetime.timedelta(days=365))
    docs = [MerchantDocument.objects.get(pk=licence.pk), expired_doc]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_documents(today=today)
        services.alerts_documents(today=today)
    (expiring,) = _alerts("document_expiring")
    (expired,) = _alerts("document_expired")
    assert expiring.figures == {
        "document": docs[0].pk,
        "kind": docs[0].kind,
        "expires_on": "2026-12-20",
        "days_left": 30,
    }
    assert expired.figures == {
        "document": docs[1].pk,
        "kind": docs[1].kind,
        "expires_on": "2026-11-19",
        "days_expired": 1,
    }
    assert expired.severity == "high" and expired.merchant_notified_at is not None
    # The merchant's e-mail of the expired document (once), and the owner's notification of the
    # expiring one (an expired document is told by that e-mail only).
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [merchant.contact_email or merchant.owner.email, merchant.owner.email]
    )
    merchant.refresh_from_db()
    assert merchant.has_expired_documents is True


# --- Events --------------------------------------------------------------------------------------


def test_grade_falling_to_d_raises_after_commit_and_again_only_after_it_left_d(django_capture_on_commit_callbacks):
    merchant = live()
    staff = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade="D")
    (alert,) = _alerts("credit_grade_d")
    assert (alert.merchant_id, alert.figures) == (merchant.pk, {"previous": "B", "grade": "D"})
    with django_capture_on_commit_callbacks(execute=True):
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade="C")
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade="D")
    assert len(_alerts("credit_grade_d")) == 1  # still open: the same alert
    services.alert_resolve(alert=alert, actor=staff, note="Reviewed")
    with django_capture_on_commit_callbacks(execute=True):
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade="C")
        merchant_services.merchant_set_credit_grade(merchant=merchant, grade="D")
    assert [a.state for a in _alerts("credit_grade_d")] == ["resolved", "open"]


def test_a_grade_change_rolled_back_raises_nothing(django_capture_on_commit_callbacks):
    merchant = live()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                merchant_services.merchant_set_credit_grade(merchant=merchant, grade="D")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == [] and _alerts("credit_grade_d") == []


def test_a_quarterly_score_below_80_raises_once_per_evaluation(django_capture_on_commit_callbacks):
    merchant = live()
    with django_capture_on_commit_callbacks(execute=True):
        quarterly_evaluation_completed.send(
            sender=None, merchant_id=merchant.pk, evaluation_id=7, score=Decimal("80.00"), quarter="2026Q3"
        )
        quarterly_evaluation_completed.send(
            sender=None, merchant_id=merchant.pk, evaluation_id=8, score=Decimal("79.99"), quarter="2026Q4"
        )
        quarterly_evaluation_completed.send(
            sender=None, merchant_id=merchant.pk, evaluation_id=8, score=Decimal("79.99"), quarter="2026Q4"
        )
    (alert,) = _alerts("quarterly_score_low")
    assert alert.figures == {"evaluation": 8, "score": "79.99", "quarter": "2026Q4"}
    assert alert.condition_key == "quarterly_score_low:e:8"


# --- The race of two job runs ----------------------------------------------------------------------


def _raise_and_hold(condition, inserted: threading.Event, release: threading.Event, out: list):
    try:
        with transaction.atomic():
            out.append(services.alert_raise(condition=condition))
            inserted.set()
            release.wait(timeout=30)
    finally:
        connection.close()


def _wait_for_a_lock_waiter() -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def _run_job(out: list):
    try:
        out.append(services.alerts_complaint_rate(now=NOW))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_job_runs_racing_raise_one_alert():
    merchant = live()
    complaints(orders(merchant, 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    condition = services.Condition(
        kind="complaint_rate",
        key=f"complaint_rate:m:{merchant.pk}",
        severity="high",
        merchant_id=merchant.pk,
        figures={"days": 30, "orders": 20, "complaints": 2, "rate": "0.1000"},
    )
    inserted, release = threading.Event(), threading.Event()
    first, second = [], []
    holder = threading.Thread(target=_raise_and_hold, args=(condition, inserted, release, first))
    holder.start()
    try:
        assert inserted.wait(timeout=10)
        runner = threading.Thread(target=_run_job, args=(second,))
        runner.start()
        # The second run's insert waits on the first's uncommitted row in the unique index.
        assert _wait_for_a_lock_waiter()
    finally:
        release.set()
        holder.join(timeout=30)
    runner.join(timeout=30)
    assert first[0][1] is True
    (run,) = second
    assert (run.done, run.skipped, run.failed) == (0, 1, 0)
    assert RiskAlert.objects.filter(kind="complaint_rate").count() == 1
    assert not JobFailure.objects.filter(job="risk.complaint_rate").exists()


def test_the_shop_owner_is_told_of_an_alert_on_its_shop_in_its_language(django_capture_on_commit_callbacks):
    from notifications.models import Notification
    from notifications.texts import render

    merchant = live()
    complaints(orders(merchant, 20, paid_at=NOW - DAY)[:2], at=NOW - DAY)
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_complaint_rate(now=NOW)
        services.alerts_complaint_rate(now=NOW)  # raised once: told once
    (alert,) = _alerts("complaint_rate")
    (notice,) = Notification.objects.filter(kind="risk_alert")
    assert (notice.user_id, notice.params) == (
        merchant.owner_id,
        {"summary": "Complaint rate above 5 %", "alert": alert.pk},
    )
    with translation.override("en"):
        assert render(notice.kind, notice.params, "line") == "Risk alert: Complaint rate above 5 %"
    with translation.override("zh-hans"):
        assert render(notice.kind, notice.params, "line") == "风险预警：投诉率超过 5%"
