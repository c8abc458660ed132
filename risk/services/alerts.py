"""Risk alerts: raising them (from the periodic jobs and from events), and staff's
acknowledge / resolve / assign.

Guarantees:
- at most one open or acknowledged alert per condition (`condition_key`): the partial unique
  index `risk_alert_one_live_per_condition` decides when two job runs race, and the loser
  returns the winner's alert (nothing else written);
- a condition is raised again only after its last alert was resolved *and* the job saw the
  condition gone (`cleared_at`) and then back; an event (grade fell to D, a quarterly score,
  a bank account changed) is itself the condition coming back;
- every alert raised, acknowledged, resolved or assigned writes an audit entry in the same
  transaction; the owner's e-mail is enqueued by name after commit (`risk.tasks.
  alert_email_task`, sent once per alert: the task claims `owner_notified_at`);
- the jobs read every merchant's figures with one aggregate query per figure (lower apps'
  selectors), then go through `marketplace.jobs.run_each` for the few conditions found, each
  in its own transaction; they are idempotent (run them as often as you like).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from catalog import selectors as catalog_selectors
from marketplace.audit import audit_record
from marketplace.errors import DomainError
from marketplace.jobs import JobRun, enqueue_on_commit, run_each
from marketplace.transitions import transition
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.choices import PortalSection
from notifications.services import notify
from orders.selectors import risk_figures
from settlements import selectors as settlement_selectors
from settlements import services as settlement_services
from settlements.periods import Period

from ..choices_alerts import LIVE_STATES, AlertKind, AlertSeverity
from ..models import ALERT_TRANSITIONS, RiskAlert
from ..selectors.alerts import alert_rule_owner_id, slow_stock_threshold_days

EMAIL_TASK = "risk.tasks.alert_email_task"
DOCUMENT_EXPIRED_EMAIL_TASK = "risk.tasks.document_expired_email_task"
RATE = Decimal("0.0001")


@dataclass(frozen=True)
class Condition:
    """What a job found: the alert to raise if none is live for `key`."""

    kind: str
    key: str
    severity: str
    merchant_id: int | None = None
    figures: dict = field(default_factory=dict)


def rate(part: int, whole: int) -> str:
    """part / whole to four places (half up), as text for the alert's figures."""
    if not whole:
        return "0.0000"
    return str((Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP))


# --- Raising and clearing -------------------------------------------------------------------


@transaction.atomic
def alert_raise(*, condition: Condition, event: bool = False) -> tuple[RiskAlert, bool]:
    """Raise an alert for `condition` unless one is live for its key; returns (the alert,
    whether this call raised it).

    A live alert whose condition had cleared is marked current again (`cleared_at` emptied).
    Without `event`, a key whose last alert was resolved while the condition never cleared
    raises nothing (the job sees the same condition every run). Locks the live alert's row if
    any; a concurrent raiser of the same key waits on the unique index and gets this alert.
    Schedules the owner's e-mail after commit.
    """
    live = (
        RiskAlert.objects.select_for_update().filter(condition_key=condition.key, state__in=list(LIVE_STATES)).first()
    )
    if live is not None:
        if live.cleared_at is not None:
            RiskAlert.objects.filter(pk=live.pk).update(cleared_at=None)
        return live, False
    if not event:
        last = RiskAlert.objects.filter(condition_key=condition.key).order_by("-raised_at", "-id").first()
        if last is not None and last.cleared_at is None:
            return last, False
    try:
        with transaction.atomic():
            alert = RiskAlert.objects.create(
                kind=condition.kind,
                merchant_id=condition.merchant_id,
                severity=condition.severity,
                condition_key=condition.key,
                figures=condition.figures,
                owner_id=alert_rule_owner_id(condition.kind),
                raised_at=timezone.now(),
            )
    except IntegrityError:
        # Raised meanwhile by a concurrent run (the index made this insert wait for its commit).
        return RiskAlert.objects.get(condition_key=condition.key, state__in=list(LIVE_STATES)), False
    audit_record(action="risk.alert_raised", obj=alert, data={"kind": alert.kind, "figures": alert.figures})
    enqueue_on_commit(EMAIL_TASK, alert.pk)
    _tell_merchant(alert)
    return alert, True


