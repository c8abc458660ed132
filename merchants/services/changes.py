"""The merchant's own changes after approval: a new bank account, renewed documents.

Guarantees:
- A new bank account is a pending `BankAccountChange` (number encrypted, validated as the
  application validates it); the merchant's own account, which payouts read, changes only
  when finance approves it. At most one change per merchant waits (merchant row lock, and a
  database constraint behind it). Approval and refusal lock the merchant, then the change
  (pk order, as every writer of the merchant) and move it with the transition table
  `BANK_CHANGE_TRANSITIONS`: of two concurrent decisions one wins, the other is refused
  with `invalid_transition` (409) and writes nothing.
- On approval `merchants.signals.bank_account_changed` is sent after the commit (never for a
  rollback), so the risk app can hold the next payout.
- A renewal is a new `MerchantDocument` awaiting review that renews a current one that
  expires within the warning window or has expired; its type is checked from its bytes
  (merchants.documents) and its expiry date is required when the old one had one.
  Accepted, it becomes the current document of its kind and the others of that kind are
  `replaced` (kept for the history); the merchant's `has_expired_documents` flag is
  recomputed. Refused, it stays in the history with the reason.
- Every request and decision is audited on the merchant; nothing is written when a check fails.
"""

from __future__ import annotations

import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.transitions import transition

from ..choices import ACTIVE_MERCHANT_STATES, ChangeStatus, DocumentStatus
from ..documents import clean_document
from ..errors import MerchantConflict, MerchantError
from ..models import BANK_CHANGE_TRANSITIONS, DOCUMENT_TRANSITIONS, BankAccountChange, Merchant, MerchantDocument
from ..signals import bank_account_changed
from ..validators import clean_bank_account_number
from .applications import merchant_lock, merchant_notify


def _require_active(merchant: Merchant, message) -> None:
    if merchant.status not in ACTIVE_MERCHANT_STATES:
        raise MerchantConflict("merchant_not_active", message, {"status": merchant.status})


# --- Bank account ----------------------------------------------------------------------


def _clean_bank(account_name: str, bank_name: str, account_number: str) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = {
        "bank_account_name": (account_name or "").strip(),
        "bank_name": (bank_name or "").strip(),
        "bank_account_number": "",
    }
    for field, limit in (("bank_account_name", 200), ("bank_name", 200)):
        if not cleaned[field]:
            errors[field] = [str(_("Required."))]
        elif len(cleaned[field]) > limit:
            errors[field] = [str(_("At most %(n)d characters.") % {"n": limit})]
    try:
        cleaned["bank_account_number"] = clean_bank_account_number(account_number)
    except ValidationError as exc:
        errors["bank_account_number"] = [str(m) for m in exc.messages]
    if errors:
        raise MerchantError("invalid_bank_account", _("Some fields are not valid."), {"fields": errors})
    return cleaned


@transaction.atomic
def bank_change_request(
    *, merchant: Merchant, actor, bank_account_name: str, bank_name: str, bank_account_number: str
) -> BankAccountChange:
    """Ask for a new payout account; it waits for finance and is not used until approved.

    Refused: invalid fields (`invalid_bank_account`), a merchant not yet approved or
    terminated (`merchant_not_active`), another change still waiting (`bank_change_pending`),
    the account already in use (`bank_account_unchanged`).
    """
    cleaned = _clean_bank(bank_account_name, bank_name, bank_account_number)
    locked = merchant_lock(merchant)
    _require_active(locked, _("The bank account can be changed once the merchant is approved and until it ends."))
    if BankAccountChange.objects.filter(merchant=locked, status=ChangeStatus.PENDING).exists():
        raise MerchantConflict("bank_change_pending", _("A bank account change is already waiting for verification."))
    if (
        cleaned["bank_account_number"] == locked.bank_account_number
        and cleaned["bank_account_name"] == locked.bank_account_name
        and cleaned["bank_name"] == locked.bank_name
    ):
        raise MerchantError("bank_account_unchanged", _("This is already your bank account."))
    try:
        with transaction.atomic():
            change = BankAccountChange.objects.create(merchant=locked, requested_by=actor, **cleaned)
    except IntegrityError as exc:  # the constraint behind the lock
        raise MerchantConflict(
            "bank_change_pending", _("A bank account change is already waiting for verification.")
        ) from exc
    audit_record(
        action="merchant.bank_change_requested",
        actor=actor,
        obj=locked,
        data={"change": change.pk, "bank_name": change.bank_name, "last4": change.bank_account_number[-4:]},
    )
    return change


