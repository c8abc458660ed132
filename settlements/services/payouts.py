"""Payout batches, the bank file, paid/failed results, invoices and reconciliation.

Guarantees:
- a batch holds approved statements with a positive payable and no live payout (pending or
  paid): a statement is never sent twice; a failed payout leaves it owed for a later batch;
  a merchant with an open payout hold (services.holds) is left out until it is released;
- segregation of duties: whoever approved a statement cannot mark its payout paid (409);
- the ledger follows each payout once (natural keys per payout): sent posts Dr merchant
  payable / Cr payouts sent to the bank; paid, Dr payouts sent / Cr bank; failed reverses the
  sent entry (Dr payouts sent / Cr merchant payable), so the merchant is owed again;
- bank result files are validated whole before anything is applied (all or nothing);
- invoice numbers are sequential per year without gaps (a locked counter row in the same
  transaction as the invoice);
- reconciliation compares independent records and lists every difference with its records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.csvfiles import csv_text, read_csv
from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, quantize
from marketplace.numbers import sequence_next
from marketplace.transitions import transition

from ..choices import LineKind, PayoutHoldStatus, PayoutStatus, StatementStatus
from ..models import PAYOUT_TRANSITIONS, STATEMENT_TRANSITIONS, Invoice, InvoiceCounter, Payout, PayoutBatch, Statement
from .ledger_sources import post_payout_failed, post_payout_paid, post_payout_sent
from .runs import SettlementError

# Created by settlements migration 0007: batch references are "PB", the local date and this
# sequence's next value (8 digits), e.g. PB2026120700000007; its payouts add "-00001", ….
PAYOUT_BATCH_SEQUENCE = "settlements_payout_batch_reference_seq"


@transaction.atomic
def payout_batch_create(*, actor, statement_ids: list[int] | None = None) -> PayoutBatch:
    """Put every (or the given) approved positive statement without a live payout in a batch;
    each payout posts its sent entry (payable → Payouts sent to the bank)."""
    candidates = Statement.objects.select_for_update().filter(status=StatementStatus.APPROVED, payable__gt=0)
    if statement_ids is not None:
        candidates = candidates.filter(pk__in=statement_ids)
    candidates = candidates.exclude(payouts__status__in=[PayoutStatus.PENDING, PayoutStatus.PAID])
    # A merchant whose payouts are held (risk: a bank account changed near a payout) is left
    # out; its statements stay approved and owed for the batch after the release.
    candidates = candidates.exclude(merchant__payout_holds__status=PayoutHoldStatus.OPEN).order_by("pk")
    statements = list(candidates)
    if not statements:
        raise ConflictError("nothing_to_pay", _("No approved statement is waiting to be paid."))
    # Unique by construction (marketplace.numbers), not by the second and four random hex digits.
    reference = f"PB{timezone.localdate():%Y%m%d}{sequence_next(PAYOUT_BATCH_SEQUENCE):08d}"
    batch = PayoutBatch.objects.create(reference=reference, created_by=actor)
    payouts = Payout.objects.bulk_create(
        [
            Payout(batch=batch, statement=s, amount=s.payable, reference=f"{batch.reference}-{n:05d}")
            for n, s in enumerate(statements, start=1)
        ]
    )
    for payout in payouts:
        post_payout_sent(payout, actor=actor)
    audit_record(action="settlements.payout_batch_created", actor=actor, obj=batch, data={"count": len(statements)})
    return batch


def payout_batch_csv(*, batch: PayoutBatch, actor) -> str:
    """The bank file: payee, bank, full account number (finance only), amount, reference.

    The caller checks the finance permission; exporting is recorded in the audit log because
    the file holds decrypted account numbers.
    """
    rows = [["reference", "payee", "bank", "account_number", "amount", "period"]]
    for payout in batch.payouts.select_related("statement__merchant").filter(status=PayoutStatus.PENDING):
        merchant = payout.statement.merchant
        rows.append(
            [
                payout.reference,
                merchant.bank_account_name,
                merchant.bank_name,
                merchant.bank_account_number,
                quantize(payout.amount),
                payout.statement.period,
            ]
        )
    # The kernel's writer: the payee and bank names are the merchant's own text, so a name
    # like "=HYPERLINK(...)" is written as text, not as a formula for finance's spreadsheet.
    content = csv_text(rows)
    with transaction.atomic():
        PayoutBatch.objects.filter(pk=batch.pk, exported_at__isnull=True).update(exported_at=timezone.now())
        audit_record(action="settlements.payout_batch_exported", actor=actor, obj=batch)
    return content


def _lock_payout(payout: Payout) -> Payout:
    return Payout.objects.select_for_update().select_related("statement").get(pk=payout.pk)


@transaction.atomic
def payout_mark_paid(*, payout: Payout, actor, bank_reference: str = "") -> Payout:
    """The bank paid: the statement is paid and the ledger moves the payout from Payouts sent
    to the bank to Bank."""
    locked = _lock_payout(payout)
    PAYOUT_TRANSITIONS.check(locked, "mark_paid")
    statement = Statement.objects.select_for_update().get(pk=locked.statement_id)
    if statement.approved_by_id is not None and statement.approved_by_id == getattr(actor, "pk", None):
        raise ConflictError(
            "segregation_of_duties",
            _("You approved this statement, so someone else must confirm its payment."),
        )
    transition(
        locked,
        "mark_paid",
        table=PAYOUT_TRANSITIONS,
        lock=False,
        changes={
            "bank_reference": (bank_reference or "").strip()[:100],
            "marked_by": actor,
            "marked_at": timezone.now(),
        },
    )
    transition(statement, "pay", table=STATEMENT_TRANSITIONS, lock=False)
    post_payout_paid(locked, actor=actor)
    audit_record(action="settlements.payout_paid", actor=actor, obj=locked, data={"amount": locked.amount})
    return locked


@transaction.atomic
def payout_mark_failed(*, payout: Payout, actor, reason: str) -> Payout:
    """The bank refused: the statement stays approved and owed, for a later batch; the ledger
    reverses the sent movement, so the merchant's payable is owed again."""
    if not (reason or "").strip():
        raise DomainError("reason_required", _("Say why the payment failed."))
    locked = transition(
        payout,
        "mark_failed",
        table=PAYOUT_TRANSITIONS,
        queryset=Payout.objects.select_related("statement"),
        changes={"failure_reason": reason.strip()[:200], "marked_by": actor, "marked_at": timezone.now()},
    )
    post_payout_failed(locked, actor=actor)
    audit_record(action="settlements.payout_failed", actor=actor, obj=locked, reason=locked.failure_reason)
    return locked


