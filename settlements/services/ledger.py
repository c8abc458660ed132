"""The double-entry ledger: statements post when approved; payouts post when sent, paid
or failed; the other money movements (gateway captures and refunds, deposits) are posted by
`ledger_sources.ledger_post_pending` (README "The ledger" lists every movement's postings).

Guarantees: every journal entry's postings sum to zero (checked here, and by a deferred
constraint trigger in PostgreSQL that no ORM call can bypass); entries and postings are
never updated or deleted (database triggers refuse it; corrections are new entries); an
entry's natural key is unique, so a retried approval posts nothing twice, even when two
transactions post the same key at once.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from marketplace.errors import DomainError
from marketplace.money import ZERO

from ..choices import AccountKind, LineKind
from ..models import Account, JournalEntry, Posting, Statement


def account_for(kind: str, merchant=None) -> Account:
    """The ledger account of `kind` (per merchant where given), created on first use; safe
    when two transactions create it at once (the unique key decides, the loser reads it)."""
    merchant_id = getattr(merchant, "pk", merchant)
    account = Account.objects.filter(kind=kind, merchant_id=merchant_id).first()
    if account is not None:
        return account
    name = f"{AccountKind(kind).label}" + (f" · {merchant_id}" if merchant_id else "")
    try:
        with transaction.atomic():
            return Account.objects.create(kind=kind, merchant_id=merchant_id, name=str(name))
    except IntegrityError:
        return Account.objects.get(kind=kind, merchant_id=merchant_id)


@transaction.atomic
def journal_post(
    *, key: str, description: str, postings: list[tuple[Account, Decimal]], statement=None, actor=None
) -> JournalEntry:
    """Post a balanced entry once per `key` (a retry returns the existing entry)."""
    existing = JournalEntry.objects.filter(key=key).first()
    if existing is not None:
        return existing
    rows = [(account, amount) for account, amount in postings if amount != 0]
    if sum((amount for _a, amount in rows), ZERO) != 0:
        raise DomainError("unbalanced_entry", "Journal entry postings must sum to zero.", {"key": key})
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                key=key, description=description[:200], statement=statement, created_by=actor
            )
            Posting.objects.bulk_create(
                [Posting(entry=entry, account=account, amount=amount) for account, amount in rows]
            )
    except IntegrityError:
        # Another transaction posted the same key first (two deliveries of the posting task,
        # or a service racing it): the unique key made it wait for that commit; its entry stands.
        existing = JournalEntry.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing
    return entry


def statement_postings(statement: Statement) -> list[tuple[Account, Decimal]]:
    """The entry of an approved statement (see the ledger section of README/domain.md):
    clearing and expenses on the debit side, commission and the merchant's payable on the
    credit side. The carried-forward amount was posted with the previous statement."""
    lines = {line.kind: line.amount for line in statement.lines.all()}

    def get(kind):
        return lines.get(kind, ZERO)

    collected = get(LineKind.GOODS) + get(LineKind.SHIPPING) + get(LineKind.REFUNDS) + get(LineKind.SHIPPING_REFUNDS)
    promotion = get(LineKind.PLATFORM_DISCOUNTS) + get(LineKind.DISCOUNTS_TAKEN_BACK)
    commission = get(LineKind.COMMISSION) + get(LineKind.COMMISSION_RETURNED)  # negative: revenue
    payable_now = statement.payable - get(LineKind.CARRY_FORWARD)
    # Subsidies are the platform's expense; a clawback (negative) reduces it.
    subsidies = get(LineKind.LOGISTICS_SUBSIDY) + get(LineKind.LOGISTICS_SUBSIDY_CLAWBACK) + get(LineKind.GRANT_SUBSIDY)
    return [
        (account_for(AccountKind.GATEWAY_CLEARING), collected),
        (account_for(AccountKind.PROMOTION_EXPENSE), promotion),
        (account_for(AccountKind.REBATE_EXPENSE), get(LineKind.LADDER_REBATE)),
        (account_for(AccountKind.ADJUSTMENT_EXPENSE), get(LineKind.ADJUSTMENTS)),
        # Opened with the first subsidy, so statements without one leave the chart as it was.
        *([(account_for(AccountKind.SUBSIDY_EXPENSE), subsidies)] if subsidies else []),
        (account_for(AccountKind.COMMISSION_REVENUE), commission),
        # Penalties and service fees are negative lines: income and revenue, credited (their
        # accounts are made when first used, not for every statement).
        *[
            (account_for(kind), get(line))
            for kind, line in (
                (AccountKind.PENALTY_INCOME, LineKind.PENALTIES),
                (AccountKind.SERVICE_FEE_REVENUE, LineKind.SERVICE_FEES),
            )
            if get(line)
        ],
        (account_for(AccountKind.MERCHANT_PAYABLE, statement.merchant_id), -payable_now),
    ]
