"""Penalties: raised by staff or by the late-shipment rule, appealed by the merchant within
the window, decided by staff, deducted once (statement or deposit).

Guarantees:
- states move only by `PENALTY_TRANSITIONS`, each under the penalty's row lock; who, when and
  why are recorded on the row and in the audit log;
- the late-shipment rule raises at most one penalty per merchant order (a unique key), so
  the periodic task may run any number of times;
- an appeal is accepted only before `appeal_until` (409 `appeal_window_closed` after);
- a penalty is deducted once: a statement run takes it (`_penalty_lines`) only while it
  stands and has no deposit deduction, under its row lock; a deposit deduction takes it only
  while it stands and no statement has it, through `merchants.services.deposit_deduct` with
  the reference `penalty-<id>` (its natural key), and the deposit movement's entry (key
  `deposit:<entry id>`, Dr deposits held / Cr penalty income) is posted at once.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import ConflictError, DomainError, NotFoundError
from marketplace.jobs import run_each
from marketplace.money import ZERO, quantize
from marketplace.transitions import transition
from merchants import services as merchant_services
from merchants.documents import clean_document
from orders.selectors.late import merchant_orders_shipped_late

from ..choices import LineKind, PenaltyKind, PenaltySettlement, PenaltyStatus
from ..models import PENALTY_TRANSITIONS, Penalty, PenaltyFile, PenaltyParameter, StatementLine
from . import notices
from .ledger_sources import PENALTY_REFERENCE_PREFIX, deposit_entry_post

logger = logging.getLogger(__name__)

#: At most this many files on one side of a penalty (evidence, or the appeal).
MAX_FILES = 10


def _amount(value) -> Decimal:
    try:
        amount = quantize(Decimal(str(value)))
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise DomainError("invalid_amount", _("Enter an amount in yuan, e.g. 500.00.")) from exc
    if amount <= 0:
        raise DomainError("invalid_amount", _("The amount must be greater than zero."))
    return amount


def _clean_files(files) -> list:
    files = [f for f in (files or []) if f]
    if len(files) > MAX_FILES:
        raise DomainError("too_many_files", _("Attach at most %(n)d files.") % {"n": MAX_FILES}, {"max": MAX_FILES})
    # Every file is checked before anything is written (merchant documents' validation).
    return [(uploaded, clean_document(uploaded)) for uploaded in files]


def _save_files(penalty: Penalty, side: str, cleaned: list, actor) -> None:
    saved = []
    try:
        for uploaded, clean in cleaned:
            row = PenaltyFile(
                penalty=penalty,
                side=side,
                content_type=clean.content_type,
                size=clean.size,
                sha256=clean.sha256,
                original_name=(getattr(uploaded, "name", "") or "")[:255],
                uploaded_by=actor,
            )
            row.file.save("upload", ContentFile(clean.content), save=False)
            saved.append(row.file)
            row.save()
    except Exception:
        for stored in saved:
            stored.delete(save=False)
        raise


def penalty_amount(kind: str) -> Decimal | None:
    """The amount staff set for `kind` (None when none is set)."""
    return PenaltyParameter.objects.filter(kind=kind).values_list("amount", flat=True).first()


@transaction.atomic
def penalty_raise(*, merchant, kind: str, amount, reason: str, actor, evidence=(), now=None) -> Penalty:
    """Staff raise a penalty with its reason and evidence files (PDF, PNG, JPEG, checked from
    their bytes); it is open for appeal for `PENALTY_APPEAL_DAYS`. Without an amount, the
    amount staff set for the kind applies. Every file is checked before anything is written;
    a refusal writes nothing."""
    if kind not in PenaltyKind.values:
        raise DomainError("invalid_penalty_kind", _("Choose the kind of penalty."))
    if amount is None or amount == "":
        amount = penalty_amount(kind)
    value = _amount(amount)
    if not (reason or "").strip():
        raise DomainError("reason_required", _("Give a reason: the merchant will see it."))
    cleaned = _clean_files(evidence)
    now = now or timezone.now()
    penalty = Penalty.objects.create(
        merchant=merchant,
        kind=kind,
        amount=value,
        reason=reason.strip(),
        raised_by=actor,
        raised_at=now,
        appeal_until=now + datetime.timedelta(days=settings.PENALTY_APPEAL_DAYS),
    )
    _save_files(penalty, PenaltyFile.Side.EVIDENCE, cleaned, actor)
    audit_record(
        action="settlements.penalty_raised", actor=actor, obj=penalty, reason=penalty.reason, data={"amount": value}
    )
    notices.penalty_raised(penalty)
    return penalty


def late_shipment_penalties_raise(*, now=None) -> int:
    """The rule: one late-shipment penalty per merchant order shipped more than
    `PROMISED_SHIPPING_HOURS` after payment (looking back `LATE_SHIPMENT_LOOKBACK_DAYS`), at
    the amount staff set for late shipment; returns how many were raised.

    Idempotent: an order already penalised is skipped (the unique key decides, even when two
    runs race). Without an amount set, nothing is raised."""
    now = now or timezone.now()
    amount = penalty_amount(PenaltyKind.LATE_SHIPMENT)
    if amount is None:
        logger.warning("no late-shipment penalty amount is set: nothing raised")
        return 0
    since = now - datetime.timedelta(days=settings.LATE_SHIPMENT_LOOKBACK_DAYS)
    late = merchant_orders_shipped_late(promised_hours=settings.PROMISED_SHIPPING_HOURS, shipped_since=since)
    done = set(
        Penalty.objects.filter(kind=PenaltyKind.LATE_SHIPMENT, merchant_order__isnull=False)
        .filter(merchant_order__shipped_at__gte=since)
        .values_list("merchant_order_id", flat=True)
    )
    todo = {row[0]: row for row in late if row[0] not in done}

    def raise_one(order_id) -> bool:
        _order_id, merchant_id, number, paid_at, shipped_at = todo[order_id]
        hours = int((shipped_at - paid_at).total_seconds() // 3600)
        # Stored text, read later by staff and the merchant: in the platform's language,
        # whatever language the caller (a task, a test, an admin request) has active.
        with translation.override(settings.LANGUAGE_CODE):
            reason = str(
                _("Order %(number)s shipped %(hours)d hours after payment (promised: %(promised)d).")
                % {"number": number, "hours": hours, "promised": settings.PROMISED_SHIPPING_HOURS}
            )
        try:
            with transaction.atomic():
                penalty = Penalty.objects.create(
                    merchant_id=merchant_id,
                    kind=PenaltyKind.LATE_SHIPMENT,
                    amount=amount,
                    reason=reason,
                    merchant_order_id=order_id,
                    raised_at=now,
                    appeal_until=now + datetime.timedelta(days=settings.PENALTY_APPEAL_DAYS),
                )
                audit_record(action="settlements.penalty_raised", obj=penalty, data={"amount": amount, "rule": True})
                notices.penalty_raised(penalty)
        except IntegrityError:
            return False  # raised meanwhile by a concurrent run
        return True

    # Each order in its own transaction: one that fails is recorded as a JobFailure and the
    # others are still raised (marketplace.jobs).
    return run_each(
        job="settlements.late_shipment_penalties_raise",
        object_type="orders.merchantorder",
        ids=sorted(todo),
        handle=raise_one,
    ).done


def _lock(penalty) -> Penalty:
    return Penalty.objects.select_for_update().get(pk=getattr(penalty, "pk", penalty))


@transaction.atomic
def penalty_appeal(*, penalty: Penalty, merchant, actor, statement: str, files=(), now=None) -> Penalty:
    """The merchant appeals an open penalty within its window with a statement and files.
    Another merchant's penalty is not found (404 `not_found`); after the window, 409
    `appeal_window_closed`; nothing is written on a refusal."""
    if penalty.merchant_id != merchant.pk:
        raise NotFoundError("not_found", _("Not found."))
    if not (statement or "").strip():
        raise DomainError("statement_required", _("Say why the penalty should be cancelled."))
    cleaned = _clean_files(files)
    now = now or timezone.now()
    locked = _lock(penalty)
    PENALTY_TRANSITIONS.check(locked, "appeal")
    if now >= locked.appeal_until:
        raise ConflictError(
            "appeal_window_closed",
            _("The appeal window of this penalty has closed."),
            {"appeal_until": locked.appeal_until.isoformat()},
        )
    locked = transition(
        locked,
        "appeal",
        table=PENALTY_TRANSITIONS,
        lock=False,
        changes={"appeal_statement": statement.strip(), "appealed_by": actor, "appealed_at": now},
    )
    _save_files(locked, PenaltyFile.Side.APPEAL, cleaned, actor)
    audit_record(action="settlements.penalty_appealed", actor=actor, obj=locked, reason=locked.appeal_statement)
    return locked


@transaction.atomic
def penalty_decide(*, penalty: Penalty, actor, upheld: bool, reason: str, now=None) -> Penalty:
    """Staff decide an appeal: upheld → cancelled (never deducted); rejected → the penalty
    stands from now. The reason is required and recorded with who and when."""
    if not (reason or "").strip():
        raise DomainError("reason_required", _("Give a reason: the merchant will see it."))
    now = now or timezone.now()
    changes = {"decided_by": actor, "decided_at": now, "decision_reason": reason.strip()}
    if not upheld:
        changes["stands_since"] = now
    locked = transition(penalty, "uphold" if upheld else "reject", table=PENALTY_TRANSITIONS, changes=changes)
    audit_record(
        action="settlements.penalty_appeal_upheld" if upheld else "settlements.penalty_appeal_rejected",
        actor=actor,
        obj=locked,
        reason=locked.decision_reason,
    )
    notices.penalty_decided(locked, upheld=upheld)
    return locked


def penalties_lapse(*, now=None) -> int:
    """Open penalties whose appeal window has passed come to stand (since the window's end);
    returns how many. Idempotent; one penalty at a time under its lock, in its own transaction
    (`marketplace.jobs.run_each`: a failure is recorded and the others go on)."""
    now = now or timezone.now()

    def lapse_one(pk) -> bool:
        locked = _lock(pk)
        if locked.status != PenaltyStatus.OPEN or locked.appeal_until > now:
            return False
        transition(
            locked, "lapse", table=PENALTY_TRANSITIONS, lock=False, changes={"stands_since": locked.appeal_until}
        )
        return True

    due = Penalty.objects.filter(status=PenaltyStatus.OPEN, appeal_until__lte=now).order_by("pk")
    return run_each(
        job="settlements.penalties_lapse",
        object_type="settlements.penalty",
        ids=due.values_list("pk", flat=True),
        handle=lapse_one,
    ).done


@transaction.atomic
def penalty_deduct_from_deposit(*, penalty: Penalty, actor, now=None) -> Penalty:
    """Staff take a standing penalty from the merchant's deposit instead of the statement.

    Locks the penalty (then the merchant, in merchants' service). Once: the deposit entry's
    reference is `penalty-<id>` and its journal entry the deposit movement's; a penalty
    already in a statement, cancelled or still open is refused (409 `invalid_transition`);
    a deposit too small is refused (409 `insufficient_deposit`) and nothing changes."""
    now = now or timezone.now()
    locked = _lock(penalty)
    if locked.status == PenaltyStatus.OPEN and locked.appeal_until <= now:
        locked = transition(
            locked, "lapse", table=PENALTY_TRANSITIONS, lock=False, changes={"stands_since": locked.appeal_until}
        )
    PENALTY_TRANSITIONS.check(locked, "deduct")
    reference = f"{PENALTY_REFERENCE_PREFIX}{locked.pk}"
    entry = merchant_services.deposit_deduct(
        merchant=locked.merchant,
        actor=actor,
        amount=locked.amount,
        reason=str(_("Penalty #%(id)s: %(kind)s") % {"id": locked.pk, "kind": locked.get_kind_display()}),
        reference=reference,
    )
    locked = transition(
        locked,
        "deduct",
        table=PENALTY_TRANSITIONS,
        lock=False,
        changes={
            "settled_via": PenaltySettlement.DEPOSIT,
            "deposit_reference": reference,
            "deducted_by": actor,
            "deducted_at": now,
        },
    )
    # The one entry of this money movement: the deposit's (ledger_sources), penalty income.
    deposit_entry_post(entry)
    audit_record(
        action="settlements.penalty_deducted_from_deposit", actor=actor, obj=locked, data={"amount": locked.amount}
    )
    return locked


def _penalty_lines(statements: dict[int, int], period) -> list[StatementLine]:
    """The penalties that stood before `period` ended and were deducted nowhere yet: taken by
    the merchant's statement (merchant id → statement id) and summed into one negative line.

    An open penalty whose window ended within the period stands from its window's end. The
    rows are locked in pk order and re-checked by the locking query, so a deposit deduction
    racing the run takes a penalty or leaves it, never both."""
    if not statements:
        return []
    end = period.end
    due = (
        Penalty.objects.select_for_update()
        .filter(merchant_id__in=list(statements), statement__isnull=True, deposit_reference="")
        .filter(
            Q(status=PenaltyStatus.STANDS, stands_since__lt=end) | Q(status=PenaltyStatus.OPEN, appeal_until__lt=end)
        )
        .order_by("pk")
    )
    by_merchant: dict[int, list[Penalty]] = defaultdict(list)
    for penalty in due:
        by_merchant[penalty.merchant_id].append(penalty)
    lines = []
    now = timezone.now()
    for merchant_id, rows in by_merchant.items():
        statement_id = statements[merchant_id]
        for penalty in rows:
            changes = {"statement_id": statement_id, "settled_via": PenaltySettlement.STATEMENT, "deducted_at": now}
            if penalty.status == PenaltyStatus.OPEN:
                transition(
                    penalty,
                    "lapse",
                    table=PENALTY_TRANSITIONS,
                    lock=False,
                    changes={"stands_since": penalty.appeal_until},
                )
            transition(penalty, "deduct", table=PENALTY_TRANSITIONS, lock=False, changes=changes)
        lines.append(
            StatementLine(
                statement_id=statement_id,
                kind=LineKind.PENALTIES,
                amount=-sum((p.amount for p in rows), ZERO),
                count=len(rows),
            )
        )
    return lines
