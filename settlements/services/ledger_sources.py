"""Every money movement outside statements, as journal entries (README "The ledger").

`orders` and `merchants` sit below settlements and never import it, so their movements are
posted from here, after the fact: `ledger_post_pending` finds the source rows that have no
entry yet (an anti-join on the entry's natural key) and posts one for each. The Celery task
`settlements.tasks.ledger_post_pending_task` runs it every minute (beat), and the interface
modules that record a movement (the gateway callbacks, the deposit admin and portal page)
enqueue it on commit so that the entry follows within seconds.

Guarantees: one entry per source row, ever: the natural key (`payment:<reference>`,
`refund:<reference>`, `deposit:<entry id>`, `payout-sent:` / `payout:` / `payout-failed:`
`<reference>`) is unique, so running it twice, or twice at once, posts nothing twice; each
entry is balanced (`journal_post`) and committed on its own, so a row that cannot be posted
leaves the others posted; a run stops after `time_budget` seconds and the next one carries
on from the data. Payouts post in `payouts.py` as they are sent, paid or failed; here only
the ones a failure left without their entries are caught up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet

from marketplace.jobs import run_each
from marketplace.money import quantize
from merchants.choices import DepositEntryKind

from .. import selectors
from ..choices import AccountKind
from ..models import Account, Payout
from .ledger import account_for, journal_post

# --- Postings of each movement ------------------------------------------------------------


def payment_postings(amount: Decimal) -> list[tuple[Account, Decimal]]:
    """A buyer payment captured by the gateway: the gateway holds the money (Gateway funds,
    asset, debit) for buyers' orders not settled yet (Gateway clearing, credit). Statement
    approval debits Gateway clearing with what the settled orders collected, so clearing's
    balance is the buyers' money not yet on an approved statement."""
    return [(account_for(AccountKind.GATEWAY_FUNDS), amount), (account_for(AccountKind.GATEWAY_CLEARING), -amount)]


def refund_postings(amount: Decimal, *, through_gateway: bool) -> list[tuple[Account, Decimal]]:
    """Money returned to a buyer: clearing debited (the statement that counts the refund
    credits it back with its negative refund lines), paid from the gateway's funds, or from
    the bank when the order was paid outside the gateway."""
    paid_from = AccountKind.GATEWAY_FUNDS if through_gateway else AccountKind.BANK
    return [(account_for(AccountKind.GATEWAY_CLEARING), amount), (account_for(paid_from), -amount)]


#: The deposit reference of a penalty taken from the deposit (`services.penalties`).
PENALTY_REFERENCE_PREFIX = "penalty-"


def deposit_postings(
    kind: str, amount: Decimal, merchant_id: int, reference: str = ""
) -> list[tuple[Account, Decimal]]:
    """A deposit movement (`amount` signed as the deposit ledger signs it). Deposits held is
    one liability account per merchant: received, it is credited against the bank; deducted
    (compensation or a penalty the platform keeps, domain.md "Incentive subsidies": penalties
    are deducted in the statement or from the deposit), it is debited against Deposit
    deductions (income), or Penalty income when the deduction is a penalty's (its reference
    `penalty-<id>`), so a penalty is income on one account whichever way it was taken;
    refunded after termination, debited against the bank."""
    held = account_for(AccountKind.DEPOSITS_HELD, merchant_id)
    if kind in (DepositEntryKind.PAID, DepositEntryKind.TOPPED_UP):
        return [(account_for(AccountKind.BANK), amount), (held, -amount)]
    if kind == DepositEntryKind.DEDUCTED:
        income = (
            AccountKind.PENALTY_INCOME
            if reference.startswith(PENALTY_REFERENCE_PREFIX)
            else AccountKind.DEPOSIT_DEDUCTIONS
        )
        return [(held, -amount), (account_for(income), amount)]
    return [(held, -amount), (account_for(AccountKind.BANK), amount)]  # refunded


def payout_sent_postings(payout: Payout) -> list[tuple[Account, Decimal]]:
    """Sent to the bank: the merchant's payable moves to Payouts sent to the bank."""
    return [
        (account_for(AccountKind.MERCHANT_PAYABLE, payout.statement.merchant_id), payout.amount),
        (account_for(AccountKind.PAYOUTS_IN_TRANSIT), -payout.amount),
    ]


def payout_paid_postings(payout: Payout) -> list[tuple[Account, Decimal]]:
    """The bank paid: the money leaves the bank."""
    return [
        (account_for(AccountKind.PAYOUTS_IN_TRANSIT), payout.amount),
        (account_for(AccountKind.BANK), -payout.amount),
    ]


