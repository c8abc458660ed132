"""Refunds are recorded under the order's lock and returned through the gateway after commit,
by a task that passes the refund's reference as the idempotency key (issue #10, finding 10).

The gateway here is a fake that honours idempotency keys as a real one does (a second call
with a key answers the first result and returns no money again) and can be told to fail, to
time out, or to time out after having returned the money."""

from __future__ import annotations

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from marketplace.models import AuditLogEntry
from orders import services
from orders.errors import OrderConflict, OrderInvalidTransition
from orders.gateways import sandbox
from orders.gateways.base import GatewayError, GatewayTimeout, GatewayUnavailable
from orders.models import AfterSalesRequest, BuyerOrder, OrderLine, Payment, Refund
from orders.services import RefundItem
from orders.tasks import refund_execute_task, refunds_pending_sweep_task
from tests.orders.test_admin import messages_of, staff, url
from tests.orders.test_payments_and_lifecycle import _callback, _order, _process
from tests.orders.test_portal_orders import build_world, pay, place, ship

pytestmark = pytest.mark.django_db

ACCEPTED = "accepted"  # the fake returns the money and answers
TIMEOUT_AFTER_REFUND = "timeout after refund"  # the fake returns the money, the answer is lost


class FakeGateway(sandbox.SandboxGateway):
    """The sandbox, whose refunds answer from a script, then accept; one money movement per key."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[tuple[str, Decimal, str]] = []
        self.returned: dict[str, str] = {}  # idempotency key → refund id (money moved once each)
        self.during_call = None  # run inside the next call (another delivery at the same time)

    def refund(self, *, payment, amount, reference):
        self.calls.append((payment.reference, amount, reference))
        if self.during_call is not None:
            during, self.during_call = self.during_call, None
            during()
        answer = self.script.pop(0) if self.script else ACCEPTED
        if isinstance(answer, Exception):
            raise answer
        refund_id = self.returned.setdefault(reference, f"gw-{len(self.returned) + 1}")
        if answer == TIMEOUT_AFTER_REFUND:
            raise GatewayTimeout("no answer in 30 s")
        return refund_id


@pytest.fixture
def gateway(monkeypatch):
    def install(*script) -> FakeGateway:
        fake = FakeGateway(*script)
        monkeypatch.setitem(sandbox.GATEWAYS, "sandbox", fake)
        return fake

    return install


@pytest.fixture
def world():
    return build_world()


def refund_row(refund: Refund) -> tuple:
    refund.refresh_from_db()
    return refund.status, refund.attempts, refund.last_error, refund.gateway_refund_id


def accepted_request(world, amount="50.00") -> AfterSalesRequest:
    order = ship(world.mine)
    return services.after_sales_request_create(
        order=order, buyer=world.buyer, kind="refund", reason="Scratched", items=[(order.lines.get().pk, 1, amount)]
    )


# --- After commit, once ------------------------------------------------------------------------


def test_the_gateway_is_called_after_commit_with_the_reference_as_key(
    world, gateway, django_capture_on_commit_callbacks
):
    fake = gateway()
    request = accepted_request(world)
    with django_capture_on_commit_callbacks() as callbacks:
        services.after_sales_accept(request=request, merchant=world.shop, actor=world.shop.owner)
        # Decided and recorded, nothing sent yet: the transaction is still open.
        refund = Refund.objects.get()
        assert (refund.status, refund.amount, refund.reference, fake.calls) == (
            "pending",
            Decimal("50.00"),
            f"as{request.pk}",
            [],
        )
    # The refund's task first, then the e-mails of the buyer's two notifications (refund, decision).
    assert len(callbacks) == 3
    callbacks[0]()
    payment = Payment.objects.get(buyer_order=world.multi)
    assert fake.calls == [(payment.reference, Decimal("50.00"), f"as{request.pk}")]
    assert refund_row(refund) == ("succeeded", 1, "", "gw-1")
    assert refund.payment == payment
    assert refund.succeeded_at is not None and refund.next_attempt_at is None
    assert refund.completed_at < refund.succeeded_at  # settlement counts it from the decision


def test_the_api_tells_whether_the_money_has_gone_back(world, gateway, django_capture_on_commit_callbacks):
    from tests.orders.test_api import BASE, client_for

    gateway(GatewayUnavailable("503"))
    request = accepted_request(world)
    merchant = client_for(world.shop.owner)
    with django_capture_on_commit_callbacks() as callbacks:
        accepted = merchant.post(f"{BASE}after-sales/{request.pk}/accept/", {}, format="json")
    refund = accepted.json()["refund"]
    assert (accepted.json()["status"], refund["amount"], refund["status"], refund["succeeded_at"]) == (
        "refunded",
        "50.00",
        "pending",
        None,
    )
    # refund_execute_task, after the commit (here run by hand), and the buyer's notifications' e-mails.
    assert len(callbacks) == 3
    refund_id = Refund.objects.get().pk
    with pytest.raises(services.RefundRetryLater):
        services.refund_execute(refund_id=refund_id)  # the gateway is down: retried later
    assert merchant.get(f"{BASE}after-sales/{request.pk}/").json()["refund"]["status"] == "pending"
    services.refund_execute(refund_id=refund_id)
    shown = merchant.get(f"{BASE}after-sales/{request.pk}/").json()["refund"]
    assert (shown["status"], shown["succeeded_at"] is not None) == ("succeeded", True)


def test_the_buyer_sees_a_refund_on_its_way_until_the_gateway_returned_it(gateway, django_capture_on_commit_callbacks):
    from django.urls import reverse

    from tests.orders.test_buyer_pages import paid_order

    gateway()
    _buyer, web, order, part = paid_order(2)
    with django_capture_on_commit_callbacks() as callbacks:
        web.post(reverse("orders:order_cancel", args=[order.number, part.number]))
    page = reverse("orders:order_detail", args=[order.number])
    assert "on its way back to you" in web.get(page).content.decode()
    callbacks[0]()
    assert Refund.objects.get().status == "succeeded"
    assert "on its way back to you" not in web.get(page).content.decode()


@pytest.mark.parametrize("how", ["after_sales_accept", "buyer_cancel", "dispute_resolve"])
def test_a_failure_later_in_the_same_transaction_sends_nothing(world, gateway, how, django_capture_on_commit_callbacks):
    fake = gateway()
    if how == "buyer_cancel":
        call = lambda: services.buyer_cancel(order=world.mine, buyer=world.buyer)  # noqa: E731
    else:
        request = accepted_request(world)
        if how == "after_sales_accept":
            call = lambda: services.after_sales_accept(request=request, merchant=world.shop, actor=world.shop.owner)  # noqa: E731
        else:
            services.after_sales_reject(request=request, merchant=world.shop, actor=world.shop.owner, note="No")
            dispute = services.after_sales_escalate(request=request, buyer=world.buyer, statement="Yes")
            arbiter = staff("operations")
            call = lambda: services.dispute_resolve(  # noqa: E731
                dispute=dispute, arbiter=arbiter, amount=Decimal("50.00"), note="Half"
            )
    line = world.mine.lines.get()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        call()
        assert Refund.objects.count() == 1  # recorded…
        raise RuntimeError("something later fails")  # …and rolled back
    assert (callbacks, fake.calls, Refund.objects.count()) == ([], [], 0)
    line.refresh_from_db()
    assert line.refunded == Decimal("0.00")


def test_a_task_delivered_twice_returns_the_money_once(world, gateway, django_capture_on_commit_callbacks):
    fake = gateway()
    with django_capture_on_commit_callbacks(execute=True):
        services.buyer_cancel(order=world.mine, buyer=world.buyer)
    refund = Refund.objects.get()
    assert refund_row(refund) == ("succeeded", 1, "", "gw-1")
    # The broker delivers the message again (acks_late after a worker restart).
    assert refund_execute_task.apply(args=[refund.pk]).get() == "skipped"
    assert (len(fake.calls), fake.returned) == (1, {refund.reference: "gw-1"})
    assert refund_row(refund) == ("succeeded", 1, "", "gw-1")


def test_two_deliveries_at_once_both_answered_by_the_gateway_return_the_money_once(world, gateway):
    fake = gateway()
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    outcomes = []
    # While the first delivery waits for the gateway (no lock held), a second one runs whole.
    fake.during_call = lambda: outcomes.append(services.refund_execute(refund_id=refund.pk))
    outcomes.append(services.refund_execute(refund_id=refund.pk))
    assert outcomes == ["succeeded", "succeeded"]
    assert [key for _payment, _amount, key in fake.calls] == [refund.reference, refund.reference]
    assert fake.returned == {refund.reference: "gw-1"}  # one money movement
    assert refund_row(refund) == ("succeeded", 2, "", "gw-1")


# --- Failures, timeouts, retries, staff -----------------------------------------------------------


def test_a_failing_gateway_is_retried_with_growing_delays_until_it_answers(world, gateway):
    fake = gateway(GatewayUnavailable("502 Bad Gateway"), GatewayUnavailable("connection reset"))
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    before = timezone.now()
    with pytest.raises(services.RefundRetryLater) as first:
        services.refund_execute(refund_id=refund.pk)
    assert first.value.countdown == 30
    assert refund_row(refund) == ("pending", 1, "GatewayUnavailable: 502 Bad Gateway", "")
    assert before + datetime.timedelta(seconds=30) <= refund.next_attempt_at
    assert refund.next_attempt_at <= timezone.now() + datetime.timedelta(seconds=30)
    with pytest.raises(services.RefundRetryLater) as second:
        services.refund_execute(refund_id=refund.pk)
    assert second.value.countdown == 60
    assert refund_row(refund) == ("pending", 2, "GatewayUnavailable: connection reset", "")
    assert services.refund_execute(refund_id=refund.pk) == "succeeded"
    assert refund_row(refund) == ("succeeded", 3, "", "gw-1")
    assert len(fake.calls) == 3 and fake.returned == {refund.reference: "gw-1"}


@pytest.fixture
def eager_retries():
    from marketplace.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def test_the_task_retries_transient_errors_through_celery(world, gateway, eager_retries):
    fake = gateway(GatewayUnavailable("503"), GatewayTimeout("no answer in 30 s"))
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    # Eager here: Celery runs each retry at once, the countdown aside (a propagated Retry
    # would stop the eager chain, which a worker never sees).
    assert refund_execute_task.apply(args=[refund.pk]).get() == "succeeded"
    assert refund_row(refund) == ("succeeded", 3, "", "gw-1")
    assert len(fake.calls) == 3


def test_a_gateway_that_times_out_after_refunding_is_asked_again_with_the_same_key(world, gateway):
    fake = gateway(TIMEOUT_AFTER_REFUND)
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    with pytest.raises(services.RefundRetryLater):
        services.refund_execute(refund_id=refund.pk)
    assert refund_row(refund) == ("pending", 1, "GatewayTimeout: no answer in 30 s", "")
    assert services.refund_execute(refund_id=refund.pk) == "succeeded"
    assert refund_row(refund) == ("succeeded", 2, "", "gw-1")
    assert fake.returned == {refund.reference: "gw-1"}  # the money went back once


def test_a_call_cut_by_the_task_time_limit_counts_as_a_timeout(world, gateway):
    from celery.exceptions import SoftTimeLimitExceeded

    gateway(SoftTimeLimitExceeded())
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    with pytest.raises(services.RefundRetryLater):
        services.refund_execute(refund_id=refund.pk)
    assert refund_row(refund)[:2] == ("pending", 1)
    assert refund.last_error.startswith("SoftTimeLimitExceeded")


def test_too_many_failures_mark_the_refund_failed_for_staff_who_send_it_again(
    client, world, gateway, settings, django_capture_on_commit_callbacks
):
    settings.REFUND_MAX_ATTEMPTS = 3
    fake = gateway(*[GatewayUnavailable("503")] * 3)
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    for _ in range(2):
        with pytest.raises(services.RefundRetryLater):
            services.refund_execute(refund_id=refund.pk)
    assert services.refund_execute(refund_id=refund.pk) == "failed"
    assert refund_row(refund) == ("failed", 3, "GatewayUnavailable: 503", "")
    assert refund.next_attempt_at is None
    entry = AuditLogEntry.objects.get(action="orders.refund_failed")
    assert (entry.object_id, entry.reason, entry.data) == (
        str(refund.pk),
        "GatewayUnavailable: 503",
        {"reference": refund.reference, "attempts": 3},
    )
    # Not retried on its own any more: a stray delivery does nothing.
    assert services.refund_execute(refund_id=refund.pk) == "skipped"
    assert len(fake.calls) == 3

    # Finance sees it in the list of failed refunds, with the attempts and the error…
    finance = staff("finance")
    client.force_login(finance)
    listing = client.get(url("refund_changelist"), {"status__exact": "failed"})
    assert listing.status_code == 200
    assert [r.pk for r in listing.context["cl"].result_list] == [refund.pk]
    assert "GatewayUnavailable: 503" in listing.content.decode()
    assert client.get(url("refund_changelist"), {"status__exact": "pending"}).context["cl"].result_count == 0
    page = client.get(url("refund_change", refund.pk)).content.decode()
    assert url("refund_retry", refund.pk) in page
    # …and sends it again: the gateway answers this time.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url("refund_retry", refund.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert messages_of(response) == [("success", "The refund is sent to the gateway again.")]
    assert len(callbacks) == 1
    assert refund_row(refund) == ("succeeded", 1, "", "gw-1")
    entry = AuditLogEntry.objects.get(action="orders.refund_retried")
    assert (entry.actor, entry.data) == (finance, {"reference": refund.reference, "attempts": 3})


def test_a_refusal_fails_at_once_and_staff_without_the_permission_cannot_retry(
    client, world, gateway, django_capture_on_commit_callbacks
):
    fake = gateway(GatewayError("card account closed"))
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    assert services.refund_execute(refund_id=refund.pk) == "failed"
    assert refund_row(refund) == ("failed", 1, "GatewayError: card account closed", "")
    client.force_login(staff(perms=("orders.view_refund",)))
    assert url("refund_retry", refund.pk) not in client.get(url("refund_change", refund.pk)).content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post(url("refund_retry", refund.pk)).status_code == 403
    assert (callbacks, len(fake.calls)) == ([], 1)
    assert refund_row(refund) == ("failed", 1, "GatewayError: card account closed", "")
    assert not AuditLogEntry.objects.filter(action="orders.refund_retried").exists()


def test_only_a_failed_refund_can_be_sent_again(world, gateway):
    gateway()
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    with pytest.raises(OrderInvalidTransition) as info:
        services.refund_retry(refund=refund, actor=None)
    assert info.value.extra == {"status": "pending"}
    assert refund_row(refund) == ("pending", 0, "", "")


def test_an_unexpected_error_is_recorded_for_staff_and_raised(world, gateway):
    gateway(ZeroDivisionError("bug in the adapter"))
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    with pytest.raises(ZeroDivisionError):
        services.refund_execute(refund_id=refund.pk)
    assert refund_row(refund) == ("failed", 1, "ZeroDivisionError: bug in the adapter", "")


# --- The sweep -------------------------------------------------------------------------------


def test_the_sweep_enqueues_again_the_refunds_whose_task_was_lost(world, gateway, django_capture_on_commit_callbacks):
    fake = gateway()
    lost = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()  # its message never came
    due = pay(place(world.other_buyer, (world.cable, 1))).merchant_orders.get()
    recent = services.buyer_cancel(order=due, buyer=world.other_buyer).refunds.get()
    now = timezone.now()
    minutes = settings.REFUND_SWEEP_MINUTES
    Refund.objects.filter(pk=lost.pk).update(next_attempt_at=now - datetime.timedelta(minutes=minutes + 1))
    Refund.objects.filter(pk=recent.pk).update(next_attempt_at=now - datetime.timedelta(minutes=minutes - 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds_pending_sweep_task.apply().get() == 1
    assert refund_row(lost) == ("succeeded", 1, "", "gw-1")
    assert refund_row(recent) == ("pending", 0, "", "")
    assert [key for _p, _a, key in fake.calls] == [lost.reference]
    # Nothing overdue any more.
    assert services.refunds_pending_sweep() == 0
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "orders.tasks.refunds_pending_sweep_task" in tasks


def test_an_attempt_in_progress_is_left_alone_by_the_sweep(world, gateway, django_capture_on_commit_callbacks):
    fake = gateway()
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    # A sweep while the gateway is being asked, as if the attempt had been due long ago.
    sweep_at = timezone.now() + datetime.timedelta(minutes=settings.REFUND_SWEEP_MINUTES)
    swept = []
    fake.during_call = lambda: swept.append(services.refunds_pending_sweep(now=sweep_at))
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.refund_execute(refund_id=refund.pk) == "succeeded"
    assert (swept, len(fake.calls)) == ([0], 1)


def test_a_refund_without_a_reference_gets_a_sequence_value_then_a_random_part(gateway):
    gateway()
    world = build_world()
    line = world.mine.lines.get()
    first = services.refund_issue(merchant_order=world.mine, items=[RefundItem(line.pk, Decimal("10.00"))], reason="a")
    second = services.refund_issue(merchant_order=world.mine, items=[RefundItem(line.pk, Decimal("5.00"))], reason="b")
    prefix, value, random_part = first.reference.split("_")
    assert (prefix, len(random_part), int(random_part, 16) >= 0) == ("rf", 16, True)
    assert second.reference.split("_")[:2] == ["rf", str(int(value) + 1)]


# --- Concurrent retries of one decision ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_retry_of_one_refund_waits_and_gets_it(gateway):
    gateway()
    world = build_world()
    line = world.mine.lines.get()
    item = [RefundItem(line.pk, Decimal("40.00"))]
    outcome = {}

    def retry():
        try:
            outcome["refund"] = services.refund_issue(
                merchant_order=world.mine, items=item, reason="retry", reference="job-7"
            )
        except Exception as exc:  # what the old code raised: IntegrityError on the unique reference
            outcome["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        first = services.refund_issue(merchant_order=world.mine, items=item, reason="first", reference="job-7")
        thread = threading.Thread(target=retry)
        thread.start()
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                # pg_stat_activity is read once per transaction unless its snapshot is dropped.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the retry never waited for the order's lock: {outcome}")
    thread.join(timeout=10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["refund"].pk == first.pk
    assert Refund.objects.count() == 1
    assert OrderLine.objects.get(pk=line.pk).refunded == Decimal("40.00")


def test_a_reference_of_another_order_is_refused(world, gateway):
    gateway()
    refund = services.buyer_cancel(order=world.mine, buyer=world.buyer).refunds.get()
    line = world.theirs.lines.get()
    with pytest.raises(OrderConflict) as info:
        services.refund_issue(
            merchant_order=world.theirs,
            items=[RefundItem(line.pk, Decimal("1.00"))],
            reason="x",
            reference=refund.reference,
        )
    assert info.value.code == "refund_reference_taken"
    line.refresh_from_db()
    assert (Refund.objects.count(), line.refunded) == (1, Decimal("0.00"))


# --- A payment that arrives when the order no longer waits for it ------------------------------------


def test_a_payment_after_cancellation_is_refunded_whole(gateway, django_capture_on_commit_callbacks):
    fake = gateway()
    order, _merchant = _order(quantity=3)
    payment = services.payment_start(buyer_order=order)
    services.buyer_order_cancel_unpaid(buyer_order=order, note="changed my mind")
    with django_capture_on_commit_callbacks(execute=True):
        assert _process(*_callback(payment, event_id="evt_late")) == "order_cancelled"
    payment.refresh_from_db()
    assert (payment.status, payment.succeeded_at is not None) == ("refunded", True)
    refund = Refund.objects.get()
    assert (refund.merchant_order, refund.payment, refund.amount, refund.reference, refund.lines.count()) == (
        None,
        payment,
        Decimal("98.00"),  # 3 × 30.00 and ¥8 shipping
        f"late-{payment.reference}",
        0,
    )
    assert refund_row(refund) == ("succeeded", 1, "", "gw-1")
    assert fake.calls == [(payment.reference, Decimal("98.00"), refund.reference)]
    # The order stays cancelled; another success event for the same payment adds nothing.
    assert _process(*_callback(payment, event_id="evt_late_again")) == "already_refunded"
    assert (BuyerOrder.objects.get(pk=order.pk).status, Refund.objects.count()) == ("cancelled", 1)
    assert AuditLogEntry.objects.filter(action="orders.payment_refunded").count() == 1


def test_a_second_payment_of_a_paid_order_is_refunded_whole(gateway, django_capture_on_commit_callbacks):
    gateway()
    order, _merchant = _order()
    first = services.payment_start(buyer_order=order)
    second = Payment.objects.create(
        buyer_order=order, gateway="sandbox", amount=first.amount, reference="pay_second_tab"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert _process(*_callback(first)) == "paid"
        assert _process(*_callback(second)) == "order_paid"
    statuses = dict(Payment.objects.values_list("reference", "status"))
    assert statuses == {first.reference: "succeeded", second.reference: "refunded"}
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount, refund.status) == (second, first.amount, "succeeded")


# --- The sandbox gateway honours the key -------------------------------------------------------------


def test_the_sandbox_answers_a_repeated_key_with_its_first_result():
    order, _merchant = _order()
    payment = services.payment_start(buyer_order=order)
    gateway = sandbox.SandboxGateway()
    first = gateway.refund(payment=payment, amount=Decimal("10.00"), reference="rf_1")
    assert gateway.refund(payment=payment, amount=Decimal("10.00"), reference="rf_1") == first
    assert gateway.refund(payment=payment, amount=Decimal("5.00"), reference="rf_2") != first
    with pytest.raises(GatewayError):
        gateway.refund(payment=payment, amount=Decimal("99.00"), reference="rf_1")
