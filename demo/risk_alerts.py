"""Demo risk alerts (issue #15): operations own every kind (finance the payout holds), every
alert job runs once over the demo data (whatever it finds is raised: the demo shops' stock that
has not moved is slow stock, ...), and the first demo shop changes its bank account while its
second month's statement is owed, which holds its payouts and raises the payout-hold alert.

Idempotent: when an alert exists, the step creates nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from demo.catalog import SHOPS
from demo.settlements import FINANCE
from merchants.models import Merchant
from risk.choices_alerts import AlertKind
from risk.models import AlertRule, RiskAlert
from risk.services import alerts as services

OPERATIONS = "ops@demo.local"


def seed_risk_alerts(stdout) -> int:
    """Alert rules, the jobs' alerts and one payout hold; returns the number of alerts."""
    User = get_user_model()
    ops = User.objects.filter(email=OPERATIONS).first()
    finance = User.objects.filter(email=FINANCE).first()
    if ops is None or finance is None or RiskAlert.objects.exists():
        return 0
    for kind in AlertKind.values:
        rule = AlertRule.objects.filter(kind=kind).first() or AlertRule(kind=kind)
        owner = finance if kind == AlertKind.PAYOUT_HOLD else ops
        services.alert_rule_save(rule=rule, actor=None, changes={"owner": owner})
    services.alerts_complaint_rate()
    services.alerts_return_rate_spike()
    services.alerts_on_time_shipping()
    services.alerts_stock_below_reorder()
    services.alerts_slow_stock()
    services.alerts_deposit_short()
    services.alerts_documents()
    services.alerts_negative_payable()
    services.alerts_reconciliation()
    shop = Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS], status="live").order_by("pk").first()
    if shop is not None:
        # As the bank-account change (another part of issue #15) will signal it after commit.
        services.bank_account_change_check(merchant_id=shop.pk, changed_at=timezone.now())
    kinds = sorted(set(RiskAlert.objects.values_list("kind", flat=True)))
    stdout.write(f"seed_demo: risk alerts: {RiskAlert.objects.count()} of {len(kinds)} kinds ({', '.join(kinds)})")
    return RiskAlert.objects.count()
