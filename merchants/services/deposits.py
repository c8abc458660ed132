"""The deposit ledger of each merchant.

Guarantees: the balance is always the sum of the entries, never a stored figure; entries are
only ever added (the model and queryset refuse updates and deletes); a retried call with the
same reference posts nothing twice (unique merchant + kind + reference); the merchant row is
locked while an entry is added, so concurrent deductions cannot overdraw the deposit.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.money import quantize
from marketplace.sandbox import sandbox_ensure_enabled

from ..choices import DEPOSIT_PAYABLE_STATES, DepositEntryKind, MerchantStatus
from ..errors import MerchantConflict, MerchantError
from ..models import TRANSITIONS, DepositEntry, Merchant
from ..selectors import deposit_balance, deposit_required, deposit_shortfall
from .applications import merchant_lock, merchant_notify, merchant_transition


def _positive_amount(amount) -> Decimal:
    try:
        value = quantize(amount)
    except (TypeError, ArithmeticError) as exc:
        raise MerchantError("invalid_amount", _("Enter an amount in yuan, e.g. 50000.00.")) from exc
    if value <= 0:
        raise MerchantError("invalid_amount", _("The amount must be greater than zero."))
    return value


def _add_entry(*, merchant, kind, amount, reference, actor, reason) -> DepositEntry:
    existing = DepositEntry.objects.filter(merchant=merchant, kind=kind, reference=reference).first()
    if existing is not None:
        if existing.amount != amount:
            raise MerchantConflict(
                "reference_reused", _("This reference was already used for another amount."), {"reference": reference}
            )
        return existing  # the same call retried: nothing posted twice
    try:
        with transaction.atomic():
            entry = DepositEntry.objects.create(
                merchant=merchant, kind=kind, amount=amount, reference=reference, created_by=actor, reason=reason
            )
    except IntegrityError as exc:
        raise MerchantConflict(
            "reference_reused", _("This reference was already used."), {"reference": reference}
        ) from exc
    audit_record(
        action=f"merchant.deposit_{kind}",
        actor=actor,
        obj=merchant,
        reason=reason,
        data={"amount": amount, "reference": reference, "entry": entry.pk},
    )
    return entry


@transaction.atomic
def deposit_record_payment(*, merchant: Merchant, actor, amount, reference: str, reason: str = "") -> DepositEntry:
    """Record money received for the deposit (sandbox payment or a bank transfer staff confirm).

    The first payment is `paid`, later ones `topped_up`. When a merchant with a signed
    contract reaches the required deposit, it moves to deposit paid.
    """
    value = _positive_amount(amount)
    reference = (reference or "").strip()
    if not reference:
        raise MerchantError("reference_required", _("Give the payment reference (bank transfer or payment id)."))
    locked = merchant_lock(merchant)
    if locked.status not in DEPOSIT_PAYABLE_STATES:
        raise MerchantConflict(
            "deposit_not_expected",
            _("A deposit is paid after the contract is signed, and not after termination."),
            {"status": locked.status},
        )
    has_paid = DepositEntry.objects.filter(merchant=locked, kind=DepositEntryKind.PAID).exists()
    kind = DepositEntryKind.TOPPED_UP if has_paid else DepositEntryKind.PAID
    existing = DepositEntry.objects.filter(
        merchant=locked, reference=reference, kind__in=[DepositEntryKind.PAID, DepositEntryKind.TOPPED_UP]
    ).first()
    if existing is not None:
        kind = existing.kind
    entry = _add_entry(merchant=locked, kind=kind, amount=value, reference=reference, actor=actor, reason=reason)
    if TRANSITIONS.can("deposit_paid", locked) and deposit_balance(locked) >= deposit_required(locked):
        merchant_transition(locked, "deposit_paid", actor=actor, data={"balance": deposit_balance(locked)})
        merchant_notify(locked, "deposit_paid")
    return entry


@transaction.atomic
def deposit_deduct(*, merchant: Merchant, actor, amount, reason: str, reference: str) -> DepositEntry:
    """Take compensation from the deposit (staff, or settlement later). Never overdraws."""
    value = _positive_amount(amount)
    if not (reason or "").strip():
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    locked = merchant_lock(merchant)
    balance = deposit_balance(locked)
    if value > balance:
        raise MerchantConflict(
            "insufficient_deposit",
            _("The deposit holds only ¥%(balance)s.") % {"balance": balance},
            {"balance": balance, "amount": value},
        )
    entry = _add_entry(
        merchant=locked, kind=DepositEntryKind.DEDUCTED, amount=-value, reference=reference, actor=actor, reason=reason
    )
    merchant_notify(locked, "deposit_deducted")
    return entry


@transaction.atomic
def deposit_refund(*, merchant: Merchant, actor, reference: str) -> DepositEntry:
    """Refund the whole remaining deposit, without interest, to a terminated merchant."""
    locked = merchant_lock(merchant)
    if locked.status != MerchantStatus.TERMINATED:
        raise MerchantConflict(
            "deposit_refund_not_allowed",
            _("The deposit is refunded only after termination."),
            {"status": locked.status},
        )
    balance = deposit_balance(locked)
    if balance <= 0:
        raise MerchantConflict("nothing_to_refund", _("The deposit has no balance to refund."))
    entry = _add_entry(
        merchant=locked,
        kind=DepositEntryKind.REFUNDED,
        amount=-balance,
        reference=reference,
        actor=actor,
        reason=str(_("Refund after termination")),
    )
    merchant_notify(locked, "deposit_refunded")
    return entry


@transaction.atomic
def deposit_pay_shortfall_sandbox(*, merchant: Merchant, actor, payment_key: str) -> DepositEntry:
    """The merchant pays the whole shortfall through the sandbox gateway.

    No money moves, so this exists only while the sandbox is enabled: otherwise it refuses
    with `sandbox_disabled` before reading anything (whoever the caller). `payment_key` is
    the one-time key of the rendered payment form: it becomes the entry's reference, so a
    double submit of the same form posts once.
    """
    sandbox_ensure_enabled()
    key = (payment_key or "").strip()
    if not key or len(key) > 64:
        raise MerchantError("payment_form_expired", _("The payment form expired; open the page again."))
    locked = merchant_lock(merchant)
    existing = DepositEntry.objects.filter(merchant=locked, reference=f"sandbox-{key}").first()
    if existing is not None:
        return existing
    shortfall = deposit_shortfall(locked)
    if shortfall <= 0:
        raise MerchantConflict("deposit_complete", _("Your deposit is already complete."))
    return deposit_record_payment(
        merchant=locked, actor=actor, amount=shortfall, reference=f"sandbox-{key}", reason=str(_("Sandbox payment"))
    )
