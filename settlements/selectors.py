"""Reads of the settlements app.

Finance reads (the staff screens and the finance API) see every merchant; a reader that is
not finance staff is scoped to its own merchant by `statement_list_for_user`, so another
merchant's statement is simply not found (404, not 403).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.money import ZERO, quantize
from merchants import selectors as merchant_selectors
from merchants.choices import PortalSection
from orders import settlement_source as orders_source

from .choices import LINE_ORDER, AccountKind, LineKind, PayoutHoldStatus, PayoutStatus, StatementStatus
from .models import (
    Account,
    FrozenOrder,
    Invoice,
    JournalEntry,
    ManualAdjustment,
    Payout,
    PayoutBatch,
    PayoutHold,
    Posting,
    SettledOrder,
    SettledRefund,
    SettlementRun,
    Statement,
    StatementLine,
)
from .periods import Period, local_midnight

# --- Finance ------------------------------------------------------------------------------

#: The model permission that makes a staff user "finance" for statements.
FINANCE_STATEMENT_PERM = "settlements.view_statement"


def is_finance(user, perm: str = FINANCE_STATEMENT_PERM) -> bool:
    """Platform staff holding `perm` (the finance group's permissions, not just is_staff)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_staff and user.has_perm(perm))


def run_list() -> QuerySet[SettlementRun]:
    return SettlementRun.objects.select_related("started_by").order_by("-started_at", "-id")


def statement_list() -> QuerySet[Statement]:
    """Every statement, newest period first (finance)."""
    return Statement.objects.select_related("merchant", "run", "approved_by").order_by("-period", "merchant_id", "id")


def statement_list_for_user(user) -> QuerySet[Statement]:
    """Statements `user` may read: all for finance staff; for a merchant member whose role
    covers the finance section, what the portal shows them (their merchant's approved and
    paid statements: drafts are internal to finance); nothing for anyone else."""
    if is_finance(user):
        return statement_list()
    member = merchant_selectors.membership_for_user(user)
    if member is None or user.is_staff or not member.can(PortalSection.FINANCE):
        return Statement.objects.none()
    return statement_list_for_merchant(member.merchant).select_related("merchant", "run", "approved_by")


def statement_get_for_user(user, statement_id) -> Statement | None:
    """One statement `user` may read, with its lines and frozen orders; None otherwise."""
    return (
        statement_list_for_user(user)
        .prefetch_related(
            "lines",
            Prefetch("frozen_orders", queryset=FrozenOrder.objects.select_related("merchant_order").order_by("id")),
            Prefetch("adjustments", queryset=ManualAdjustment.objects.order_by("created_at", "id")),
        )
        .filter(pk=statement_id)
        .first()
    )


def statement_lines(statement: Statement) -> list[StatementLine]:
    """The statement's lines in the order of the statement table (models.LINE_ORDER)."""
    rank = {kind: n for n, kind in enumerate(LINE_ORDER)}
    return sorted(statement.lines.all(), key=lambda line: (rank.get(line.kind, len(rank)), line.pk))


def statement_journal_entries(statement: Statement) -> QuerySet[JournalEntry]:
    return (
        JournalEntry.objects.filter(statement=statement)
        .select_related("created_by")
        .prefetch_related(Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("id")))
        .order_by("created_at", "id")
    )