#: Alerts the merchant is not told of as a risk alert: low stock reaches its members as the
#: notification of the stock alert itself (catalog), and an expired document by its own e-mail
#: (`risk.tasks.document_expired_email_task`).
NOT_TOLD_TO_MERCHANT = frozenset({AlertKind.STOCK_BELOW_REORDER, AlertKind.DOCUMENT_EXPIRED})


def _tell_merchant(alert: RiskAlert) -> None:
    # The shop's owner (the contract's section) hears of an alert on its shop in the
    # notification centre and by e-mail after commit (notifications.notify). The kind goes as
    # its English words, which the notification shows in the reader's language.
    if alert.merchant_id is None or alert.kind in NOT_TOLD_TO_MERCHANT:
        return
    with translation.override(None):
        summary = str(AlertKind(alert.kind).label)
    notify(
        user_ids=merchant_selectors.member_user_ids(alert.merchant_id, section=PortalSection.CONTRACT),
        kind="risk_alert",
        params={"summary": summary, "alert": alert.pk},
    )


def alerts_clear(*, kind: str, present: set[str], now: datetime.datetime | None = None) -> int:
    """Mark `kind`'s alerts whose condition is not in `present` as cleared (one UPDATE);
    returns how many. A resolved alert so marked lets its condition be raised again."""
    return (
        RiskAlert.objects.filter(kind=kind, cleared_at__isnull=True)
        .exclude(condition_key__in=present)
        .update(cleared_at=now or timezone.now())
    )


def alert_condition_cleared(*, key: str) -> int:
    """The condition `key` is gone (an event said so, e.g. the grade left D)."""
    return RiskAlert.objects.filter(condition_key=key, cleared_at__isnull=True).update(cleared_at=timezone.now())


def _raise_all(*, job: str, kind: str, conditions: list[Condition]) -> JobRun:
    by_key = {c.key: c for c in conditions}

    def handle(key):
        return alert_raise(condition=by_key[key])[1]

    run = run_each(job=job, object_type="risk_condition", ids=sorted(by_key), handle=handle)
    alerts_clear(kind=kind, present=set(by_key))
    return run


# --- Staff's actions ----------------------------------------------------------------------


def _record(action: str, actor, **data):
    def record(alert, previous):
        audit_record(action=action, actor=actor, obj=alert, data={"from": previous, **data})

    return record


@transaction.atomic
def alert_acknowledge(*, alert: RiskAlert, actor) -> RiskAlert:
    """open → acknowledged, with who and when; 409 `invalid_transition` otherwise. Locks the row."""
    return transition(
        alert,
        "acknowledge",
        table=ALERT_TRANSITIONS,
        changes={"acknowledged_by": actor, "acknowledged_at": timezone.now()},
        record=_record("risk.alert_acknowledged", actor),
    )


@transaction.atomic
def alert_resolve(*, alert: RiskAlert, actor, note: str) -> RiskAlert:
    """open or acknowledged → resolved, with who, when and the note (400 `note_required`
    without one); 409 `invalid_transition` if already resolved. Locks the row."""
    note = (note or "").strip()
    if not note:
        raise DomainError("note_required", _("Say how the alert was dealt with."))
    return transition(
        alert,
        "resolve",
        table=ALERT_TRANSITIONS,
        changes={"resolved_by": actor, "resolved_at": timezone.now(), "resolution_note": note[:4000]},
        record=_record("risk.alert_resolved", actor, note=note[:4000]),
    )


