"""Statement review and approval, and manual adjustments.

Guarantees: approving moves the statement by `STATEMENT_TRANSITIONS` with the kernel's
`transition` helper (it locks the statement and refuses anything but a draft, 409
`invalid_transition`), and posts its journal entry in the same transaction (once: the entry's natural key is the statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import ConflictError, DomainError
from marketplace.money import quantize
from marketplace.transitions import transition

from ..models import STATEMENT_TRANSITIONS, ManualAdjustment, Statement
from ..periods import Period
from ..selectors import statement_drafts
from . import notices
from .ledger import journal_post, statement_postings


@transaction.atomic
def statement_approve(*, statement: Statement, actor) -> Statement:
    """Finance approves a reviewed statement: it becomes payable and posts to the ledger."""
    locked = transition(
        statement,
        "approve",
        table=STATEMENT_TRANSITIONS,
        changes={"approved_by": actor, "approved_at": timezone.now()},
    )
    journal_post(
        key=f"statement:{locked.pk}",
        description=f"Statement {locked.period} merchant {locked.merchant_id}",
        postings=statement_postings(locked),
        statement=locked,
        actor=actor,
    )
    audit_record(action="settlements.statement_approved", actor=actor, obj=locked, data={"payable": locked.payable})
    notices.statement_ready(locked)
    return locked


@transaction.atomic
def adjustment_create(*, merchant, period: str, amount, reason: str, actor) -> ManualAdjustment:
    """A manual credit (+) or debit (−) with a reason, for the period's statement."""
    try:
        Period.parse(period)
    except ValueError as exc:
        raise DomainError("invalid_period", _("A period looks like 2026-10.")) from exc
    try:
        value = quantize(Decimal(str(amount)))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise DomainError("invalid_amount", _("Enter an amount in yuan, e.g. -120.50.")) from exc
    if value == 0:
        raise DomainError("invalid_amount", _("The amount must not be zero."))
    if not (reason or "").strip():
        raise DomainError("reason_required", _("Give a reason: the merchant will see it."))
    adjustment = ManualAdjustment.objects.create(
        merchant=merchant, period=period, amount=value, reason=reason.strip(), created_by=actor
    )
    audit_record(action="settlements.adjustment_created", actor=actor, obj=adjustment, data={"amount": value})
    return adjustment


@dataclass(frozen=True)
class ApproveAllResult:
    approved: int
    skipped: int


def statement_approve_all(*, actor, period: str | None = None, run_id: int | None = None) -> ApproveAllResult:
    """Approve every statement to review of a period and/or a run, one statement at a time.

    Per item, not all or nothing: each statement is approved and posted to the ledger in its
    own transaction (`statement_approve`), so one that is refused (approved meanwhile by
    someone else: 409 `invalid_transition`) is skipped and counted, and does not undo the
    others. Each is entered with `atomic(durable=True)`: called inside an outer transaction,
    the per-item guarantee could not hold, so that raises at once instead. Locks: one
    statement row at a time, in primary-key order. Neither a period nor a run: 400
    `period_or_run_required` (never every draft of every period by accident)."""
    if not period and not run_id:
        raise DomainError("period_or_run_required", _("Give the period or the run whose statements to approve."))
    approved = skipped = 0
    for statement in statement_drafts(period=period, run_id=run_id):
        try:
            with transaction.atomic(durable=True):
                statement_approve(statement=statement, actor=actor)
        except ConflictError:
            skipped += 1
        else:
            approved += 1
    return ApproveAllResult(approved=approved, skipped=skipped)
