"""A merchant's credit grade (A–D): written by staff today, by the nightly rating of issue
#15 tomorrow, always through `merchant_set_credit_grade`.

Guarantees: the merchant's row is locked and written once per change with its audit entry;
setting the grade it already has writes and sends nothing (a nightly run may set every
merchant's grade again); a change sends `signals.credit_grade_changed` inside the
transaction, so what depends on the grade in the layers above (the promotion pages: grade A
shops first, grade D shops out of platform promotions) is refreshed after the commit, never
for a rollback.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record

from ..choices import CreditGrade
from ..errors import MerchantError
from ..models import Merchant
from ..signals import credit_grade_changed
from .applications import merchant_lock


@transaction.atomic
def merchant_set_credit_grade(*, merchant: Merchant, grade: str, actor=None, reason: str = "") -> Merchant:
    """Give `merchant` the credit grade `grade` (400 `invalid_credit_grade` for another
    value); `actor` None for the system (the nightly rating). Locks the merchant's row;
    audits and signals only an actual change (module docstring). Returns the locked row."""
    if grade not in CreditGrade.values:
        raise MerchantError("invalid_credit_grade", _("A credit grade is A, B, C or D."), {"grade": grade})
    locked = merchant_lock(merchant)
    previous = locked.credit_grade
    if previous == grade:
        return locked
    locked.credit_grade = grade
    locked.save(update_fields=["credit_grade", "updated_at"])
    audit_record(
        action="merchant.credit_grade_changed",
        actor=actor,
        obj=locked,
        reason=(reason or "").strip(),
        data={"from": previous, "to": grade},
    )
    credit_grade_changed.send(sender=Merchant, merchant_id=locked.pk, previous=previous, grade=grade)
    return locked
