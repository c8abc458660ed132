"""The stock, settlement and reconciliation rules of the risk alerts at their boundaries."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import StockAlert, StockMovement
from risk.models import AlertRule, RiskAlert
from risk.services import alerts as services
from settlements.models import Statement
from settlements.selectors import Reconciliation
from tests.catalog.factories import live_merchant, product, warehouse
from tests.merchants.factories import merchant_in_state

pytestmark = pytest.mark.django_db


def _stocked(units=100):
    merchant, (category,) = live_merchant()
    sku = product(merchant, category).skus.get()
    wh = warehouse()
    catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=units, actor=merchant.owner)
    return merchant, sku.stock.get()


def _shipped(stock, units, *, days_ago=1):
    movement = StockMovement.objects.create(
        stock=stock, kind="shipment", on_hand_delta=-units, on_hand_after=stock.on_hand, reserved_after=0
    )
    StockMovement.objects.filter(pk=movement.pk).update(created_at=timezone.now() - datetime.timedelta(days=days_ago))


def test_stock_below_reorder_point_one_alert_per_merchant_cleared_when_the_stock_alerts_close():
    merchant, stock = _stocked()
    _shipped(stock, 100)  # moving stock: not slow
    StockAlert.objects.create(stock=stock, merchant=merchant, available_at_open=2, reorder_point=5)
    services.alerts_stock_below_reorder()
    services.alerts_stock_below_reorder()
    (alert,) = RiskAlert.objects.filter(kind="stock_below_reorder")
    assert (alert.merchant_id, alert.severity, alert.figures) == (
        merchant.pk,
        "low",
        {"skus_below": 1, "lowest_available": 2},
    )
    StockAlert.objects.update(closed_at=timezone.now())
    services.alerts_stock_below_reorder()
    alert.refresh_from_db()
    assert alert.cleared_at is not None and alert.state == "open"


def test_slow_stock_turnover_days_above_90_or_the_admins_threshold():
    fast, fast_stock = _stocked()
    slow, slow_stock = _stocked()
    still, _still_stock = _stocked()
    _shipped(fast_stock, 34)  # 100 ÷ (34 / 30) = 88.2 days
    _shipped(slow_stock, 33)  # 90.9 days
    _shipped(slow_stock, 10, days_ago=31)  # before the window: not counted
    services.alerts_slow_stock()
    alerts = {a.merchant_id: a.figures for a in RiskAlert.objects.filter(kind="slow_stock")}
    assert alerts == {
        slow.pk: {"on_hand": 100, "shipped": 33, "window_days": 30, "turnover_days": "90.9", "threshold_days": "90"},
        still.pk: {"on_hand": 100, "shipped": 0, "window_days": 30, "turnover_days": None, "threshold_days": "90"},
    }
    assert fast.pk not in alerts

    RiskAlert.objects.all().delete()
    AlertRule.objects.create(kind="slow_stock", threshold=Decimal("91.00"))
    services.alerts_slow_stock()
    assert set(RiskAlert.objects.filter(kind="slow_stock").values_list("merchant_id", flat=True)) == {still.pk}


def test_negative_payable_two_months_running():
    both, one = merchant_in_state("live"), merchant_in_state("live")
    today = datetime.date(2026, 11, 20)
    for merchant, payables in ((both, ("-0.01", "-120.00")), (one, ("-50.00", "10.00"))):
        for period, payable in zip(("2026-09", "2026-10"), payables, strict=True):
            Statement.objects.create(merchant=merchant, period=period, status="approved", payable=Decimal(payable))
    # The current month does not count yet.
    Statement.objects.create(merchant=one, period="2026-11", status="draft", payable=Decimal("-1.00"))
    services.alerts_negative_payable(today=today)
    (alert,) = RiskAlert.objects.filter(kind="negative_payable")
    assert (alert.merchant_id, alert.figures) == (both.pk, {"payable": {"2026-09": "-0.01", "2026-10": "-120.00"}})


def test_reconciliation_differences_one_platform_alert_per_section_cleared_when_reconciled(monkeypatch):
    found = Reconciliation(
        period="2026-10",
        sections={
            "payments": {"differences": [{"order": "B1", "order_total": "10.00", "captured": "9.00"}]},
            "refunds": {"differences": []},
        },
    )
    monkeypatch.setattr(services.settlement_selectors, "reconcile", lambda *, period: found)
    services.alerts_reconciliation(today=datetime.date(2026, 11, 20))
    services.alerts_reconciliation(today=datetime.date(2026, 11, 20))
    (alert,) = RiskAlert.objects.filter(kind="reconciliation")
    assert alert.merchant_id is None and alert.condition_key == "reconciliation:2026-10:payments"
    assert alert.figures == {
        "period": "2026-10",
        "section": "payments",
        "count": 1,
        "differences": [{"order": "B1", "order_total": "10.00", "captured": "9.00"}],
    }
    found.sections["payments"]["differences"] = []
    services.alerts_reconciliation(today=datetime.date(2026, 11, 20))
    alert.refresh_from_db()
    assert alert.cleared_at is not None
