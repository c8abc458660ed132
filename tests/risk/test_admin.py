"""The admin queue of risk alerts (issue #15): operations filter, acknowledge, resolve with a
note and assign; the chart of open alerts over time; finance release a payout hold. Who may see
and do what is the access matrix's (tests/test_access_matrix.py)."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from marketplace.roles import FINANCE, OPERATIONS
from risk.models import RiskAlert
from risk.selectors.alerts import open_alerts_over_time
from settlements.models import PayoutHold
from settlements.services import payout_hold_place
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state

pytestmark = pytest.mark.django_db


def _staff(group):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _alert(merchant, *, kind="complaint_rate", severity="high", raised_at=None, key=None):
    return RiskAlert.objects.create(
        kind=kind,
        merchant=merchant,
        severity=severity,
        condition_key=key or f"{kind}:m:{merchant.pk}",
        figures={"orders": 20, "complaints": 2, "rate": "0.1000"},
        raised_at=raised_at or timezone.now(),
    )


def test_operations_filter_acknowledge_resolve_and_assign_from_the_queue(client):
    merchant = merchant_in_state("live")
    alert = _alert(merchant)
    _alert(merchant, kind="slow_stock", severity="low")
    ops, colleague = _staff(OPERATIONS), _staff(OPERATIONS)
    client.force_login(ops)
    changelist = reverse("admin:risk_riskalert_changelist")
    page = client.get(changelist, {"severity": "high", "state": "open"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [alert]
    assert page.context["open_chart"]["series"][0]["data"][-1] == 2
    assert 'id="risk-open-alerts"' in page.content.decode()

    change = client.get(reverse("admin:risk_riskalert_change", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "0.1000" in change.content.decode()

    url = reverse("admin:risk_riskalert_resolve", args=[alert.pk])
    refused = client.post(url, {"note": " "}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and refused.context["form"].errors
    alert.refresh_from_db()
    assert alert.state == "open"

    client.post(reverse("admin:risk_riskalert_acknowledge", args=[alert.pk]), {})
    client.post(reverse("admin:risk_riskalert_assign", args=[alert.pk]), {"owner": colleague.pk})
    client.post(url, {"note": "Merchant retrained its service staff"})
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.owner, alert.resolved_by) == ("resolved", ops, colleague, ops)
    assert alert.resolution_note == "Merchant retrained its service staff"


def test_finance_cannot_work_the_alert_queue_and_operations_cannot_release_a_hold(client):
    merchant = merchant_in_state("live")
    alert = _alert(merchant)
    hold, _placed = payout_hold_place(
        merchant_id=merchant.pk, cause="bank_account_changed", caused_at=timezone.now(), reason="Changed"
    )
    client.force_login(_staff(FINANCE))
    assert client.post(reverse("admin:risk_riskalert_acknowledge", args=[alert.pk]), {}).status_code == 403
    client.force_login(_staff(OPERATIONS))
    url = reverse("admin:settlements_payouthold_release", args=[hold.pk])
    assert client.post(url, {"note": "ok"}).status_code == 403
    alert.refresh_from_db()
    assert alert.state == "open" and PayoutHold.objects.get().status == "open"

    client.force_login(_staff(FINANCE))
    client.post(url, {"note": "Called the merchant's registered phone"})
    assert PayoutHold.objects.get().status == "released"


def test_open_alerts_over_time_counts_each_day_by_severity():
    merchant = merchant_in_state("live")
    today = timezone.localdate()
    tz = timezone.get_current_timezone()

    def day(n, hour=12):
        return datetime.datetime.combine(today - datetime.timedelta(days=n), datetime.time(hour), tzinfo=tz)

    _alert(merchant, key="a", raised_at=day(2))
    resolved = _alert(merchant, key="b", severity="low", raised_at=day(2))
    RiskAlert.objects.filter(pk=resolved.pk).update(state="resolved", resolved_at=day(1))
    _alert(merchant, key="c", severity="medium", raised_at=day(0, 0))
    rows = open_alerts_over_time(days=4, today=today)
    assert [(r["open"], r["high"], r["medium"], r["low"]) for r in rows] == [
        (0, 0, 0, 0),
        (2, 1, 0, 1),
        (1, 1, 0, 0),
        (2, 1, 1, 0),
    ]
    assert rows[-1]["day"] == today.isoformat()
