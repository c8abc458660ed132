"""Payout holds: placing one on a merchant and releasing it.

Guarantees:
- at most one open hold per merchant (partial unique index): placing a hold on a merchant
  already held returns the open one, however many callers race;
- while a hold is open, `payout_batch_create` leaves that merchant's statements out (and only
  that merchant's); they stay approved and owed, so once released they go in the next batch;
- placing locks the merchant's approved statements (pk order) first, so a payout batch being
  created at the same moment either finishes first (its payouts exist and the hold still
  applies to the next batch) or waits and then sees the hold;
- every placement and release is audited; releasing needs a note.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import DomainError
from marketplace.transitions import transition

from ..choices import PayoutHoldStatus, StatementStatus
from ..models import PAYOUT_HOLD_TRANSITIONS, PayoutHold, Statement


@transaction.atomic
def payout_hold_place(
    *, merchant_id: int, cause: str, caused_at: datetime.datetime, reason: str, actor=None
) -> tuple[PayoutHold, bool]:
    """Hold the merchant's payouts; returns (the open hold, whether this call placed it).

    Idempotent: a merchant already held keeps its hold (no second row, no second audit entry).
    """
    list(
        Statement.objects.select_for_update()
        .filter(merchant_id=merchant_id, status=StatementStatus.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    existing = PayoutHold.objects.filter(merchant_id=merchant_id, status=PayoutHoldStatus.OPEN).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            hold = PayoutHold.objects.create(
                merchant_id=merchant_id, cause=cause, caused_at=caused_at, reason=str(reason)[:2000]
            )
    except IntegrityError:  # placed meanwhile by a concurrent caller
        return PayoutHold.objects.get(merchant_id=merchant_id, status=PayoutHoldStatus.OPEN), False
    audit_record(action="settlements.payout_hold_placed", actor=actor, obj=hold, data={"cause": cause})
    return hold, True


@transaction.atomic
def payout_hold_release(*, hold: PayoutHold, actor, note: str) -> PayoutHold:
    """Release an open hold (finance, after checking the new account): the merchant's owed
    statements go in the next payout batch. 400 `note_required` without a note; 409
    `invalid_transition` if already released."""
    note = (note or "").strip()
    if not note:
        raise DomainError("note_required", _("Say why the hold can be released."))
    released = transition(
        hold,
        "release",
        table=PAYOUT_HOLD_TRANSITIONS,
        changes={"released_by": actor, "released_at": timezone.now(), "release_note": note[:2000]},
    )
    audit_record(action="settlements.payout_hold_released", actor=actor, obj=released, reason=note[:2000])
    return released
