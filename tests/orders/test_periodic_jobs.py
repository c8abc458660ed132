"""The periodic jobs of orders handle each item in its own transaction: one that fails is
recorded for staff (`JobFailure`, with its code) and the others are still handled (issue
#10, finding 4). The after-sales auto-accept is tested in test_aftersales_whole.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Stock
from marketplace.models import JobFailure
from orders import services
from orders.models import BuyerOrder, MerchantOrder, OrderEvent
from orders.services import lifecycle
from tests.orders.test_payments_and_lifecycle import _callback, _order, _process

pytestmark = pytest.mark.django_db


def test_expired_orders_are_cancelled_past_one_that_cannot_be():
    poisoned, _m = _order(quantity=3)
    fine, _m = _order(quantity=2)
    # Its reservation vanished (a hand edit): releasing it is refused.
    Stock.objects.filter(sku__merchant=poisoned.merchant_orders.get().merchant).update(reserved=0)
    later = timezone.now() + timedelta(minutes=31)
    assert services.cancel_expired_unpaid(now=later) == 1
    assert list(BuyerOrder.objects.order_by("pk").values_list("status", flat=True)) == [
        "pending_payment",
        "cancelled",
    ]
    assert poisoned.merchant_orders.get().status == "pending_payment"  # rolled back whole
    failure = JobFailure.objects.get()
    assert (failure.job, failure.object_type, failure.object_id, failure.code, failure.count) == (
        "orders.cancel_expired_unpaid",
        "orders.buyerorder",
        str(poisoned.pk),
        "release_exceeds_reserved",
        1,
    )
    assert fine.merchant_orders.get().status == "cancelled"

    Stock.objects.filter(sku__merchant=poisoned.merchant_orders.get().merchant).update(reserved=3)
    assert services.cancel_expired_unpaid(now=later) == 1
    failure.refresh_from_db()
    assert (failure.count, failure.resolved_at is not None) == (1, True)
    assert BuyerOrder.objects.get(pk=poisoned.pk).status == "cancelled"


def test_overdue_orders_are_completed_past_one_that_fails(monkeypatch):
    orders = []
    for _n in range(3):
        order, merchant = _order()
        _process(*_callback(services.payment_start(buyer_order=order)))
        merchant_order = order.merchant_orders.get()
        services.merchant_order_ship(
            order=merchant_order, merchant=merchant, actor=merchant.owner, carrier="SF", tracking_number="X1"
        )
        orders.append(merchant_order)
    poisoned = orders[1]
    real = lifecycle.merchant_order_transition

    def transition(order, action, **kwargs):
        locked = real(order, action, **kwargs)
        if order.pk == poisoned.pk:
            raise RuntimeError("carrier system down")  # after the write: it must roll back
        return locked

    monkeypatch.setattr(lifecycle, "merchant_order_transition", transition)
    assert services.complete_overdue_shipped(now=timezone.now() + timedelta(days=10, minutes=1)) == 2
    assert [MerchantOrder.objects.get(pk=o.pk).status for o in orders] == ["completed", "shipped", "completed"]
    assert not OrderEvent.objects.filter(merchant_order=poisoned, action="complete").exists()
    failure = JobFailure.objects.get()
    assert (failure.job, failure.object_id, failure.code, failure.message, failure.resolved_at) == (
        "orders.complete_overdue_shipped",
        str(poisoned.pk),
        "unexpected_error",
        "RuntimeError: carrier system down",
        None,
    )


def test_every_periodic_job_that_loops_over_items_goes_through_run_each(settings):
    """The schedule's jobs over items, and the service each calls: a new one must be listed."""
    import inspect

    from orders.services import aftersales, group_buys
    from promotions.services import flash, members
    from risk.services import alerts, quality, renewals
    from settlements.services import fees, ledger_sources, penalties

    looping = {
        "orders.tasks.cancel_expired_unpaid_task": lifecycle.cancel_expired_unpaid,
        "orders.tasks.complete_overdue_shipped_task": lifecycle.complete_overdue_shipped,
        "orders.tasks.accept_overdue_requests_task": aftersales.accept_overdue_requests,
        # Its items are batches of buyers (bulk writes per batch).
        "promotions.tasks.members_refresh_task": members.members_refresh,
        "promotions.tasks.flash_reservations_expire_task": flash.flash_reservations_expire,
        "orders.tasks.group_buys_close_due_task": group_buys.group_buys_close_due,
        "settlements.tasks.ledger_post_pending_task": ledger_sources.ledger_post_pending,
        "settlements.tasks.late_shipment_penalties_raise_task": penalties.late_shipment_penalties_raise,
        "settlements.tasks.penalties_lapse_task": penalties.penalties_lapse,
        "settlements.tasks.fees_bill_due_task": fees.fees_bill_due,
        # Merchant quality (issue #15): merchants, merchants, contracts, renewal cases.
        "risk.tasks.credit_ratings_run_task": quality.credit_ratings_run,
        "risk.tasks.quarterly_evaluations_run_task": quality.quarterly_evaluations_run,
        "risk.tasks.renewals_evaluate_due_task": renewals.renewals_evaluate_due,
        "risk.tasks.renewals_end_due_task": renewals.renewals_end_due,
        # Risk alerts (issue #15): each job's conditions, one per merchant (or per document,
        # per reconciliation section), through run_each (most via alerts._raise_all).
        "risk.tasks.alerts_complaint_rate_task": alerts.alerts_complaint_rate,
        "risk.tasks.alerts_return_rate_spike_task": alerts.alerts_return_rate_spike,
        "risk.tasks.alerts_on_time_shipping_task": alerts.alerts_on_time_shipping,
        "risk.tasks.alerts_stock_below_reorder_task": alerts.alerts_stock_below_reorder,
        "risk.tasks.alerts_slow_stock_task": alerts.alerts_slow_stock,
        "risk.tasks.alerts_deposit_short_task": alerts.alerts_deposit_short,
        "risk.tasks.alerts_documents_task": alerts.alerts_documents,
        "risk.tasks.alerts_negative_payable_task": alerts.alerts_negative_payable,
        "risk.tasks.alerts_reconciliation_task": alerts.alerts_reconciliation,
    }
    # The audit chain check walks one chain and stops at its first bad entry: not items.
    # The refund sweep re-enqueues overdue refunds in one UPDATE; each refund's execution is a
    # task of its own that records its outcome on the refund (attempts, last error, failed).
    # Coupons expire in one UPDATE; the promotion windows' sweep bumps the cached pages of the
    # few promotions whose window just started or ended (no database write).
    single = {
        "marketplace.tasks.audit_chain_verify_task",
        "orders.tasks.refunds_pending_sweep_task",
        "promotions.tasks.coupon_expire_due_task",
        "promotions.tasks.promotion_windows_pages_invalidate_task",
        # Compares each flash sale's Redis state with the database and writes Redis only,
        # outside any transaction (no call to another system inside one): not run_each's.
        "promotions.tasks.flash_sales_rebuild_task",
    }
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == set(looping) | single
    assert "run_each(" in inspect.getsource(alerts._raise_all)
    for service in looping.values():
        source = inspect.getsource(service)
        assert "run_each(" in source or "_raise_all(" in source, service.__name__