def payout_failed_postings(payout: Payout) -> list[tuple[Account, Decimal]]:
    """The bank refused: the sent movement is reversed, the merchant is owed the payable again."""
    return [
        (account_for(AccountKind.PAYOUTS_IN_TRANSIT), payout.amount),
        (account_for(AccountKind.MERCHANT_PAYABLE, payout.statement.merchant_id), -payout.amount),
    ]


def post_payout_sent(payout: Payout, *, actor=None):
    """The entry of a payout sent to the bank (once)."""
    return journal_post(
        key=f"payout-sent:{payout.reference}",
        description=f"Payout {payout.reference} sent to the bank",
        postings=payout_sent_postings(payout),
        actor=actor,
    )


def post_payout_paid(payout: Payout, *, actor=None):
    """The entries of a paid payout: sent (when a payout from before this ledger lacks it) and paid."""
    post_payout_sent(payout, actor=actor)
    return journal_post(
        key=f"payout:{payout.reference}",
        description=f"Payout {payout.reference}",
        postings=payout_paid_postings(payout),
        actor=actor,
    )


def post_payout_failed(payout: Payout, *, actor=None):
    """The entries of a failed payout: sent (when missing) and its reversal."""
    post_payout_sent(payout, actor=actor)
    return journal_post(
        key=f"payout-failed:{payout.reference}",
        description=f"Payout {payout.reference} failed",
        postings=payout_failed_postings(payout),
        actor=actor,
    )


# --- Posting the rows not posted yet (found by the selectors) ----------------------------


def _post_payment(payment) -> None:
    journal_post(
        key=f"payment:{payment.reference}",
        description=f"Payment {payment.reference} captured ({payment.gateway})",
        postings=payment_postings(quantize(payment.amount)),
    )


def _post_refund(refund) -> None:
    journal_post(
        key=f"refund:{refund.reference}",
        description=f"Refund {refund.reference} returned to the buyer",
        postings=refund_postings(quantize(refund.amount), through_gateway=refund.payment_id is not None),
    )


def deposit_entry_post(entry) -> None:
    """Post one deposit movement's entry (key `deposit:<entry id>`) now rather than at the
    next run; idempotent like every posting here."""
    journal_post(
        key=f"deposit:{entry.pk}",
        description=f"Deposit {entry.kind} {entry.reference} (merchant {entry.merchant_id})",
        postings=deposit_postings(entry.kind, quantize(entry.amount), entry.merchant_id, entry.reference),
    )


_post_deposit = deposit_entry_post


#: (object type, rows not posted yet, how one is posted), in the order a run posts them.
SOURCES: list[tuple[str, Callable[[], QuerySet], Callable]] = [
    ("payment", selectors.unposted_payments, _post_payment),
    ("refund", selectors.unposted_refunds, _post_refund),
    ("deposit_entry", selectors.unposted_deposit_entries, _post_deposit),
    ("payout_sent", selectors.unposted_payouts_sent, post_payout_sent),
    ("payout_failed", selectors.unposted_payout_failures, post_payout_failed),
]

LEDGER_POST_JOB = "settlements.ledger_post_pending"


@dataclass
class LedgerPostResult:
    posted: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    complete: bool = True


def ledger_post_pending(*, batch_size: int = 500, time_budget: float = 50.0) -> LedgerPostResult:
    """Post an entry for every source row that has none yet, `batch_size` rows at a time,
    for at most `time_budget` seconds (then `complete` is false: the next run goes on).

    Idempotent: a row is selected only while its key has no entry, is read again in the
    transaction that posts it, and `journal_post` returns the existing entry when another run
    posted it in between. Each row is posted in its own transaction (`marketplace.jobs.run_each`):
    a row that fails is listed under Job failures with its code and left for the next run.
    """
    deadline = time.monotonic() + time_budget
    result = LedgerPostResult(posted={name: 0 for name, _rows, _post in SOURCES})
    for name, rows, post in SOURCES:
        failed_ids: set[int] = set()

        def handle(pk, rows=rows, post=post) -> bool:
            row = rows().filter(pk=pk).first()
            if row is None:  # posted meanwhile
                return False
            post(row)
            return True

        while True:
            if time.monotonic() > deadline:
                result.complete = False
                return result
            ids = list(rows().exclude(pk__in=failed_ids).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            run = run_each(job=LEDGER_POST_JOB, object_type=name, ids=ids, handle=handle)
            result.posted[name] += run.done
            result.failed += run.failed
            if run.failed:
                # Left for the next run; not tried again in this one. The ids that failed are
                # the ones still unposted among this batch.
                failed_ids.update(rows().filter(pk__in=ids).values_list("pk", flat=True))
    return result
