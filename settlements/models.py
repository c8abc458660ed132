"""Settlements: monthly runs, statements with their source rows, manual adjustments, and the
double-entry ledger.

A statement's figures come from source rows, one per source record, each with a unique
natural key so a run can never count a record twice: `SettledOrder` (one per merchant
order, ever), `SettledRefund` (one per refund line, and one per shipping refund),
`FrozenOrder` (listed, not paid), `ManualAdjustment` (settled once). `StatementLine` holds
the table of domain.md (one row per kind) summed from those rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.models import AppendOnlyModel
from marketplace.transitions import Transitions
from settlements.choices import (
    AccountKind,
    BatchStatus,
    LineKind,
    PayoutStatus,
    RunStatus,
    StatementStatus,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class SettlementRun(models.Model):
    """One execution of the settlement of a period. Several may exist for a period (a rerun
    or a resume after a crash); statements are unique per merchant and period regardless."""

    period = models.CharField(_("period"), max_length=7, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    merchants_total = models.PositiveIntegerField(_("merchants"), default=0)
    batches_total = models.PositiveIntegerField(_("batches"), default=0)
    # The progress below is recounted from the run's SettlementBatch rows under the run's
    # lock each time a batch finishes (never incremented), so a batch counts once.
    batches_done = models.PositiveIntegerField(_("batches done"), default=0)
    merchants_done = models.PositiveIntegerField(_("merchants done"), default=0)
    statements_created = models.PositiveIntegerField(_("statements created"), default=0)
    failures = models.JSONField(_("failures"), default=list, blank=True)

    class Meta:
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.period} #{self.pk}"


# A run ends once, when its last batch finishes: completed, or failed if a batch failed (or
# at once, completed, when it has no merchant to settle).
RUN_TRANSITIONS = Transitions(
    {
        "complete": ({RunStatus.RUNNING}, RunStatus.COMPLETED),
        "fail": ({RunStatus.RUNNING}, RunStatus.FAILED),
    },
)


class SettlementBatch(models.Model):
    """One batch of a run's merchants, settled by one task. The row is the batch's progress:
    it moves pending → done (or failed) once, under its lock, so a task delivered twice
    (acks_late) finds it done and settles nothing; the run's progress counts these rows."""

    run = models.ForeignKey(SettlementRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField(_("number"))
    # The ids are only ever read whole, by the batch's own task; `merchant_count` is their
    # number, summed by the run's progress.
    merchant_ids = ArrayField(models.BigIntegerField(), verbose_name=_("merchants"))
    merchant_count = models.PositiveIntegerField(_("number of merchants"))
    status = models.CharField(_("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    statements_created = models.PositiveIntegerField(_("statements created"), default=0)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement batch")
        verbose_name_plural = _("settlement batches")
        ordering = ["run_id", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="settlement_batch_unique_run_number")]

    def __str__(self):
        return f"{self.run_id} · {self.number}"


# A batch is settled (or fails for good) once. The runs ask `allows` first and do nothing for
# a batch already finished: a task delivered twice is expected, not an error.
BATCH_TRANSITIONS = Transitions(
    {
        "settle": ({BatchStatus.PENDING}, BatchStatus.DONE),
        "fail": ({BatchStatus.PENDING}, BatchStatus.FAILED),
    },
)


class Statement(models.Model):
    """What the platform owes a merchant for a period (negative: carried forward)."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="statements"
    )
    period = models.CharField(_("period"), max_length=7, db_index=True)
    run = models.ForeignKey(
        SettlementRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.PROTECT, related_name="statements"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    payable = models.DecimalField(_("payable"), **MONEY)
    # The settleable cutoff the run used: orders completed before it were settled here or
    # earlier, or listed frozen here. The next run reads only orders completed since.
    orders_completed_before = models.DateTimeField(_("orders completed before"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period", "merchant_id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "period"], name="statement_unique_merchant_period")]

    def __str__(self):
        return f"{self.period} · {self.merchant_id}"


# Finance approves a statement to review; its payout, once the bank paid, makes it paid.
STATEMENT_TRANSITIONS = Transitions(
    {
        "approve": ({StatementStatus.DRAFT}, StatementStatus.APPROVED),
        "pay": ({StatementStatus.APPROVED}, StatementStatus.PAID),
    },
    error=InvalidTransition,
    refusals={
        "approve": _("Only a statement to review can be approved."),
        "pay": _("Only an approved statement can be paid."),
    },
    extra_action=False,
)


class StatementLine(models.Model):
    """One row of the statement table: the sum of one kind of source rows (signed)."""

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.CASCADE, related_name="lines"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=LineKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    count = models.PositiveIntegerField(_("records"), default=0)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement_id", "id"]
        constraints = [models.UniqueConstraint(fields=["statement", "kind"], name="statement_line_unique_kind")]

    def __str__(self):
        return f"{self.kind}: {self.amount}"


class SettledOrder(models.Model):
    """A merchant order paid out in a statement. The order is the primary key: an order is
    settled once, ever. Its amounts are its frozen order lines (selectors sum them for the
    drill-down); keeping this row narrow keeps the run close to the cost of the aggregate.

    The foreign keys have no database constraint on purpose: rows are written only by the
    run's INSERT … SELECT joining existing statements and orders, and orders are never
    deleted (PROTECT). The per-row FK checks (and the row locks they take on every settled
    order) made the run several times slower than the aggregate it computes.
    """

    merchant_order = models.OneToOneField(
        "orders.MerchantOrder",
        verbose_name=_("merchant order"),
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="settlement",
        db_constraint=False,
    )
    # Indexed in Meta (`settledorder_statement_idx`): the run's later steps (logistics
    # accruals, ladder rebates) read the orders a new statement settles by statement; without
    # the index each batch scanned every order ever settled.
    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.DO_NOTHING,
        related_name="settled_orders",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = _("settled order")
        verbose_name_plural = _("settled orders")
        indexes = [models.Index(fields=["statement"], name="settledorder_statement_idx")]

    def __str__(self):
        return f"{self.merchant_order_id} → {self.statement_id}"


class SettledRefund(models.Model):
    """A refund line (or a refund's shipping part) deducted in a statement, once."""

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="settled_refunds"
    )
    refund = models.ForeignKey("orders.Refund", verbose_name=_("refund"), on_delete=models.PROTECT, related_name="+")
    refund_line = models.OneToOneField(
        "orders.RefundLine",
        verbose_name=_("refund line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement",
    )
    amount = models.DecimalField(_("refunded"), **MONEY)
    shipping_amount = models.DecimalField(_("shipping refunded"), **MONEY, default=0)
    refunded_base = models.DecimalField(_("refunded base"), **MONEY, default=0)
    discount_back = models.DecimalField(_("platform discount taken back"), **MONEY, default=0)
    commission_returned = models.DecimalField(_("commission returned"), **MONEY, default=0)

    class Meta:
        verbose_name = _("settled refund")
        verbose_name_plural = _("settled refunds")
        constraints = [
            # The shipping part of a refund is its own source record (refund_line is null).
            models.UniqueConstraint(
                fields=["refund"], condition=Q(refund_line__isnull=True), name="settled_refund_shipping_once"
            )
        ]

    def __str__(self):
        return f"{self.refund_id}/{self.refund_line_id} → {self.statement_id}"


class FrozenOrder(models.Model):
    """A settleable order held back by an open dispute: listed on the statement, not paid."""

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.CASCADE, related_name="frozen_orders"
    )
    merchant_order = models.ForeignKey(
        "orders.MerchantOrder", verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount held"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("frozen order")
        verbose_name_plural = _("frozen orders")
        constraints = [models.UniqueConstraint(fields=["statement", "merchant_order"], name="frozen_order_unique")]

    def __str__(self):
        return f"{self.merchant_order_id} (frozen)"


class ManualAdjustment(models.Model):
    """A credit (+) or debit (−) by finance with a reason, settled in the next statement."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="adjustments"
    )
    period = models.CharField(_("for period"), max_length=7)
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    statement = models.ForeignKey(
        Statement,
        verbose_name=_("settled in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustments",
    )

    class Meta:
        verbose_name = _("manual adjustment")
        verbose_name_plural = _("manual adjustments")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero")]

    def __str__(self):
        return f"{self.amount} {self.reason}"


# --- Ledger -----------------------------------------------------------------------------


class Account(models.Model):
    """A ledger account; merchant payables have one account per merchant."""

    kind = models.CharField(_("kind"), max_length=30, choices=AccountKind.choices)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["kind", "merchant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(merchant__isnull=True), name="account_unique_platform_kind"
            ),
            models.UniqueConstraint(fields=["kind", "merchant"], name="account_unique_merchant_kind"),
        ]

    def __str__(self):
        return self.name


class JournalEntry(AppendOnlyModel, models.Model):
    """A balanced money movement. Append-only; the database refuses updates and deletes,
    and a deferred constraint trigger refuses a commit whose postings do not sum to zero."""

    key = models.CharField(_("natural key"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=200)
    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_entries",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    append_only_message = "Journal entries are append-only; post a correcting entry."

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.key


class Posting(models.Model):
    """One side of a journal entry: positive debits, negative credits."""

    entry = models.ForeignKey(JournalEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="postings")
    amount = models.DecimalField(_("amount (debit +, credit −)"), **MONEY)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_not_zero")]

    def __str__(self):
        return f"{self.account_id}: {self.amount}"


# --- Payouts and invoices ----------------------------------------------------------------


class PayoutBatch(models.Model):
    """Approved positive payables sent to the bank together (one export file)."""

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    exported_at = models.DateTimeField(_("exported"), null=True, blank=True)

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.reference


class Payout(models.Model):
    """One bank transfer of a statement's payable. A failed payout leaves the statement owed."""

    batch = models.ForeignKey(PayoutBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="payouts")
    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="payouts"
    )
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    marked_at = models.DateTimeField(_("marked"), null=True, blank=True)

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["batch_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            # A statement is in at most one live payout (pending or paid); failed ones may be retried.
            models.UniqueConstraint(
                fields=["statement"], condition=~Q(status="failed"), name="payout_one_live_per_statement"
            ),
        ]

    def __str__(self):
        return self.reference


# The bank's result marks a payout sent to it paid or failed, once.
PAYOUT_TRANSITIONS = Transitions(
    {
        "mark_paid": ({PayoutStatus.PENDING}, PayoutStatus.PAID),
        "mark_failed": ({PayoutStatus.PENDING}, PayoutStatus.FAILED),
    },
    error=InvalidTransition,
    refusal=_("Only a payout sent to the bank can be marked."),
    extra_action=False,
)


class InvoiceCounter(models.Model):
    """The last invoice number used per year; locked while numbering, so numbers have no gaps."""

    year = models.PositiveIntegerField(_("year"), unique=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """The platform's invoice to a merchant for the commission and service fees of a statement."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    statement = models.OneToOneField(
        Statement, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="invoice"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="invoices"
    )
    commission = models.DecimalField(_("commission"), **MONEY)
    service_fees = models.DecimalField(_("service fees"), **MONEY, default=0)
    total = models.DecimalField(_("total"), **MONEY)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total=models.F("commission") + models.F("service_fees")), name="invoice_total"
            )
        ]

    def __str__(self):
        return self.number


# Penalties and service fees (issue #14) live in their own modules.
from .models_dryruns import DryRun, DryRunRow, DryRunState  # noqa: E402, F401  (the dry run as a job, issue #16)
from .models_fees import (  # noqa: E402, F401
    FeeCharge,
    Subscription,
    SubscriptionPlan,
    TechnicalServiceFee,
    ValueAddedService,
)
from .models_holds import PAYOUT_HOLD_TRANSITIONS, PayoutHold  # noqa: E402, F401  (payout holds, issue #15)
from .models_penalties import PENALTY_TRANSITIONS, Penalty, PenaltyFile, PenaltyParameter  # noqa: E402, F401
from .models_subsidies import (  # noqa: E402, F401  (incentive subsidies: programmes, accruals, grants)
    GRANT_TRANSITIONS,
    GrantApplication,
    GrantDocument,
    SubsidyAccrual,
    SubsidyProgramme,
)
