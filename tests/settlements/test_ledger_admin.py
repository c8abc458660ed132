"""The finance admin shows every money movement: journal entries filtered by movement (and
by account), the new accounts with their balances, the reconciliation page's movements."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from orders import services as order_services
from orders.models import Payment
from orders.services import RefundItem
from settlements import services
from settlements.models import JournalEntry, Statement
from tests.factories import UserFactory
from tests.settlements.test_admin import finance, finance_member, staff
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def url(name: str, *args) -> str:
    return reverse(f"admin:settlements_{name}", args=args)


@pytest.fixture
def books():
    """A shop with an October order captured (108.00), 25.00 refunded and returned, settled,
    approved, paid out; every movement posted."""
    shop = Shop()
    order = shop.completed_order([("100.00", 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 10, 5)):
        refund = order_services.refund_issue(
            merchant_order=order, items=[RefundItem(order.lines.get().pk, D("25.00"))], reason="scratched"
        )
        order_services.refund_execute(refund_id=refund.pk)
    _settle("2026-10", now=at(2026, 11, 2))
    services.statement_approve(statement=Statement.objects.get(), actor=staff())
    payout = services.payout_batch_create(actor=staff()).payouts.get()
    services.payout_mark_paid(payout=payout, actor=staff(), bank_reference="BANK-1")
    services.ledger_post_pending()
    payment = Payment.objects.get(buyer_order=order.buyer_order)
    return shop, payment, refund, payout


def test_journal_entries_by_movement_and_by_account(client, books):
    shop, payment, refund, payout = books
    client.force_login(finance())
    response = client.get(url("journalentry_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 6
    html = response.content.decode()
    for label in (
        "Buyer payment captured",
        "Refund returned to the buyer",
        "Deposit movement",
        "Payout sent to the bank",
    ):
        assert label in html

    def keys(**params):
        response = client.get(url("journalentry_changelist"), params)
        assert response.status_code == 200
        return sorted(entry.key for entry in response.context["cl"].result_list)

    assert keys(movement="payment") == [f"payment:{payment.reference}"]
    assert keys(movement="refund") == [f"refund:{refund.reference}"]
    assert keys(movement="payout") == [f"payout:{payout.reference}"]  # not payout-sent:
    assert keys(movement="payout-sent") == [f"payout-sent:{payout.reference}"]
    assert keys(movement="deposit") == [f"deposit:{shop.merchant.deposit_entries.get().pk}"]
    # By account: the entries that touched the gateway's funds.
    assert keys(postings__account__kind__exact="gateway_funds") == [
        f"payment:{payment.reference}",
        f"refund:{refund.reference}",
    ]
    # By source id (search).
    assert keys(q=payment.reference) == [f"payment:{payment.reference}"]


def test_accounts_show_the_new_kinds_with_their_balances(client, books):
    shop, _payment, _refund, payout = books
    client.force_login(finance())
    response = client.get(url("account_changelist"))
    balances = {(a.kind, a.merchant_id): a.balance for a in response.context["cl"].result_list}
    deposit = shop.merchant.deposit_entries.get().amount
    # The statement: 100.00 + 8.00 − 5.00 commission − 25.00 refund + 1.25 commission returned
    # = 79.25, paid out. Bank: + deposit received − 79.25. Clearing: −108 captured + 25 returned
    # + 83 collected on the approved statement.
    assert payout.amount == D("79.25")
    assert balances[("bank", None)] == deposit - D("79.25")
    assert balances[("gateway_funds", None)] == D("83.00")
    assert balances[("gateway_clearing", None)] == D("0.00")
    assert balances[("payouts_in_transit", None)] == D("0.00")
    assert balances[("deposits_held", shop.merchant.pk)] == -deposit
    assert balances[("merchant_payable", shop.merchant.pk)] == D("0.00")
    html = response.content.decode()
    assert "Funds at the payment gateway" in html
    assert "Payouts sent to the bank" in html
    response = client.get(url("account_changelist"), {"kind__exact": "deposits_held"})
    assert [a.merchant_id for a in response.context["cl"].result_list] == [shop.merchant.pk]


def test_the_reconciliation_page_lists_movements_and_each_one_not_posted(client, books):
    _shop, payment, _refund, _payout = books
    client.force_login(finance())
    response = client.get(url("statement_reconciliation"), {"period": "2026-10"})
    assert response.context["report"].ok, response.context["report"].sections
    html = response.content.decode()
    assert "<th>Payments captured</th><td>¥108.00</td><td>¥108.00</td>" in html
    assert "<th>Refunds returned</th><td>¥25.00</td><td>¥25.00</td>" in html

    other = Shop()
    other.completed_order([("100.00", 1)], placed=at(2026, 10, 3), completed=at(2026, 10, 4))
    late = Payment.objects.exclude(pk=payment.pk).get()
    html = client.get(url("statement_reconciliation"), {"period": "2026-10"}).content.decode()
    assert "2026-10: differences found, listed below." in html
    assert f"<td>Payment {late.reference}</td><td>¥108.00</td><td>not posted</td>" in html
    entry = other.merchant.deposit_entries.get()
    assert f"Deposits held by merchant {other.merchant.pk} (entries not posted: {entry.pk})" in html
    assert JournalEntry.objects.filter(key=f"payment:{late.reference}").count() == 0  # the page reads only


def test_the_ledger_pages_open_for_finance_only(client, books):
    shop, _payment, _refund, _payout = books
    entry = JournalEntry.objects.get(key__startswith="payment:")
    pages = [
        url("journalentry_changelist") + "?movement=payment",
        url("journalentry_change", entry.pk),
        url("account_changelist") + "?kind__exact=gateway_funds",
    ]
    client.force_login(finance())
    for page in pages:
        assert client.get(page).status_code == 200, page
    client.force_login(staff())
    for page in pages:
        assert client.get(page).status_code == 403, page
    for user in (UserFactory(), shop.merchant.owner, finance_member(shop), None):
        client.logout()
        if user is not None:
            client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302, page
            assert response["Location"].startswith("/admin/login/"), page
