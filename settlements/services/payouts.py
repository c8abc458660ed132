"""Payout batches, the bank file, paid/failed results, invoices and reconciliation.

Guarantees:
- a batch holds approved statements with a positive payable and no live payout (pending or
  paid): a statement is never sent twice; a failed payout leaves it owed for a later batch;
- segregation of duties: whoever approved a statement cannot mark its payout paid (409);
- marking paid posts Dr merchant payable / Cr bank once (natural key per payout);
- bank result files are validated whole before anything is applied (all or nothing);
- invoice numbers are sequential per year without gaps (a locked counter row in the same
  transaction as the invoice);
- reconciliation compares independent records and lists every difference with its records.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.csvfiles import csv_text, read_csv
from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, quantize
from marketplace.transitions import transition

from ..models import (
    PAYOUT_TRANSITIONS,
    STATEMENT_TRANSITIONS,
    AccountKind,
    Invoice,
    InvoiceCounter,
    LineKind,
    Payout,
    PayoutBatch,
    PayoutStatus,
    Statement,
    StatementStatus,
)
from ..periods import Period
from .ledger import account_for, journal_post, statement_ledger_total
from .runs import SettlementError


@transaction.atomic
def payout_batch_create(*, actor, statement_ids: list[int] | None = None) -> PayoutBatch:
    """Put every (or the given) approved positive statement without a live payout in a batch."""
    candidates = Statement.objects.select_for_update().filter(status=StatementStatus.APPROVED, payable__gt=0)
    if statement_ids is not None:
        candidates = candidates.filter(pk__in=statement_ids)
    candidates = candidates.exclude(payouts__status__in=[PayoutStatus.PENDING, PayoutStatus.PAID]).order_by("pk")
    statements = list(candidates)
    if not statements:
        raise ConflictError("nothing_to_pay", _("No approved statement is waiting to be paid."))
    stamp = timezone.localtime()
    batch = PayoutBatch.objects.create(
        reference=f"PB{stamp:%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}", created_by=actor
    )
    Payout.objects.bulk_create(
        [
            Payout(batch=batch, statement=s, amount=s.payable, reference=f"{batch.reference}-{n:05d}")
            for n, s in enumerate(statements, start=1)
        ]
    )
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
    """The bank paid: the statement is paid and the ledger moves payable to bank."""
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
    journal_post(
        key=f"payout:{locked.reference}",
        description=f"Payout {locked.reference}",
        postings=[
            (account_for(AccountKind.MERCHANT_PAYABLE, statement.merchant_id), locked.amount),
            (account_for(AccountKind.BANK), -locked.amount),
        ],
        actor=actor,
    )
    audit_record(action="settlements.payout_paid", actor=actor, obj=locked, data={"amount": locked.amount})
    return locked


@transaction.atomic
def payout_mark_failed(*, payout: Payout, actor, reason: str) -> Payout:
    """The bank refused: the statement stays approved and owed, for a later batch."""
    if not (reason or "").strip():
        raise DomainError("reason_required", _("Say why the payment failed."))
    locked = transition(
        payout,
        "mark_failed",
        table=PAYOUT_TRANSITIONS,
        queryset=Payout.objects.select_related("statement"),
        changes={"failure_reason": reason.strip()[:200], "marked_by": actor, "marked_at": timezone.now()},
    )
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
    year = timezone.localdate().year
    counter, _created = InvoiceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    invoice = Invoice.objects.create(
        number=f"INV{year}{counter.last_number:06d}",
        statement=locked,
        merchant_id=locked.merchant_id,
        commission=commission,
        service_fees=ZERO,
        total=commission,
        issued_by=actor,
    )
    audit_record(action="settlements.invoice_issued", actor=actor, obj=invoice, data={"total": invoice.total})
    return invoice


# --- Reconciliation -------------------------------------------------------------------


@dataclass
class Reconciliation:
    period: str
    sections: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(not s["differences"] for s in self.sections.values())


def reconcile(*, period: str) -> Reconciliation:
    """Compare, for the period: gateway payments captured with buyer orders paid; refunds
    issued with their refund lines; approved statements with their ledger postings."""
    from orders.models import BuyerOrder, Payment, PaymentStatus, Refund

    parsed = Period.parse(period)
    start, end = Period.parse(str(parsed)).first_day, parsed.end
    from ..periods import local_midnight

    start_at = local_midnight(start)
    report = Reconciliation(period=str(parsed))

    payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED, succeeded_at__gte=start_at, succeeded_at__lt=end)
    orders = BuyerOrder.objects.filter(paid_at__gte=start_at, paid_at__lt=end)
    paid_by_order = dict(payments.values("buyer_order_id").annotate(t=Sum("amount")).values_list("buyer_order_id", "t"))
    differences = []
    for order in orders.only("pk", "number", "payable_total"):
        captured = paid_by_order.pop(order.pk, ZERO)
        if captured != order.payable_total:
            differences.append({"order": order.number, "order_total": order.payable_total, "captured": captured})
    for order_id, amount in paid_by_order.items():
        differences.append({"order_id": order_id, "order_total": None, "captured": amount})
    report.sections["payments"] = {
        "captured": payments.aggregate(t=Sum("amount"))["t"] or ZERO,
        "orders_paid": orders.aggregate(t=Sum("payable_total"))["t"] or ZERO,
        "differences": differences,
    }

    # Refunds of merchant orders, counted from their decision as settlement counts them. A late
    # payment given back whole (no merchant order, no lines) is outside both sides: its
    # payment is not among the captured ones either.
    refunds = Refund.objects.filter(
        merchant_order__isnull=False, completed_at__gte=start_at, completed_at__lt=end
    ).prefetch_related("lines")
    differences = []
    issued = ZERO
    by_lines = ZERO
    for refund in refunds:
        line_total = sum((line.amount for line in refund.lines.all()), ZERO) + refund.shipping_amount
        issued += refund.amount
        by_lines += line_total
        if line_total != refund.amount:
            differences.append({"refund": refund.reference, "issued": refund.amount, "lines": line_total})
    report.sections["refunds"] = {"issued": issued, "refund_lines": by_lines, "differences": differences}

    differences = []
    statements = (
        Statement.objects.filter(period=str(parsed)).exclude(status=StatementStatus.DRAFT).prefetch_related("lines")
    )
    for statement in statements:
        carry = sum((line.amount for line in statement.lines.all() if line.kind == LineKind.CARRY_FORWARD), ZERO)
        ledger = statement_ledger_total(statement)
        if ledger != statement.payable - carry:
            differences.append(
                {"merchant": statement.merchant_id, "statement": statement.payable - carry, "ledger": ledger}
            )
    report.sections["ledger"] = {"statements": statements.count(), "differences": differences}
    return report


def parse_amount(value: str) -> Decimal:
    """An amount typed by finance, to the cent; 400 `invalid_amount` if it is not a number."""
    try:
        return quantize(Decimal(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise DomainError("invalid_amount", _("Enter an amount in yuan, e.g. 120.50.")) from exc