@transaction.atomic
def alert_assign(*, alert: RiskAlert, actor, owner_id: int) -> RiskAlert:
    """Give a live alert to another active staff member (400 `invalid_owner` otherwise; 409
    `invalid_transition` for a resolved alert). Locks the row; audited."""
    locked = RiskAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.state not in LIVE_STATES:
        raise ALERT_TRANSITIONS.refuse(locked, "acknowledge")
    if not get_user_model().objects.filter(pk=owner_id, is_staff=True, is_active=True).exists():
        raise DomainError("invalid_owner", _("Choose an active staff member."), {"owner": owner_id})
    previous = locked.owner_id
    RiskAlert.objects.filter(pk=locked.pk).update(owner_id=owner_id)
    locked.owner_id = owner_id
    audit_record(action="risk.alert_assigned", actor=actor, obj=locked, data={"from": previous, "to": owner_id})
    return locked


# --- The jobs -------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def alerts_complaint_rate(*, now: datetime.datetime | None = None) -> JobRun:
    """Complaints over merchant orders paid in the last `RISK_COMPLAINT_DAYS` (30) days above
    `RISK_COMPLAINT_RATE` (5 %), for merchants with at least `RISK_COMPLAINT_MIN_ORDERS` (20)
    such orders."""
    now = _now(now)
    since = now - datetime.timedelta(days=settings.RISK_COMPLAINT_DAYS)
    orders = risk_figures.orders_paid_by_merchant(since=since, until=now)
    complaints = risk_figures.complaints_by_merchant(since=since, until=now)
    limit = Decimal(settings.RISK_COMPLAINT_RATE)
    conditions = []
    for merchant_id, n in orders.items():
        c = complaints.get(merchant_id, 0)
        if n >= settings.RISK_COMPLAINT_MIN_ORDERS and Decimal(c) > limit * n:
            conditions.append(
                Condition(
                    kind=AlertKind.COMPLAINT_RATE,
                    key=f"complaint_rate:m:{merchant_id}",
                    severity=AlertSeverity.HIGH,
                    merchant_id=merchant_id,
                    figures={"days": settings.RISK_COMPLAINT_DAYS, "orders": n, "complaints": c, "rate": rate(c, n)},
                )
            )
    return _raise_all(job="risk.complaint_rate", kind=AlertKind.COMPLAINT_RATE, conditions=conditions)


def alerts_return_rate_spike(*, now: datetime.datetime | None = None) -> JobRun:
    """Return rate (return-and-refund requests opened / merchant orders paid) of the last
    `RISK_RETURN_RECENT_DAYS` (7) days against the `RISK_RETURN_BASELINE_DAYS` (30) days before
    them: a spike is a recent rate at least `RISK_RETURN_SPIKE_FACTOR` (2) times the baseline
    and at least `RISK_RETURN_SPIKE_POINTS` (0.05) above it, on at least
    `RISK_RETURN_MIN_ORDERS` (10) recent orders."""
    now = _now(now)
    split = now - datetime.timedelta(days=settings.RISK_RETURN_RECENT_DAYS)
    start = split - datetime.timedelta(days=settings.RISK_RETURN_BASELINE_DAYS)
    recent_orders = risk_figures.orders_paid_by_merchant(since=split, until=now)
    recent_returns = risk_figures.returns_by_merchant(since=split, until=now)
    base_orders = risk_figures.orders_paid_by_merchant(since=start, until=split)
    base_returns = risk_figures.returns_by_merchant(since=start, until=split)
    factor = Decimal(settings.RISK_RETURN_SPIKE_FACTOR)
    points = Decimal(settings.RISK_RETURN_SPIKE_POINTS)
    conditions = []
    for merchant_id, n in recent_orders.items():
        if n < settings.RISK_RETURN_MIN_ORDERS:
            continue
        r = Decimal(recent_returns.get(merchant_id, 0)) / n
        bn = base_orders.get(merchant_id, 0)
        br = Decimal(base_returns.get(merchant_id, 0)) / bn if bn else Decimal(0)
        if r >= br * factor and r - br >= points:
            conditions.append(
                Condition(
                    kind=AlertKind.RETURN_RATE_SPIKE,
                    key=f"return_rate_spike:m:{merchant_id}",
                    severity=AlertSeverity.MEDIUM,
                    merchant_id=merchant_id,
                    figures={
                        "recent_days": settings.RISK_RETURN_RECENT_DAYS,
                        "recent_orders": n,
                        "recent_returns": recent_returns.get(merchant_id, 0),
                        "recent_rate": rate(recent_returns.get(merchant_id, 0), n),
                        "baseline_days": settings.RISK_RETURN_BASELINE_DAYS,
                        "baseline_orders": bn,
                        "baseline_returns": base_returns.get(merchant_id, 0),
                        "baseline_rate": rate(base_returns.get(merchant_id, 0), bn),
                    },
                )
            )
    return _raise_all(job="risk.return_rate_spike", kind=AlertKind.RETURN_RATE_SPIKE, conditions=conditions)


