"""The screens that record a money movement enqueue the posting task on commit, so its
journal entry follows within seconds (Celery runs eagerly in these tests); a refused request
enqueues nothing. Refunds returned by their task are posted by the beat's next run."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from merchants.choices import MerchantStatus
from merchants.models import DepositEntry
from orders import services as order_services
from orders.gateways import sandbox
from orders.models import Payment
from orders.services import RefundItem
from orders.tasks import refund_execute_task
from settlements.models import JournalEntry
from settlements.tasks import ledger_post_pending_task
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.orders.test_sandbox_gateway import _order, _post
from tests.settlements.test_runs import Shop, at

pytestmark = pytest.mark.django_db
LEDGER_TASK = "settlements.tasks.ledger_post_pending_task"


def test_a_gateway_callback_posts_the_capture_on_commit(django_capture_on_commit_callbacks):
    order = _order()
    payment = order_services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(body, signature="t=1,v1=forged")
    assert response.status_code == 400
    assert not JournalEntry.objects.filter(key__startswith="payment:").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(body)
    assert (response.status_code, response.json()) == (200, {"outcome": "paid"})
    entry = JournalEntry.objects.get(key=f"payment:{payment.reference}")
    assert sorted(entry.postings.values_list("account__kind", "amount")) == [
        ("gateway_clearing", Decimal("-68.00")),
        ("gateway_funds", Decimal("68.00")),
    ]


def test_a_refund_returned_by_its_task_is_posted_by_the_next_beat_run(django_capture_on_commit_callbacks):
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    refund = order_services.refund_issue(
        merchant_order=order, items=[RefundItem(order.lines.get().pk, Decimal("25.00"))], reason="scratched"
    )
    # The refund task enqueues nothing more (the orders' own callbacks stay as they were).
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert refund_execute_task.apply(args=[refund.pk]).get() == "succeeded"
    assert callbacks == []
    assert ledger_post_pending_task.apply().get() == 3  # the capture, the refund, the deposit
    assert JournalEntry.objects.filter(key=f"refund:{refund.reference}").count() == 1
    payment = Payment.objects.get(buyer_order=order.buyer_order)
    assert JournalEntry.objects.filter(key=f"payment:{payment.reference}").count() == 1  # caught up too


def test_a_deposit_action_in_the_admin_posts_its_movement(client, django_capture_on_commit_callbacks):
    shop = Shop()
    finance = UserFactory(is_staff=True)
    finance.groups.add(*Group.objects.filter(name__in=["finance"]))
    client.force_login(finance)
    url = reverse("admin:merchants_merchant_deduct_deposit", args=[shop.merchant.pk])
    # Refused (more than the deposit holds): nothing recorded, nothing posted.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(url, {"amount": "9999999.00", "reason": "Too much", "reference": "CASE-0"})
    assert not DepositEntry.objects.filter(kind="deducted").exists()
    assert not callbacks
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"amount": "1200.50", "reason": "Counterfeit compensation", "reference": "CASE-17"})
    assert response.status_code == 302
    entry = DepositEntry.objects.get(kind="deducted")
    posted = JournalEntry.objects.get(key=f"deposit:{entry.pk}")
    assert sorted(posted.postings.values_list("account__kind", "amount")) == [
        ("deposit_deductions", Decimal("-1200.50")),
        ("deposits_held", Decimal("1200.50")),
    ]


def test_a_sandbox_deposit_payment_in_the_portal_posts_it(client, django_capture_on_commit_callbacks):
    merchant = merchant_in_state(MerchantStatus.APPROVED, tier_code="potential")
    client.force_login(merchant.owner)
    client.post("/portal/contract/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/deposit/pay/", {"payment_key": "k" * 32})
    entry = DepositEntry.objects.get(merchant=merchant)
    posted = JournalEntry.objects.get(key=f"deposit:{entry.pk}")
    assert sorted(posted.postings.values_list("account__kind", "account__merchant", "amount")) == [
        ("bank", None, Decimal("20000.00")),
        ("deposits_held", merchant.pk, Decimal("-20000.00")),
    ]
