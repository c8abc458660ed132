"""A contract's term after its acceptance: the yearly renewal (issue #15) extends it.

Guarantees: the contract's row is locked; only a contract in force (accepted) is extended,
by exactly its own term (end − start), once per end date: extending asks for the end date
the caller judged, so a second call for the same term (a job run twice, a staff action and
the job racing) finds the end date moved and refuses with 409 `contract_term_changed`
instead of extending twice. Audited on the merchant's stream with the old and new dates.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record

from ..choices import ContractStatus
from ..errors import MerchantConflict
from ..models import Contract


@transaction.atomic
def contract_extend(*, contract: Contract, actor, expected_end_date: datetime.date, reason: str) -> Contract:
    """Extend the accepted `contract` whose end date is still `expected_end_date` by its
    term: the new end date is the old one plus (end − start). `actor` None for the yearly
    job. Locks the contract; audits `merchant.contract_extended` (module docstring)."""
    locked = Contract.objects.select_for_update().select_related("merchant").get(pk=contract.pk)
    if locked.status != ContractStatus.ACCEPTED:
        raise MerchantConflict(
            "contract_not_in_force", _("Only a contract in force can be extended."), {"status": locked.status}
        )
    if locked.end_date != expected_end_date:
        raise MerchantConflict(
            "contract_term_changed",
            _("The contract's end date changed meanwhile; look at it again."),
            {"end_date": locked.end_date.isoformat()},
        )
    previous = locked.end_date
    locked.end_date = previous + (locked.end_date - locked.start_date)
    locked.save(update_fields=["end_date"])
    audit_record(
        action="merchant.contract_extended",
        actor=actor,
        obj=locked.merchant,
        reason=(reason or "").strip(),
        data={"contract": locked.number, "from": previous.isoformat(), "to": locked.end_date.isoformat()},
    )
    return locked