@transaction.atomic
def bank_change_approve(*, change: BankAccountChange, actor) -> BankAccountChange:
    """Finance verified the new account: it replaces the merchant's payout account.

    `bank_account_changed` is sent after the commit; a change already decided is refused
    (`invalid_transition`, 409) and nothing is written.
    """
    # The merchant first, then the change (transition locks it): every writer's order.
    merchant = merchant_lock(Merchant(pk=change.merchant_id))
    now = timezone.now()
    previous_last4 = (merchant.bank_account_number or "")[-4:]

    def record(locked: BankAccountChange, _previous: str) -> None:
        merchant.bank_account_name = locked.bank_account_name
        merchant.bank_name = locked.bank_name
        merchant.bank_account_number = locked.bank_account_number
        merchant.save(update_fields=["bank_account_name", "bank_name", "bank_account_number", "updated_at"])
        audit_record(
            action="merchant.bank_change_approved",
            actor=actor,
            obj=merchant,
            data={"change": locked.pk, "from_last4": previous_last4, "to_last4": locked.bank_account_number[-4:]},
        )

    approved = transition(
        change,
        "approve",
        table=BANK_CHANGE_TRANSITIONS,
        changes={"decided_by": actor, "decided_at": now},
        record=record,
        on_commit=[partial(bank_account_changed.send, sender=Merchant, merchant_id=merchant.pk, changed_at=now)],
    )
    merchant_notify(merchant, "bank_change_approved")
    return approved