@dataclass
class ImportResult:
    applied: int = 0
    errors: list[str] = field(default_factory=list)


RESULT_COLUMNS = ("reference", "status")
RESULT_OPTIONAL = ("bank_reference", "reason")
RESULT_MAX_BYTES = 5 * 1024 * 1024
RESULT_MAX_ROWS = 50_000


@transaction.atomic
def payout_results_import(*, batch: PayoutBatch, actor, data: bytes) -> ImportResult:
    """Apply the bank's result file (reference, status paid|failed, bank_reference, reason).

    A file that cannot be read raises `SettlementError` (marketplace.csvfiles' codes). Every
    row is checked first; with any error nothing is applied and the errors are returned.
    """
    result = ImportResult()
    rows = read_csv(
        data,
        columns=RESULT_COLUMNS,
        optional=RESULT_OPTIONAL,
        max_bytes=RESULT_MAX_BYTES,
        max_rows=RESULT_MAX_ROWS,
        error=SettlementError,
    )
    payouts = {p.reference: p for p in batch.payouts.all()}
    seen = set()
    plan = []
    for number, row in rows:
        reference = row["reference"]
        status = row["status"].lower()
        if reference not in payouts:
            result.errors.append(str(_("line %(n)d: unknown reference %(ref)s") % {"n": number, "ref": reference}))
        elif reference in seen:
            result.errors.append(str(_("line %(n)d: %(ref)s appears twice") % {"n": number, "ref": reference}))
        elif not PAYOUT_TRANSITIONS.can("mark_paid", payouts[reference]):
            result.errors.append(str(_("line %(n)d: %(ref)s is already marked") % {"n": number, "ref": reference}))
        elif status not in {"paid", "failed"}:
            result.errors.append(str(_("line %(n)d: status must be paid or failed") % {"n": number}))
        elif status == "failed" and not row["reason"]:
            result.errors.append(str(_("line %(n)d: a failed payment needs a reason") % {"n": number}))
        else:
            plan.append((payouts[reference], status, row))
        seen.add(reference)
    if result.errors:
        return result
    for payout, status, row in plan:
        if status == "paid":
            payout_mark_paid(payout=payout, actor=actor, bank_reference=row["bank_reference"])
        else:
            payout_mark_failed(payout=payout, actor=actor, reason=row["reason"])
        result.applied += 1
    return result


@transaction.atomic
def invoice_issue(*, statement: Statement, actor) -> Invoice:
    """Invoice the statement's commission (less commission returned) and service fees."""
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    if locked.status == StatementStatus.DRAFT:
        raise ConflictError("not_approved", _("Invoices are issued for approved statements."))
    existing = Invoice.objects.filter(statement=locked).first()
    if existing is not None:
        return existing
    lines = {line.kind: line.amount for line in locked.lines.all()}
    commission = -(lines.get(LineKind.COMMISSION, ZERO) + lines.get(LineKind.COMMISSION_RETURNED, ZERO))
    service_fees = -lines.get(LineKind.SERVICE_FEES, ZERO)
    year = timezone.localdate().year
    counter, _created = InvoiceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    invoice = Invoice.objects.create(
        number=f"INV{year}{counter.last_number:06d}",
        statement=locked,
        merchant_id=locked.merchant_id,
        commission=commission,
        service_fees=service_fees,
        total=commission + service_fees,
        issued_by=actor,
    )
    audit_record(action="settlements.invoice_issued", actor=actor, obj=invoice, data={"total": invoice.total})
    return invoice


def parse_amount(value: str) -> Decimal:
    """An amount typed by finance, to the cent; 400 `invalid_amount` if it is not a number."""
    try:
        return quantize(Decimal(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise DomainError("invalid_amount", _("Enter an amount in yuan, e.g. 120.50.")) from exc
