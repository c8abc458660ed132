"""Every money movement is a balanced journal entry with a natural key (issue #14): gateway
captures and refunds, deposits received, deducted and refunded, payouts sent, paid and
failed. Posting runs twice (or twice at once) post each entry once."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from marketplace.models import JobFailure
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.choices import MerchantStatus
from merchants.models import DepositEntry, Merchant
from orders import services as order_services
from orders.models import Payment, Refund
from orders.services import RefundItem
from settlements import selectors, services
from settlements.choices import AccountKind
from settlements.models import Account, JournalEntry, Payout, Posting, Statement
from settlements.tasks import ledger_post_pending_task
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _settle, at

D = Decimal


def _postings(key) -> dict[tuple[str, int | None], Decimal]:
    """An entry's postings by (account kind, merchant id)."""
    return {
        (p.account.kind, p.account.merchant_id): p.amount
        for p in Posting.objects.filter(entry__key=key).select_related("account")
    }


def _balance(kind, merchant_id=None) -> Decimal:
    account = Account.objects.filter(kind=kind, merchant_id=merchant_id).first()
    if account is None:
        return D("0.00")
    return sum((p.amount for p in account.postings.all()), D("0.00"))


def _entries():
    return sorted(JournalEntry.objects.values_list("key", flat=True))


def _verify_ok() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_each_movement_posts_its_balanced_entry_once_and_a_second_run_posts_nothing():
    shop = Shop()
    merchant = shop.merchant
    staff = UserFactory(is_staff=True, email="finance@example.com")
    received = DepositEntry.objects.get(merchant=merchant)  # the deposit paid before going live
    deposit = received.amount
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    payment = Payment.objects.get(buyer_order=order.buyer_order)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 5)):
        refund = order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, D("25.00"))], reason="scratched"
        )
    assert order_services.refund_execute(refund_id=refund.pk) == "succeeded"
    deducted = merchant_services.deposit_deduct(
        merchant=merchant, actor=staff, amount="1000.00", reason="Counterfeit goods", reference="PEN-1"
    )
    Merchant.objects.filter(pk=merchant.pk).update(status=MerchantStatus.TERMINATED)
    refunded = merchant_services.deposit_refund(merchant=merchant, actor=staff, reference="BANK-OUT-1")
    assert JournalEntry.objects.count() == 0  # orders and merchants post nothing themselves

    result = services.ledger_post_pending()
    assert (result.posted, result.failed, result.complete) == (
        {"payment": 1, "refund": 1, "deposit_entry": 3, "payout_sent": 0, "payout_failed": 0},
        0,
        True,
    )
    assert _entries() == sorted(
        [
            f"payment:{payment.reference}",
            f"refund:{refund.reference}",
            f"deposit:{received.pk}",
            f"deposit:{deducted.pk}",
            f"deposit:{refunded.pk}",
        ]
    )
    m = merchant.pk
    # Captured 100.00 + 8.00 shipping: the gateway holds it, clearing owes it to settlement.
    assert _postings(f"payment:{payment.reference}") == {
        ("gateway_funds", None): D("108.00"),
        ("gateway_clearing", None): D("-108.00"),
    }
    assert _postings(f"refund:{refund.reference}") == {
        ("gateway_clearing", None): D("25.00"),
        ("gateway_funds", None): D("-25.00"),
    }
    assert _postings(f"deposit:{received.pk}") == {("bank", None): deposit, ("deposits_held", m): -deposit}
    assert _postings(f"deposit:{deducted.pk}") == {
        ("deposits_held", m): D("1000.00"),
        ("deposit_deductions", None): D("-1000.00"),
    }
    assert _postings(f"deposit:{refunded.pk}") == {
        ("deposits_held", m): deposit - D("1000.00"),
        ("bank", None): -(deposit - D("1000.00")),
    }
    # The merchant's deposit account is back to zero, as its deposit ledger.
    assert _balance(AccountKind.DEPOSITS_HELD, m) == D("0.00") == merchant_selectors.deposit_balance(merchant)
    assert _balance(AccountKind.GATEWAY_FUNDS) == D("83.00")

    # Run again (a retried task, the beat after the on-commit run): nothing more.
    postings = Posting.objects.count()
    again = services.ledger_post_pending()
    assert (again.posted, again.failed) == (
        {"payment": 0, "refund": 0, "deposit_entry": 0, "payout_sent": 0, "payout_failed": 0},
        0,
    )
    assert ledger_post_pending_task.apply().get() == 0
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (5, postings)
    assert _verify_ok().startswith("ok (5 entries")