def alerts_on_time_shipping(*, now: datetime.datetime | None = None) -> JobRun:
    """On-time shipping rate (orders shipped within `PROMISED_SHIPPING_HOURS` of payment, over
    the orders paid whose promised time has passed; an order still unshipped then is late) of
    the last `RISK_SHIPPING_RECENT_DAYS` (14) days against the `RISK_SHIPPING_BASELINE_DAYS`
    (30) before them: falling is `RISK_SHIPPING_DROP_POINTS` (0.10) or more lower, each window
    with at least `RISK_SHIPPING_MIN_ORDERS` (20) orders."""
    now = _now(now)
    hours = settings.PROMISED_SHIPPING_HOURS
    split = now - datetime.timedelta(days=settings.RISK_SHIPPING_RECENT_DAYS)
    start = split - datetime.timedelta(days=settings.RISK_SHIPPING_BASELINE_DAYS)
    recent = risk_figures.shipping_on_time_by_merchant(since=split, until=now, promised_hours=hours)
    # The baseline window ends where the recent one starts: its orders' promised times have
    # passed by `split + hours`, so its figures are final.
    base = risk_figures.shipping_on_time_by_merchant(
        since=start, until=split + datetime.timedelta(hours=hours), promised_hours=hours
    )
    drop = Decimal(settings.RISK_SHIPPING_DROP_POINTS)
    minimum = settings.RISK_SHIPPING_MIN_ORDERS
    conditions = []
    for merchant_id, (due, on_time) in recent.items():
        bdue, bon = base.get(merchant_id, (0, 0))
        if due < minimum or bdue < minimum:
            continue
        if Decimal(bon) / bdue - Decimal(on_time) / due >= drop:
            conditions.append(
                Condition(
                    kind=AlertKind.ON_TIME_SHIPPING_FALL,
                    key=f"on_time_shipping_fall:m:{merchant_id}",
                    severity=AlertSeverity.MEDIUM,
                    merchant_id=merchant_id,
                    figures={
                        "recent_days": settings.RISK_SHIPPING_RECENT_DAYS,
                        "recent_orders": due,
                        "recent_on_time": on_time,
                        "recent_rate": rate(on_time, due),
                        "baseline_days": settings.RISK_SHIPPING_BASELINE_DAYS,
                        "baseline_orders": bdue,
                        "baseline_on_time": bon,
                        "baseline_rate": rate(bon, bdue),
                    },
                )
            )
    return _raise_all(job="risk.on_time_shipping", kind=AlertKind.ON_TIME_SHIPPING_FALL, conditions=conditions)


def alerts_stock_below_reorder(*, now: datetime.datetime | None = None) -> JobRun:
    """One alert per merchant with open stock alerts (catalog raises those per SKU and
    warehouse when available stock falls below the reorder point, and closes them when it
    recovers); cleared when none is open any more."""
    conditions = [
        Condition(
            kind=AlertKind.STOCK_BELOW_REORDER,
            key=f"stock_below_reorder:m:{merchant_id}",
            severity=AlertSeverity.LOW,
            merchant_id=merchant_id,
            figures=figures,
        )
        for merchant_id, figures in catalog_selectors.open_stock_alerts_by_merchant().items()
    ]
    return _raise_all(job="risk.stock_below_reorder", kind=AlertKind.STOCK_BELOW_REORDER, conditions=conditions)