def statement_totals(statements: QuerySet[Statement]) -> dict:
    """For a (filtered) set of statements: their count, the sum of each line kind (in
    LINE_ORDER, kinds present only) and the sum of payables."""
    ids = statements.order_by().values("pk")
    by_kind = dict(
        StatementLine.objects.filter(statement_id__in=ids)
        .order_by()
        .values("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    summary = statements.order_by().aggregate(count=Count("pk"), payable=Coalesce(Sum("payable"), ZERO))
    return {
        "count": summary["count"],
        "lines": [(kind, by_kind[kind]) for kind in LINE_ORDER if kind in by_kind],
        "payable": summary["payable"],
    }


def statement_drafts(*, period: str | None = None, run_id: int | None = None) -> QuerySet[Statement]:
    """Statements waiting for review, of a period and/or a run, in a fixed order."""
    drafts = Statement.objects.filter(status=StatementStatus.DRAFT)
    if period:
        drafts = drafts.filter(period=period)
    if run_id:
        drafts = drafts.filter(run_id=run_id)
    return drafts.select_related("merchant").order_by("pk")


def statements_to_pay() -> QuerySet[Statement]:
    """What a new payout batch would hold: approved, positive, no live (pending or paid) payout."""
    live = Payout.objects.filter(statement=OuterRef("pk"), status__in=[PayoutStatus.PENDING, PayoutStatus.PAID])
    return (
        Statement.objects.filter(status=StatementStatus.APPROVED, payable__gt=0)
        .exclude(Exists(live))
        .select_related("merchant")
        .order_by("pk")
    )


def payout_batch_list() -> QuerySet[PayoutBatch]:
    """Batches with their payouts' count and total, and how many are still at the bank."""
    return (
        PayoutBatch.objects.select_related("created_by")
        .annotate(
            payout_count=Count("payouts"),
            total=Coalesce(Sum("payouts__amount"), ZERO),
            pending_count=Count("payouts", filter=Q(payouts__status=PayoutStatus.PENDING)),
        )
        .order_by("-created_at", "-id")
    )


def payout_batch_get(batch_id) -> PayoutBatch | None:
    return payout_batch_list().filter(pk=batch_id).first()


def batch_payouts(batch: PayoutBatch) -> QuerySet[Payout]:
    return batch.payouts.select_related("statement__merchant", "marked_by").order_by("id")


def account_list() -> QuerySet[Account]:
    """Ledger accounts with their balance (sum of postings: debit +, credit −)."""
    return (
        Account.objects.select_related("merchant")
        .annotate(balance=Coalesce(Sum("postings__amount"), ZERO))
        .order_by("kind", "merchant_id")
    )


def failures_by_batch(run: SettlementRun) -> list[dict]:
    """A run's failed batches: first and last merchant id and the error."""
    rows = []
    for failure in run.failures or []:
        merchants = failure.get("merchants") or [None, None]
        rows.append({"first": merchants[0], "last": merchants[-1], "error": failure.get("error", "")})
    return rows


def preview_columns(totals: dict) -> list[str]:
    """The line kinds a dry run produced, in LINE_ORDER."""
    return [kind for kind in LINE_ORDER if kind in totals]


# --- Merchant -----------------------------------------------------------------------------
# The merchant portal's view of its own statements. Every function takes the acting
# merchant. Drafts are internal to finance (they may still change before approval): a
# merchant sees approved and paid statements only.

#: Statement statuses a merchant may see.
MERCHANT_VISIBLE = (StatementStatus.APPROVED, StatementStatus.PAID)


def statement_list_for_merchant(merchant) -> QuerySet[Statement]:
    """The merchant's approved and paid statements, newest period first, each with
    `frozen_count` (orders held back by a dispute) and `has_invoice`."""
    return (
        Statement.objects.filter(merchant=merchant, status__in=MERCHANT_VISIBLE)
        .annotate(
            frozen_count=Count("frozen_orders"),
            has_invoice=Exists(Invoice.objects.filter(statement=OuterRef("pk"))),
        )
        .order_by("-period", "-id")
    )


def statement_get_for_merchant(merchant, statement_id) -> Statement | None:
    """One of the merchant's visible statements; None for a draft or anyone else's."""
    return (
        Statement.objects.filter(merchant=merchant, status__in=MERCHANT_VISIBLE, pk=statement_id)
        .select_related("merchant")
        .first()
    )


def statement_lines_for_merchant(merchant, statement: Statement) -> list[StatementLine]:
    """The statement's table in LINE_ORDER (a kind not listed there goes last)."""
    rank = {kind: n for n, kind in enumerate(LINE_ORDER)}
    lines = StatementLine.objects.filter(statement=statement, statement__merchant=merchant)
    return sorted(lines, key=lambda line: (rank.get(line.kind, len(rank)), line.pk))


def settled_orders_for_merchant(merchant, statement: Statement) -> QuerySet:
    """The merchant orders paid out in the statement, oldest completion first, each with
    `goods` (Σ paid), `platform_discount` and `commission` summed from its frozen order
    lines (the figures the statement's lines were summed from) and its `shipping_fee`."""
    return (
        orders_source.merchant_orders_with_line_sums()
        .filter(merchant=merchant, settlement__statement=statement)
        .order_by("completed_at", "id")
    )


def settled_refunds_for_merchant(merchant, statement: Statement) -> QuerySet[SettledRefund]:
    """The refund lines (and shipping parts of refunds, `refund_line` empty) deducted in the
    statement, with their refund, order and order line."""
    return (
        SettledRefund.objects.filter(statement=statement, statement__merchant=merchant)
        .select_related("refund__merchant_order", "refund_line__order_line")
        .order_by("refund__completed_at", "refund_id", F("refund_line_id").asc(nulls_last=True), "id")
    )


def frozen_orders_for_merchant(merchant, statement: Statement) -> QuerySet[FrozenOrder]:
    """Orders held back by an open dispute when the statement was run, each with its order,
    `merchant_order.disputed` (its after-sales requests that went to a dispute, with the
    dispute) and `settled_in`: the period of the visible statement that has paid it since."""
    settled_in = SettledOrder.objects.filter(
        merchant_order_id=OuterRef("merchant_order_id"), statement__status__in=MERCHANT_VISIBLE
    ).values("statement__period")[:1]
    disputed = orders_source.disputed_after_sales()
    return (
        FrozenOrder.objects.filter(statement=statement, statement__merchant=merchant)
        .select_related("merchant_order")
        .prefetch_related(Prefetch("merchant_order__after_sales", queryset=disputed, to_attr="disputed"))
        .annotate(settled_in=Subquery(settled_in))
        .order_by("merchant_order__completed_at", "id")
    )


def adjustments_for_merchant(merchant, statement: Statement) -> QuerySet[ManualAdjustment]:
    """Manual credits and debits by finance settled in the statement, with their reasons."""
    return ManualAdjustment.objects.filter(merchant=merchant, statement=statement).order_by("created_at", "id")


def previous_statement_for_merchant(merchant, statement: Statement) -> Statement | None:
    """The merchant's latest statement before this one: the one a carry-forward comes from
    (whatever its status; pages link to it only when it is in MERCHANT_VISIBLE)."""
    return Statement.objects.filter(merchant=merchant, period__lt=statement.period).order_by("-period").first()


def invoice_for_merchant(merchant, statement: Statement) -> Invoice | None:
    """The platform's invoice for the statement's commission and fees, once issued."""
    return (
        Invoice.objects.filter(merchant=merchant, statement=statement).select_related("merchant", "statement").first()
    )


def run_batch_ids(run) -> list[int]:
    """The ids of a settlement run's batches, in order (for callers that settle them in
    this process instead of the workers: the command's --sync, the demo, the benchmark)."""
    return list(run.batches.order_by("number").values_list("pk", flat=True))


# --- Ledger checks and reconciliation (read by the services, the admin and the commands) ---


def statement_ledger_total(statement: Statement) -> Decimal:
    """What the ledger says the statement made payable (credit to the merchant's account)."""
    total = Posting.objects.filter(
        entry__statement=statement, entry__key=f"statement:{statement.pk}", account__kind=AccountKind.MERCHANT_PAYABLE
    ).aggregate(t=Sum("amount"))["t"]
    return -(total or ZERO)


def statement_matches_ledger(statement: Statement) -> bool:
    """An approved statement's payable (less the carried-forward part) equals its posting."""
    carry = sum((line.amount for line in statement.lines.filter(kind=LineKind.CARRY_FORWARD)), quantize(0))
    return statement_ledger_total(statement) == statement.payable - carry


@dataclass
class Reconciliation:
    period: str
    sections: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(not s["differences"] for s in self.sections.values())


def reconcile(*, period: str) -> Reconciliation:
    """Compare, for the period: gateway payments captured with buyer orders paid; refunds
    issued with their refund lines; approved statements with their ledger postings; payments
    captured, refunds returned and deposit movements with their journal entries (a missing
    entry is a difference); and each merchant's deposits held with its deposit ledger."""
    parsed = Period.parse(period)
    start, end = Period.parse(str(parsed)).first_day, parsed.end
    start_at = local_midnight(start)
    report = Reconciliation(period=str(parsed))

    payments = orders_source.payments_succeeded_between(start_at, end)
    orders = orders_source.buyer_orders_paid_between(start_at, end)
    paid_by_order = dict(payments.values("buyer_order_id").annotate(t=Sum("amount")).values_list("buyer_order_id", "t"))
    differences = []
    for order in orders.only("pk", "number", "payable_total"):
        captured = paid_by_order.pop(order.pk, ZERO)
        if captured != order.payable_total:
            differences.append({"order": order.number, "order_total": order.payable_total, "captured": captured})
    for order_id, amount in paid_by_order.items():
        differences.append({"order_id": order_id, "order_total": None, "captured": amount})
    report.sections["payments"] = {
        "captured": payments.aggregate(t=Sum("amount"))["t"] or ZERO,
        "orders_paid": orders.aggregate(t=Sum("payable_total"))["t"] or ZERO,
        "differences": differences,
    }

    # Refunds of merchant orders, counted from their decision as settlement counts them. A late
    # payment given back whole (no merchant order, no lines) is outside both sides: its
    # payment is not among the captured ones either.
    refunds = orders_source.merchant_order_refunds_between(start_at, end)
    differences = []
    issued = ZERO
    by_lines = ZERO
    for refund in refunds:
        line_total = sum((line.amount for line in refund.lines.all()), ZERO) + refund.shipping_amount
        issued += refund.amount
        by_lines += line_total
        if line_total != refund.amount:
            differences.append({"refund": refund.reference, "issued": refund.amount, "lines": line_total})
    report.sections["refunds"] = {"issued": issued, "refund_lines": by_lines, "differences": differences}

    differences = []
    statements = (
        Statement.objects.filter(period=str(parsed)).exclude(status=StatementStatus.DRAFT).prefetch_related("lines")
    )
    for statement in statements:
        carry = sum((line.amount for line in statement.lines.all() if line.kind == LineKind.CARRY_FORWARD), ZERO)
        ledger = statement_ledger_total(statement)
        if ledger != statement.payable - carry:
            differences.append(
                {"merchant": statement.merchant_id, "statement": statement.payable - carry, "ledger": ledger}
            )
    report.sections["ledger"] = {"statements": statements.count(), "differences": differences}

    # Every movement of the period against its journal entry (README "The ledger").
    in_period = {"succeeded_at__gte": start_at, "succeeded_at__lt": end}
    for name, section, source in (
        ("payment", "payments_ledger", orders_source.payments_captured().filter(**in_period)),
        ("refund", "refunds_ledger", orders_source.refunds_returned().filter(**in_period)),
        (
            "deposit_entry",
            "deposits",
            merchant_selectors.deposit_entries().filter(created_at__gte=start_at, created_at__lt=end),
        ),
    ):
        rows = sources_with_ledger(name, source)
        totals = rows.aggregate(amount=Sum("amount"), ledger=Sum("ledger_amount"))
        report.sections[section] = {
            "amount": quantize(totals["amount"] or ZERO),
            "ledger": quantize(totals["ledger"] or ZERO),
            "differences": ledger_source_differences(name, source),
        }
    # Deposits held = the deposit ledgers, merchant by merchant, as of now.
    report.sections["deposits"]["differences"] += deposit_held_differences()
    return report


# --- Money movements outside statements: their sources and their entries ----------------------
#
# Each movement's entry is keyed `<prefix>:<source id>` (services/ledger_sources.py). These reads
# join a source row to its entry by that key: the rows not posted yet, and the amount posted on
# the account that mirrors the source (clearing for captures and refunds, the merchant's
# deposits held for deposit movements), to compare with the source's own amount.

#: source → (prefix of the entry key, the source's key field, the account compared, its sign
#: against the source's amount).
LEDGER_SOURCES = {
    "payment": ("payment", "reference", AccountKind.GATEWAY_CLEARING, -1),
    "refund": ("refund", "reference", AccountKind.GATEWAY_CLEARING, 1),
    "deposit_entry": ("deposit", "pk", AccountKind.DEPOSITS_HELD, -1),
}


def _keyed(queryset: QuerySet, prefix: str, field_name: str) -> QuerySet:
    text = CharField()
    return queryset.annotate(
        ledger_key=Concat(Value(f"{prefix}:"), Cast(F(field_name), text), output_field=text)
    ).order_by("pk")


def _unposted(queryset: QuerySet, prefix: str, field_name: str) -> QuerySet:
    """The rows of `queryset` without an entry keyed `<prefix>:<field>`: an anti-join on the
    entry's unique key (an index lookup per row)."""
    keyed = _keyed(queryset, prefix, field_name)
    return keyed.filter(~Exists(JournalEntry.objects.filter(key=OuterRef("ledger_key"))))


def _source(name: str) -> QuerySet:
    if name == "payment":
        return orders_source.payments_captured()
    if name == "refund":
        return orders_source.refunds_returned()
    return merchant_selectors.deposit_entries()


def unposted_payments() -> QuerySet:
    """Captured payments (succeeded, or captured late and refunded whole) without their entry."""
    return _unposted(_source("payment"), "payment", "reference")


def unposted_refunds() -> QuerySet:
    """Refunds returned to the buyer without their entry."""
    return _unposted(_source("refund"), "refund", "reference")


def unposted_deposit_entries() -> QuerySet:
    """Deposit movements without their entry."""
    return _unposted(_source("deposit_entry"), "deposit", "pk")


def unposted_payouts_sent() -> QuerySet[Payout]:
    """Payouts waiting for the bank without their sent entry (sent before payouts posted it)."""
    pending = Payout.objects.filter(status=PayoutStatus.PENDING).select_related("statement")
    return _unposted(pending, "payout-sent", "reference")


def unposted_payout_failures() -> QuerySet[Payout]:
    """Failed payouts without their reversal."""
    failed = Payout.objects.filter(status=PayoutStatus.FAILED).select_related("statement")
    return _unposted(failed, "payout-failed", "reference")


def sources_with_ledger(name: str, queryset: QuerySet | None = None) -> QuerySet:
    """The rows of source `name` (LEDGER_SOURCES; all of them, or `queryset`'s) with
    `ledger_key`, `ledger_amount` (what their entry posted on the compared account, turned to
    the source's sign; null when not posted) and `ledger_matches`."""
    prefix, field_name, account_kind, sign = LEDGER_SOURCES[name]
    rows = _keyed(_source(name) if queryset is None else queryset, prefix, field_name)
    posted = (
        Posting.objects.filter(entry__key=OuterRef("ledger_key"), account__kind=account_kind)
        .order_by()
        .values("entry_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = rows.annotate(ledger_amount=Subquery(posted) * sign)
    return rows.annotate(
        ledger_matches=Case(When(ledger_amount=F("amount"), then=True), default=False, output_field=BooleanField())
    )


def _source_id(name: str, row) -> dict:
    if name == "deposit_entry":
        return {"deposit_entry": row.pk, "merchant": row.merchant_id, "reference": row.reference}
    return {name: row.reference}


def ledger_source_differences(name: str, queryset: QuerySet | None = None) -> list[dict]:
    """The rows of source `name` whose entry is missing (`ledger` None) or posted another
    amount, each with its source ids, its amount and what the ledger says."""
    rows = sources_with_ledger(name, queryset).filter(ledger_matches=False)
    return [{**_source_id(name, row), "amount": row.amount, "ledger": row.ledger_amount} for row in rows]


def deposit_held_differences() -> list[dict]:
    """Merchants whose Deposits held account (credit balance, turned positive) differs from
    their deposit ledger (the sum of their deposit entries), with the entries not posted."""
    books = merchant_selectors.deposit_balances()
    held = dict(
        Account.objects.filter(kind=AccountKind.DEPOSITS_HELD)
        .annotate(balance=Coalesce(Sum("postings__amount"), ZERO))
        .values_list("merchant_id", "balance")
    )
    differences = []
    for merchant_id in sorted(set(books) | set(held)):
        deposit = books.get(merchant_id, ZERO)
        ledger = -held.get(merchant_id, ZERO)
        if deposit != ledger:
            unposted = list(unposted_deposit_entries().filter(merchant_id=merchant_id).values_list("pk", flat=True))
            differences.append(
                {"merchant": merchant_id, "deposit_ledger": deposit, "ledger": ledger, "unposted_entries": unposted}
            )
    return differences


# --- Penalties and service fees (issue #14) ------------------------------------------------
# Every merchant-facing read takes the acting merchant: another merchant's ids are not found.

from .models import FeeCharge, Penalty, PenaltyFile, Subscription, SubscriptionPlan, ValueAddedService  # noqa: E402


def penalty_list_for_merchant(merchant):
    """The merchant's penalties, newest first, with the statement that deducted each."""
    return Penalty.objects.filter(merchant=merchant).select_related("statement").order_by("-raised_at", "-id")


def penalty_get_for_merchant(merchant, penalty_id):
    """One of the merchant's penalties with its files; None for anyone else's."""
    return (
        Penalty.objects.filter(merchant=merchant, pk=penalty_id)
        .select_related("statement", "merchant_order")
        .prefetch_related("files")
        .first()
    )


def penalty_file_get_for_merchant(merchant, penalty_id, file_id):
    """A file of one of the merchant's penalties; None for anyone else's."""
    return PenaltyFile.objects.filter(penalty__merchant=merchant, penalty_id=penalty_id, pk=file_id).first()


def penalties_for_merchant_statement(merchant, statement: Statement):
    """The penalties a statement deducted (its "Penalties" line)."""
    return (
        penalty_list_for_merchant(merchant)
        .filter(statement=statement)
        .select_related("merchant_order")
        .order_by("raised_at", "id")
    )


def fee_charges_for_merchant(merchant):
    """The merchant's service-fee charges, newest first, with the statement that deducted each."""
    return FeeCharge.objects.filter(merchant=merchant).select_related("statement").order_by("-billed_on", "-id")


def fee_charges_for_merchant_statement(merchant, statement: Statement):
    """The charges a statement deducted (its "Service fees" line)."""
    return fee_charges_for_merchant(merchant).filter(statement=statement).order_by("billed_on", "id")


def subscription_active_for_merchant(merchant):
    """The merchant's subscription not ended, or None."""
    return Subscription.objects.filter(merchant=merchant, ended_on__isnull=True).select_related("plan").first()


def subscription_plans_offered():
    return SubscriptionPlan.objects.filter(active=True).order_by("position", "code")


def value_added_services_offered():
    return ValueAddedService.objects.filter(active=True).order_by("kind", "price", "id")


# --- Incentive subsidies (issue #14) -------------------------------------------------------
# Imported here, with the block, so the subsidies' reads stay one block of this module.
from .choices import GRANT_KINDS  # noqa: E402
from .models import GrantApplication, GrantDocument, SubsidyAccrual, SubsidyProgramme  # noqa: E402


def statement_subsidy_summary(statement: Statement) -> dict:
    """The logistics subsidy behind a statement's lines: what the rule gave (`due`), what the
    yearly cap cut, what was paid, what was clawed back here, and the orders it covers."""
    paid = statement.subsidy_accruals.aggregate(
        due=Coalesce(Sum("due"), ZERO),
        cut=Coalesce(Sum("cut"), ZERO),
        paid=Coalesce(Sum("amount"), ZERO),
        n=Count("pk"),
    )
    clawed = statement.subsidy_clawbacks.aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    return {"due": paid["due"], "cut": paid["cut"], "paid": paid["paid"], "clawed_back": clawed, "orders": paid["n"]}


def statement_subsidy_accruals(statement: Statement) -> QuerySet:
    """The logistics accruals paid or clawed back in a statement (its drill-down), in
    completion order, with their order's number."""
    return (
        SubsidyAccrual.objects.filter(Q(statement=statement) | Q(clawed_back_in=statement))
        .select_related("programme", "merchant_order")
        .order_by("completed_at", "merchant_order_id")
    )


def statement_grants(statement: Statement) -> QuerySet:
    """The grants paid in a statement."""
    return statement.grants.select_related("programme").order_by("pk")


def grant_applications_for(merchant) -> QuerySet:
    """A merchant's grant applications, newest first (the portal's list: its own only)."""
    return (
        GrantApplication.objects.filter(merchant=merchant)
        .select_related("programme", "statement")
        .prefetch_related("documents")
        .order_by("-submitted_at", "-id")
    )


def grant_application_get(*, merchant, pk: int) -> GrantApplication | None:
    """One of the merchant's applications; None for another merchant's (404)."""
    return grant_applications_for(merchant).filter(pk=pk).first()


def grant_document_get_for_merchant(merchant, application_id, document_id) -> GrantDocument | None:
    """A document of one of the merchant's applications; None for anyone else's (404)."""
    return GrantDocument.objects.filter(
        application__merchant=merchant, application_id=application_id, pk=document_id
    ).first()


def merchant_yearly_revenue(merchant_id: int, year: int) -> Decimal:
    """A merchant's revenue of a calendar year from settlement data (the tax rebate's
    threshold and step): Σ base of the orders settled in its statements for the year's
    periods, less Σ refunded base those statements deducted (the ladder's net sales, over
    twelve periods)."""
    periods = {"statement__merchant_id": merchant_id, "statement__period__startswith": f"{int(year):04d}-"}
    base = SettledOrder.objects.filter(**periods).aggregate(total=Coalesce(Sum("merchant_order__base_total"), ZERO))
    refunded = SettledRefund.objects.filter(**periods).aggregate(total=Coalesce(Sum("refunded_base"), ZERO))
    return base["total"] - refunded["total"]


def grant_programmes_open(day) -> QuerySet:
    """The grant programmes open for applications on `day`."""
    return (
        SubsidyProgramme.objects.filter(kind__in=list(GRANT_KINDS), is_active=True, valid_from__lte=day)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .order_by("kind", "pk")
    )


# --- The merchant API's reads of subsidies and fees (issue #14) ---------------------------


def subsidy_accruals_for_merchant(merchant) -> QuerySet:
    """The merchant's logistics accruals paid in a statement it may see (approved or paid:
    drafts are internal to finance), newest first, with their order and the statements that
    paid and clawed back each."""
    return (
        SubsidyAccrual.objects.filter(merchant=merchant, statement__status__in=MERCHANT_VISIBLE)
        .select_related("programme", "merchant_order", "statement", "clawed_back_in")
        .order_by("-completed_at", "-merchant_order_id")
    )


def subscriptions_for_merchant(merchant) -> QuerySet:
    """The merchant's subscriptions, the current one first."""
    return Subscription.objects.filter(merchant=merchant).select_related("plan").order_by("-starts_on", "-id")


def subscription_get_for_merchant(merchant, pk) -> Subscription | None:
    """One of the merchant's subscriptions; None for another merchant's (404)."""
    return subscriptions_for_merchant(merchant).filter(pk=pk).first()


def value_added_service_offered_get(pk) -> ValueAddedService | None:
    """An offered value-added service; None when it is not (or no longer) offered."""
    return value_added_services_offered().filter(pk=pk).first()


# --- Dashboards: the finance page of a period and the merchant's payable --------------------


def dashboard_period(today=None) -> str:
    """The period the finance page shows by default: the last one that has ended (a month is
    settled after it ends), as "2026-11"."""
    today = today or timezone.localdate()
    return str(Period(today.year, today.month).previous)


def open_period_start(today=None):
    """The first instant of the period still open (this month, local time)."""
    today = today or timezone.localdate()
    return local_midnight(Period(today.year, today.month).first_day)


@dataclass(frozen=True)
class Tally:
    """How many rows and their amount, under a state's label."""

    key: str
    label: str
    count: int
    amount: Decimal


@dataclass
class FinancePeriod:
    period: str
    runs: list = field(default_factory=list)
    statements: list[Tally] = field(default_factory=list)
    payouts: list[Tally] = field(default_factory=list)
    unposted: list[Tally] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(row.count for row in self.unposted)


def _tallies(queryset: QuerySet, key_field: str, amount_field: str, choices) -> list[Tally]:
    rows = {
        row[key_field]: row
        for row in queryset.values(key_field).annotate(n=Count("pk"), amount=Sum(amount_field)).order_by()
    }
    return [
        Tally(value, label, rows.get(value, {}).get("n", 0), quantize(rows.get(value, {}).get("amount") or ZERO))
        for value, label in choices
    ]


def finance_period_summary(*, period: str) -> FinancePeriod:
    """The finance page of a period in a constant number of queries (eight): its settlement
    runs, its statements by state (count and payable), the payouts of its statements by state
    (count and amount), and the money movements the ledger is missing (the reconciliation's
    `unposted_*` reads: captured payments, returned refunds, deposit movements, payouts sent
    and failed payouts without their entry, whatever their period, as each is a difference
    until posted). `period` must be valid ("2026-11")."""
    period = str(Period.parse(period))
    summary = FinancePeriod(period=period)
    summary.runs = list(SettlementRun.objects.filter(period=period).select_related("started_by").order_by("-id"))
    summary.statements = _tallies(Statement.objects.filter(period=period), "status", "payable", StatementStatus.choices)
    summary.payouts = _tallies(
        Payout.objects.filter(statement__period=period), "status", "amount", PayoutStatus.choices
    )
    for key, label, rows in (
        ("payments", _("Captured payments"), unposted_payments()),
        ("refunds", _("Refunds returned"), unposted_refunds()),
        ("deposits", _("Deposit movements"), unposted_deposit_entries()),
        ("payouts_sent", _("Payouts sent"), unposted_payouts_sent()),
        ("payout_failures", _("Failed payouts"), unposted_payout_failures()),
    ):
        totals = rows.order_by().aggregate(n=Count("pk"), amount=Sum("amount"))
        summary.unposted.append(Tally(key, label, totals["n"], quantize(totals["amount"] or ZERO)))
    return summary


def last_statement_for_merchant(merchant) -> Statement | None:
    """The merchant's latest statement it may see (approved or paid), or None."""
    return Statement.objects.filter(merchant=merchant, status__in=MERCHANT_VISIBLE).order_by("-period", "-id").first()


# --- Read by risk (issue #15): payout holds, payouts near a date, negative payables ----------


def payout_hold_list() -> QuerySet:
    """Every payout hold, newest first, with its merchant (finance's admin list)."""
    return PayoutHold.objects.select_related("merchant", "released_by")


def merchant_ids_on_hold() -> set[int]:
    """The merchants whose payouts are held now."""
    return set(PayoutHold.objects.filter(status=PayoutHoldStatus.OPEN).values_list("merchant_id", flat=True))


def merchant_payout_near(*, merchant_id: int, at, days: int) -> dict:
    """Whether a payout of the merchant is within `days` of `at`: `recent` counts its payouts
    created in the `days` before `at` (pending or paid: the money may still be in flight, and a
    failed one is resent to whatever account is current); `due` counts its statements, draft or
    approved, with a positive payable and no live payout (the coming batches pay them)."""
    recent = Payout.objects.filter(
        statement__merchant_id=merchant_id,
        batch__created_at__gte=at - datetime.timedelta(days=days),
        batch__created_at__lte=at,
    ).count()
    due = (
        Statement.objects.filter(
            merchant_id=merchant_id, status__in=[StatementStatus.DRAFT, StatementStatus.APPROVED], payable__gt=0
        )
        .exclude(payouts__status__in=[PayoutStatus.PENDING, PayoutStatus.PAID])
        .count()
    )
    return {"recent": recent, "due": due}


def negative_payables(*, periods: list[str]) -> dict[int, dict[str, Decimal]]:
    """Merchants whose statements of every one of `periods` have a negative payable (drafts
    included: the figure is the same once approved), by merchant id: {period: payable}. One
    aggregate query over all merchants."""
    rows = (
        Statement.objects.filter(period__in=periods, payable__lt=0)
        .order_by()
        .values("merchant_id")
        .annotate(n=Count("id"))
        .filter(n=len(periods))
        .values_list("merchant_id", flat=True)
    )
    found: dict[int, dict[str, Decimal]] = {}
    for merchant_id, period, payable in Statement.objects.filter(merchant_id__in=rows, period__in=periods).values_list(
        "merchant_id", "period", "payable"
    ):
        found.setdefault(merchant_id, {})[period] = payable
    return found