@pytest.mark.django_db
def test_a_pending_refund_and_a_failed_payment_post_nothing():
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 5)):
        refund = order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, D("25.00"))], reason="scratched"
        )
    Payment.objects.create(buyer_order=order.buyer_order, gateway="sandbox", reference="FAILED-1", amount=D("108.00"))
    Payment.objects.filter(reference="FAILED-1").update(status="failed")
    services.ledger_post_pending()
    assert not JournalEntry.objects.filter(key__startswith="refund:").exists()  # not returned yet
    assert not JournalEntry.objects.filter(key="payment:FAILED-1").exists()
    assert Refund.objects.get(pk=refund.pk).status == "pending"


@pytest.mark.django_db
def test_a_row_that_cannot_be_posted_is_listed_as_a_job_failure_and_the_others_are_posted():
    shops = [Shop(), Shop()]
    entries = list(DepositEntry.objects.order_by("pk"))
    real = services.ledger_sources.deposit_postings

    def broken(kind, amount, merchant_id, reference=""):
        if merchant_id == shops[0].merchant.pk:
            return [(services.account_for(AccountKind.BANK), amount)]  # unbalanced
        return real(kind, amount, merchant_id, reference)

    with mock.patch("settlements.services.ledger_sources.deposit_postings", broken):
        result = services.ledger_post_pending()
    assert (result.posted["deposit_entry"], result.failed) == (1, 1)
    assert _entries() == [f"deposit:{entries[1].pk}"]
    failure = JobFailure.objects.get()
    assert (failure.job, failure.object_type, failure.object_id, failure.code) == (
        "settlements.ledger_post_pending",
        "deposit_entry",
        str(entries[0].pk),
        "unbalanced_entry",
    )
    # Fixed, the next run posts it and resolves the failure.
    assert services.ledger_post_pending().posted["deposit_entry"] == 1
    assert _entries() == [f"deposit:{entries[0].pk}", f"deposit:{entries[1].pk}"]
    assert JobFailure.objects.get().resolved_at is not None


@pytest.mark.django_db
def test_a_time_budget_spent_stops_the_run_and_the_next_one_goes_on():
    Shop(), Shop(), Shop()
    first = services.ledger_post_pending(batch_size=1, time_budget=0)
    assert (first.complete, sum(first.posted.values())) == (False, 0)
    done = services.ledger_post_pending(batch_size=1)
    assert (done.complete, done.posted["deposit_entry"]) == (True, 3)


@pytest.mark.django_db
def test_the_gateway_clearing_account_is_zero_once_a_months_orders_and_refunds_are_approved():
    """Capture credits clearing, the statement's approval debits it with what the settled
    orders collected, a refund returned debits it and its statement's negative refund lines
    credit it back: a settled and approved month leaves nothing in clearing."""
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    approver = UserFactory(is_staff=True, email="approver@example.com")
    services.statement_approve(statement=Statement.objects.get(period="2026-10"), actor=approver)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 5)):
        refund = order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, D("25.00"))], reason="scratched"
        )
    order_services.refund_execute(refund_id=refund.pk)
    _settle("2026-11", now=at(2026, 12, 2))
    services.ledger_post_pending()
    # Before November is approved: the refund returned is still in clearing.
    assert _balance(AccountKind.GATEWAY_CLEARING) == D("25.00")
    november = Statement.objects.get(period="2026-11")
    assert november.payable == D("-23.75")  # −25.00 refund + 1.25 commission returned (5 % of 25.00)
    services.statement_approve(statement=november, actor=approver)
    assert _balance(AccountKind.GATEWAY_CLEARING) == D("0.00")
    assert _balance(AccountKind.GATEWAY_FUNDS) == D("83.00")
    assert _verify_ok().startswith("ok (")


