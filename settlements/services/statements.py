"""Statement review and approval, and manual adjustments.

Guarantees: approving moves the statement by `STATEMENT_TRANSITIONS` with the kernel's
`transition` helper (it locks the statement and refuses anything but a draft, 409
`invalid_transition`), and posts its journal entry in the same transaction (once: the entry's natural key is the statement).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import DomainError
from marketplace.money import quantize
from marketplace.transitions import transition

from ..models import STATEMENT_TRANSITIONS, ManualAdjustment, Statement
from ..periods import Period
from .ledger import journal_post, statement_ledger_total, statement_postings


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


def statement_matches_ledger(statement: Statement) -> bool:
    """An approved statement's payable (less the carried-forward part) equals its posting."""
    from ..models import LineKind

    carry = sum((line.amount for line in statement.lines.filter(kind=LineKind.CARRY_FORWARD)), quantize(0))
    return statement_ledger_total(statement) == statement.payable - carry