def alerts_slow_stock(*, now: datetime.datetime | None = None) -> JobRun:
    """Turnover days = units on hand ÷ (units shipped in the last `RISK_TURNOVER_WINDOW_DAYS`
    (30) days ÷ those days), per merchant over all its stock; slow above the threshold
    (`slow_stock_threshold_days`: the admin's, else `RISK_SLOW_STOCK_DAYS`, 90). Stock that
    did not move at all in the window is slow whatever the threshold."""
    now = _now(now)
    window = settings.RISK_TURNOVER_WINDOW_DAYS
    threshold = slow_stock_threshold_days()
    figures = catalog_selectors.stock_turnover_by_merchant(since=now - datetime.timedelta(days=window), until=now)
    conditions = []
    for merchant_id, (on_hand, shipped) in figures.items():
        # on_hand / (shipped / window) > threshold, without dividing by zero.
        if on_hand * window > threshold * shipped:
            days = (Decimal(on_hand) * window / shipped).quantize(Decimal("0.1"), ROUND_HALF_UP) if shipped else None
            conditions.append(
                Condition(
                    kind=AlertKind.SLOW_STOCK,
                    key=f"slow_stock:m:{merchant_id}",
                    severity=AlertSeverity.LOW,
                    merchant_id=merchant_id,
                    figures={
                        "on_hand": on_hand,
                        "shipped": shipped,
                        "window_days": window,
                        "turnover_days": str(days) if days is not None else None,
                        "threshold_days": str(threshold),
                    },
                )
            )
    return _raise_all(job="risk.slow_stock", kind=AlertKind.SLOW_STOCK, conditions=conditions)


def alerts_deposit_short(*, now: datetime.datetime | None = None) -> JobRun:
    """Live or suspended merchants whose deposit held is below their tier's deposit."""
    required = merchant_selectors.deposit_requirements()
    held = merchant_selectors.deposit_balances()
    conditions = []
    for merchant_id, amount in required.items():
        balance = held.get(merchant_id, Decimal("0.00"))
        if balance < amount:
            conditions.append(
                Condition(
                    kind=AlertKind.DEPOSIT_SHORT,
                    key=f"deposit_short:m:{merchant_id}",
                    severity=AlertSeverity.MEDIUM,
                    merchant_id=merchant_id,
                    figures={"required": str(amount), "held": str(balance), "short": str(amount - balance)},
                )
            )
    return _raise_all(job="risk.deposit_short", kind=AlertKind.DEPOSIT_SHORT, conditions=conditions)