@transaction.atomic
def bank_change_refuse(*, change: BankAccountChange, actor, reason: str) -> BankAccountChange:
    """Finance could not verify the new account; the merchant keeps the old one and sees the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    merchant = merchant_lock(Merchant(pk=change.merchant_id))

    def record(locked: BankAccountChange, _previous: str) -> None:
        audit_record(
            action="merchant.bank_change_refused", actor=actor, obj=merchant, reason=reason, data={"change": locked.pk}
        )

    refused = transition(
        change,
        "refuse",
        table=BANK_CHANGE_TRANSITIONS,
        changes={"decided_by": actor, "decided_at": timezone.now(), "reason": reason},
        record=record,
    )
    merchant_notify(merchant, "bank_change_refused")
    return refused


# --- Renewed documents -------------------------------------------------------------------


def document_renewable(document: MerchantDocument, *, today: datetime.date | None = None) -> bool:
    """A current document that has expired or expires within the warning window."""
    today = today or timezone.localdate()
    return (
        document.status == DocumentStatus.CURRENT
        and document.expires_on is not None
        and document.expires_on <= today + datetime.timedelta(days=settings.DOCUMENT_EXPIRY_WARNING_DAYS)
    )


@transaction.atomic
def document_renew(
    *, merchant: Merchant, actor, document: MerchantDocument, uploaded, expires_on: datetime.date | None
) -> MerchantDocument:
    """Upload the renewal of a document that expires or expired; it waits for a reviewer.

    Refused: a document of another merchant (`not_found`, by the caller's selector), one
    neither expiring nor expired, or already replaced (`document_not_renewable`), one with a
    renewal already waiting (`renewal_pending`), a missing or past expiry date
    (`expiry_date_required`, `document_expired`), a file that is not a PDF, PNG or JPEG by
    its bytes (see merchants.documents).
    """
    today = timezone.localdate()
    if document.expires_on is not None and expires_on is None:
        raise MerchantError("expiry_date_required", _("Give the expiry date of the renewed document."))
    if expires_on is not None and expires_on <= today:
        raise MerchantError("document_expired", _("This document has already expired; upload the current one."))
    clean = clean_document(uploaded)
    locked = merchant_lock(merchant)
    _require_active(locked, _("Documents are renewed once the merchant is approved and until it ends."))
    current = MerchantDocument.objects.select_for_update().get(pk=document.pk, merchant=locked)
    if not document_renewable(current, today=today):
        raise MerchantConflict(
            "document_not_renewable", _("Only a current document that expires or has expired can be renewed.")
        )
    if current.renewals.filter(status=DocumentStatus.PENDING).exists():
        raise MerchantConflict("renewal_pending", _("A renewal of this document is already waiting for review."))
    renewal = MerchantDocument(
        merchant=locked,
        kind=current.kind,
        status=DocumentStatus.PENDING,
        renews=current,
        content_type=clean.content_type,
        size=clean.size,
        sha256=clean.sha256,
        original_name=(getattr(uploaded, "name", "") or "")[:255],
        expires_on=expires_on,
        uploaded_by=actor,
    )
    renewal.file.save("upload", ContentFile(clean.content), save=False)
    try:
        renewal.save()
    except Exception:
        renewal.file.delete(save=False)
        raise
    audit_record(
        action="merchant.document_renewal_uploaded",
        actor=actor,
        obj=locked,
        data={"kind": current.kind, "renews": current.pk, "document": renewal.pk, "sha256": clean.sha256},
    )
    return renewal


def _refresh_expired_flag(merchant: Merchant, today: datetime.date) -> bool:
    expired = MerchantDocument.objects.filter(
        merchant=merchant, status=DocumentStatus.CURRENT, expires_on__lt=today
    ).exists()
    if merchant.has_expired_documents != expired:
        merchant.has_expired_documents = expired
        merchant.save(update_fields=["has_expired_documents", "updated_at"])
    return expired


@transaction.atomic
def merchant_refresh_expired_flag(*, merchant: Merchant, today: datetime.date | None = None) -> bool:
    """Set `has_expired_documents` from the merchant's current documents; returns it.

    Idempotent: written only when it changes (the nightly risk job may call it per merchant).
    """
    return _refresh_expired_flag(merchant_lock(merchant), today or timezone.localdate())


@transaction.atomic
def document_renewal_accept(*, renewal: MerchantDocument, actor) -> MerchantDocument:
    """A reviewer accepts a renewal: it becomes the current document of its kind.

    The other current documents of that kind become `replaced`; the expired flag clears when
    no current document remains expired. A renewal already reviewed is refused
    (`invalid_transition`, 409).
    """
    merchant = merchant_lock(Merchant(pk=renewal.merchant_id))
    locked = MerchantDocument.objects.select_for_update().get(pk=renewal.pk)
    DOCUMENT_TRANSITIONS.check(locked, "accept_renewal")
    # Locked in pk order; the renewal's row is locked already.
    replaced = list(
        MerchantDocument.objects.select_for_update()
        .filter(merchant=merchant, kind=locked.kind, status=DocumentStatus.CURRENT)
        .order_by("pk")
    )
    for document in replaced:
        transition(document, "replace", table=DOCUMENT_TRANSITIONS, lock=False)

    def record(accepted: MerchantDocument, _previous: str) -> None:
        expired = _refresh_expired_flag(merchant, timezone.localdate())
        audit_record(
            action="merchant.document_renewal_accepted",
            actor=actor,
            obj=merchant,
            data={
                "kind": accepted.kind,
                "document": accepted.pk,
                "replaced": [d.pk for d in replaced],
                "documents_expired": expired,
            },
        )

    return transition(
        locked,
        "accept_renewal",
        table=DOCUMENT_TRANSITIONS,
        lock=False,
        changes={"reviewed_by": actor, "reviewed_at": timezone.now()},
        record=record,
    )


@transaction.atomic
def document_renewal_refuse(*, renewal: MerchantDocument, actor, reason: str) -> MerchantDocument:
    """A reviewer refuses a renewal with a reason the merchant sees; the old document stays current."""
    reason = (reason or "").strip()
    if not reason:
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    merchant = merchant_lock(Merchant(pk=renewal.merchant_id))

    def record(refused: MerchantDocument, _previous: str) -> None:
        audit_record(
            action="merchant.document_renewal_refused",
            actor=actor,
            obj=merchant,
            reason=reason,
            data={"kind": refused.kind, "document": refused.pk},
        )

    refused = transition(
        renewal,
        "refuse_renewal",
        table=DOCUMENT_TRANSITIONS,
        changes={"reviewed_by": actor, "reviewed_at": timezone.now(), "review_reason": reason},
        record=record,
    )
    merchant_notify(merchant, "document_renewal_refused")
    return refused
