"""Reads of the risk alerts: the admin queue, the chart of open alerts over time, and the
per-kind rules (default owner, threshold)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..choices_alerts import AlertKind, AlertState
from ..models import AlertRule, RiskAlert


def alert_list() -> QuerySet[RiskAlert]:
    """Every alert, newest first, with its merchant and the people on it (staff only)."""
    return RiskAlert.objects.select_related("merchant", "owner", "acknowledged_by", "resolved_by")


def alert_rule_owner_id(kind: str) -> int | None:
    """The default owner of new alerts of `kind` (None: nobody yet)."""
    return AlertRule.objects.filter(kind=kind).values_list("owner_id", flat=True).first()


def slow_stock_threshold_days() -> Decimal:
    """Turnover days above which a merchant's stock is slow: the rule's threshold set in the
    admin, else `RISK_SLOW_STOCK_DAYS`."""
    value = AlertRule.objects.filter(kind=AlertKind.SLOW_STOCK).values_list("threshold", flat=True).first()
    return Decimal(value) if value is not None else Decimal(settings.RISK_SLOW_STOCK_DAYS)


def open_alerts_over_time(*, days: int = 30, today: datetime.date | None = None) -> list[dict]:
    """For each of the last `days` days (oldest first): how many alerts were open or
    acknowledged at the end of that day, by severity. One query."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    ends = [
        datetime.datetime.combine(today - datetime.timedelta(days=n - 1), datetime.time.min, tzinfo=tz)
        for n in range(days, 0, -1)
    ]
    ends = [end + datetime.timedelta(days=1) for end in ends]
    aggregates = {}
    for n, end in enumerate(ends):
        live = Q(raised_at__lt=end) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
        aggregates[f"d{n}_all"] = Count("pk", filter=live)
        for severity in ("low", "medium", "high"):
            aggregates[f"d{n}_{severity}"] = Count("pk", filter=live & Q(severity=severity))
    row = RiskAlert.objects.filter(raised_at__lt=ends[-1]).aggregate(**aggregates) if ends else {}
    return [
        {
            "day": (end - datetime.timedelta(days=1)).date().isoformat(),
            "open": row[f"d{n}_all"],
            "low": row[f"d{n}_low"],
            "medium": row[f"d{n}_medium"],
            "high": row[f"d{n}_high"],
        }
        for n, end in enumerate(ends)
    ]


def alert_counts_by_state() -> dict[str, int]:
    """How many alerts are in each state."""
    counts = dict(RiskAlert.objects.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in AlertState.values}