def alerts_documents(*, today: datetime.date | None = None) -> tuple[JobRun, JobRun]:
    """A merchant's current document (its newest of a kind) expiring within
    `DOCUMENT_EXPIRY_WARNING_DAYS` (30) days: an "expiring" alert; expired (before today): an
    "expired" alert (high), which is the merchant's flag, and the merchant is e-mailed once
    (`risk.tasks.document_expired_email_task`). A renewed document clears both."""
    today = today or timezone.localdate()
    rows = merchant_selectors.documents_expiring_current(today=today, within_days=settings.DOCUMENT_EXPIRY_WARNING_DAYS)
    expiring, expired = [], []
    for document_id, merchant_id, kind, expires_on in rows:
        figures = {"document": document_id, "kind": kind, "expires_on": expires_on.isoformat()}
        if expires_on < today:
            expired.append(
                Condition(
                    kind=AlertKind.DOCUMENT_EXPIRED,
                    key=f"document_expired:d:{document_id}",
                    severity=AlertSeverity.HIGH,
                    merchant_id=merchant_id,
                    figures={**figures, "days_expired": (today - expires_on).days},
                )
            )
        else:
            expiring.append(
                Condition(
                    kind=AlertKind.DOCUMENT_EXPIRING,
                    key=f"document_expiring:d:{document_id}",
                    severity=AlertSeverity.LOW,
                    merchant_id=merchant_id,
                    figures={**figures, "days_left": (expires_on - today).days},
                )
            )
    run_expiring = _raise_all(job="risk.document_expiring", kind=AlertKind.DOCUMENT_EXPIRING, conditions=expiring)
    by_key = {c.key: c for c in expired}

    def handle(key):
        alert, raised = alert_raise(condition=by_key[key])
        if raised:
            enqueue_on_commit(DOCUMENT_EXPIRED_EMAIL_TASK, alert.pk)
        # The merchant's flag (domain.md: "a merchant with an expired document is flagged"),
        # kept by the merchants app; idempotent, written only when it changes.
        merchant = merchant_selectors.merchant_get(by_key[key].merchant_id)
        if merchant is not None:
            merchant_services.merchant_refresh_expired_flag(merchant=merchant)
        return raised

    run_expired = run_each(job="risk.document_expired", object_type="risk_condition", ids=sorted(by_key), handle=handle)
    alerts_clear(kind=AlertKind.DOCUMENT_EXPIRED, present=set(by_key))
    return run_expiring, run_expired


def alerts_negative_payable(*, today: datetime.date | None = None) -> JobRun:
    """Merchants whose statements of the last two settled periods (the two months before the
    current one) both have a negative payable."""
    today = today or timezone.localdate()
    last = Period.parse(f"{today:%Y-%m}").previous
    periods = [str(last.previous), str(last)]
    conditions = [
        Condition(
            kind=AlertKind.NEGATIVE_PAYABLE,
            key=f"negative_payable:m:{merchant_id}",
            severity=AlertSeverity.HIGH,
            merchant_id=merchant_id,
            figures={"payable": {p: str(v) for p, v in sorted(by_period.items())}},
        )
        for merchant_id, by_period in settlement_selectors.negative_payables(periods=periods).items()
    ]
    return _raise_all(job="risk.negative_payable", kind=AlertKind.NEGATIVE_PAYABLE, conditions=conditions)


def alerts_reconciliation(*, today: datetime.date | None = None, period: str | None = None) -> JobRun:
    """Settlements' reconciliation of the last month (or `period`): one platform-wide alert
    per section with differences (their count and the first 20)."""
    today = today or timezone.localdate()
    period = period or str(Period.parse(f"{today:%Y-%m}").previous)
    report = settlement_selectors.reconcile(period=period)
    conditions = [
        Condition(
            kind=AlertKind.RECONCILIATION,
            key=f"reconciliation:{period}:{name}",
            severity=AlertSeverity.HIGH,
            figures={
                "period": period,
                "section": name,
                "count": len(s["differences"]),
                "differences": s["differences"][:20],
            },
        )
        for name, s in report.sections.items()
        if s["differences"]
    ]
    by_key = {c.key: c for c in conditions}
    run = run_each(
        job="risk.reconciliation",
        object_type="risk_condition",
        ids=sorted(by_key),
        handle=lambda key: alert_raise(condition=by_key[key])[1],
    )
    # Only this period's sections clear: other periods are reconciled on their own runs.
    RiskAlert.objects.filter(
        kind=AlertKind.RECONCILIATION, condition_key__startswith=f"reconciliation:{period}:", cleared_at__isnull=True
    ).exclude(condition_key__in=set(by_key)).update(cleared_at=timezone.now())
    return run


# --- Events -----------------------------------------------------------------------------------