@pytest.mark.django_db
def test_payouts_sent_paid_and_failed_move_the_payable_and_a_failed_one_is_owed_again():
    shops = [Shop(), Shop()]
    for n, shop in enumerate(shops):
        shop.completed_order([("100.00", n + 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    approver = UserFactory(is_staff=True, email="approver@example.com")
    for statement in Statement.objects.order_by("merchant_id"):
        services.statement_approve(statement=statement, actor=approver)
    a, b = (shop.merchant.pk for shop in shops)
    assert (_balance("merchant_payable", a), _balance("merchant_payable", b)) == (D("-103.00"), D("-198.00"))

    payer = UserFactory(is_staff=True, email="payer@example.com")
    first, second = services.payout_batch_create(actor=payer).payouts.order_by("id")
    assert _postings(f"payout-sent:{first.reference}") == {
        ("merchant_payable", a): D("103.00"),
        ("payouts_in_transit", None): D("-103.00"),
    }
    assert (_balance("merchant_payable", a), _balance("payouts_in_transit")) == (D("0.00"), D("-301.00"))

    services.payout_mark_paid(payout=first, actor=payer, bank_reference="BANK-1")
    assert _postings(f"payout:{first.reference}") == {
        ("payouts_in_transit", None): D("103.00"),
        ("bank", None): D("-103.00"),
    }
    services.payout_mark_failed(payout=second, actor=payer, reason="Account closed")
    assert _postings(f"payout-failed:{second.reference}") == {
        ("payouts_in_transit", None): D("198.00"),
        ("merchant_payable", b): D("-198.00"),
    }
    # The failed one is owed again; nothing is in transit.
    assert (_balance("merchant_payable", a), _balance("merchant_payable", b)) == (D("0.00"), D("-198.00"))
    assert _balance("payouts_in_transit") == D("0.00")

    retry = services.payout_batch_create(actor=payer).payouts.get()
    services.payout_mark_paid(payout=retry, actor=payer, bank_reference="BANK-2")
    assert _balance("merchant_payable", b) == D("0.00")
    # Payouts posted as they went: the posting run has only the shops' captures and deposits.
    assert services.ledger_post_pending().posted == {
        "payment": 2,
        "refund": 0,
        "deposit_entry": 2,
        "payout_sent": 0,
        "payout_failed": 0,
    }
    assert JournalEntry.objects.filter(key__startswith="payout").count() == 6


@pytest.mark.django_db
def test_payouts_sent_before_this_ledger_are_caught_up_once():
    """A batch sent (and a payout failed) before payouts posted their sent entries: the
    posting run adds the sent entry of the pending one and both entries of the failed one;
    the pending one, paid later, posts its paid entry only."""
    shops = [Shop(), Shop()]
    for shop in shops:
        shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    approver = UserFactory(is_staff=True, email="approver@example.com")
    for statement in Statement.objects.order_by("merchant_id"):
        services.statement_approve(statement=statement, actor=approver)
    payer = UserFactory(is_staff=True, email="payer@example.com")
    with mock.patch("settlements.services.payouts.post_payout_sent"):
        first, second = services.payout_batch_create(actor=payer).payouts.order_by("id")
    Payout.objects.filter(pk=second.pk).update(status="failed", failure_reason="Account closed")
    assert not JournalEntry.objects.filter(key__startswith="payout").exists()

    result = services.ledger_post_pending()
    assert (result.posted["payout_sent"], result.posted["payout_failed"]) == (1, 1)
    assert sorted(JournalEntry.objects.filter(key__startswith="payout").values_list("key", flat=True)) == sorted(
        [f"payout-sent:{first.reference}", f"payout-sent:{second.reference}", f"payout-failed:{second.reference}"]
    )
    services.payout_mark_paid(payout=first, actor=payer, bank_reference="BANK-1")
    assert JournalEntry.objects.filter(key__startswith="payout").count() == 4
    assert _balance("payouts_in_transit") == D("0.00")
    assert _balance("merchant_payable", shops[1].merchant.pk) == D("-103.00")  # still owed
    assert _verify_ok().startswith("ok (")


@pytest.mark.django_db(transaction=True)
def test_two_posting_runs_at_once_post_each_entry_once():
    for _ in range(3):
        Shop().completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    assert (Payment.objects.count(), DepositEntry.objects.count(), JournalEntry.objects.count()) == (3, 3, 0)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            services.ledger_post_pending(batch_size=1)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    keys = list(JournalEntry.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 6
    assert Posting.objects.count() == 12
    assert not JobFailure.objects.exists()
    assert selectors.account_list().filter(kind=AccountKind.GATEWAY_CLEARING).get().balance == D("-324.00")


@pytest.mark.django_db(transaction=True)
def test_the_same_key_posted_by_two_transactions_at_once_is_one_entry():
    """The second transaction's insert waits on the unique key for the first one's commit,
    then fails: `journal_post` answers with the entry that stands instead of an error."""
    bank, held = services.account_for(AccountKind.BANK), services.account_for(AccountKind.DEPOSIT_DEDUCTIONS)
    postings = [(bank, D("10.00")), (held, D("-10.00"))]
    first_posted, second_started = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        try:
            with transaction.atomic():
                results["first"] = services.journal_post(key="race:1", description="first", postings=postings).pk
                first_posted.set()
                second_started.wait(timeout=30)
                time.sleep(0.3)  # let the second one reach its insert (the test holds either way)
        except Exception as exc:
            errors.append(exc)
        finally:
            first_posted.set()
            connection.close()

    def second():
        try:
            first_posted.wait(timeout=30)
            second_started.set()
            results["second"] = services.journal_post(key="race:1", description="second", postings=postings).pk
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    entry = JournalEntry.objects.get(key="race:1")
    assert results == {"first": entry.pk, "second": entry.pk}
    assert (entry.description, entry.postings.count()) == ("first", 2)