def alert_credit_grade_changed(*, merchant_id: int, previous: str, grade: str) -> RiskAlert | None:
    """The grade fell to D: raise (high); it left D: the condition is cleared."""
    key = f"credit_grade_d:m:{merchant_id}"
    if grade == "D" and previous != "D":
        return alert_raise(
            condition=Condition(
                kind=AlertKind.CREDIT_GRADE_D,
                key=key,
                severity=AlertSeverity.HIGH,
                merchant_id=merchant_id,
                figures={"previous": previous, "grade": grade},
            ),
            event=True,
        )[0]
    if previous == "D" and grade != "D":
        alert_condition_cleared(key=key)
    return None


def alert_quarterly_score(*, merchant_id: int, evaluation_id: int, score, quarter: str) -> RiskAlert | None:
    """A quarterly evaluation scored below `RISK_QUARTERLY_MIN_SCORE` (80): raise (high), once
    per evaluation."""
    if Decimal(str(score)) >= Decimal(settings.RISK_QUARTERLY_MIN_SCORE):
        return None
    return alert_raise(
        condition=Condition(
            kind=AlertKind.QUARTERLY_SCORE_LOW,
            key=f"quarterly_score_low:e:{evaluation_id}",
            severity=AlertSeverity.HIGH,
            merchant_id=merchant_id,
            figures={"evaluation": evaluation_id, "score": str(score), "quarter": str(quarter)},
        ),
        event=True,
    )[0]


def _reason(days: int) -> str:
    # Stored text: in the platform's language, whoever's request it is.
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("The bank account changed within %(days)d days of a payout.") % {"days": days})


@transaction.atomic
def bank_account_change_check(*, merchant_id: int, changed_at: datetime.datetime):
    """A merchant changed its bank account: if a payout is within `PAYOUT_HOLD_WINDOW_DAYS` (7)
    of the change, hold its payouts (settlements' hold; the payout batch leaves it out until
    finance release it) and raise a high alert. "Within" means either side: a payout made in
    the 7 days before the change (money may be in flight; a failed one would be resent), or a
    payout coming (a statement, draft or approved, with money owed and not yet paid out: the
    coming batch would pay the new, unchecked account). Returns the hold, or None.

    Idempotent: a merchant already held keeps its one hold and alert.
    """
    near = settlement_selectors.merchant_payout_near(
        merchant_id=merchant_id, at=changed_at, days=settings.PAYOUT_HOLD_WINDOW_DAYS
    )
    if not (near["recent"] or near["due"]):
        return None
    hold, _placed = settlement_services.payout_hold_place(
        merchant_id=merchant_id,
        cause="bank_account_changed",
        caused_at=changed_at,
        reason=_reason(settings.PAYOUT_HOLD_WINDOW_DAYS),
    )
    alert_raise(
        condition=Condition(
            kind=AlertKind.PAYOUT_HOLD,
            key=f"payout_hold:h:{hold.pk}",
            severity=AlertSeverity.HIGH,
            merchant_id=merchant_id,
            figures={
                "hold": hold.pk,
                "changed_at": changed_at.isoformat(),
                "payouts_in_last_days": near["recent"],
                "statements_owed": near["due"],
            },
        ),
        event=True,
    )
    return hold


# --- The rules staff edit ---------------------------------------------------------------------


@transaction.atomic
def alert_rule_save(*, rule, actor, changes: dict):
    """Operations create or edit a kind's rule (default owner, threshold): validated (400
    `invalid` with the fields), audited with what changed. Applies to alerts raised from then
    on; existing alerts keep their owner."""
    created = rule.pk is None
    locked = rule if created else type(rule).objects.select_for_update().get(pk=rule.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
    try:
        locked.full_clean()
    except ValidationError as exc:
        raise DomainError("invalid", _("Check the highlighted fields."), {"fields": exc.message_dict}) from exc
    locked.save()
    audit_record(
        action=f"risk.alert_rule_{'created' if created else 'changed'}",
        actor=actor,
        obj=locked,
        data={name: str(getattr(value, "pk", value)) for name, value in changes.items()},
    )
    return locked
