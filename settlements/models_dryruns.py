"""The settlement dry run as a job (issue #16): a `DryRun` row is the job's state and
progress; its result is one `DryRunRow` per merchant, the statement the run would create.

Nothing here is a statement: the job computes each batch of merchants in a transaction it
rolls back, then keeps only these figures. At most one dry run of a period is queued or
running at a time (a partial unique constraint): starting another joins it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class DryRunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


#: States of a dry run still going: one per period at most.
ACTIVE_STATES = (DryRunState.QUEUED, DryRunState.RUNNING)


class DryRun(models.Model):
    """One dry run of a period's settlement, computed by a worker in batches."""

    period = models.CharField(_("period"), max_length=7, db_index=True)
    state = models.CharField(_("state"), max_length=20, choices=DryRunState.choices, default=DryRunState.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    merchants_total = models.PositiveIntegerField(_("merchants"), default=0)
    merchants_done = models.PositiveIntegerField(_("merchants done"), default=0)
    #: {line kind or "payable": "amount"} over every row, written when the job completes.
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("dry run")
        verbose_name_plural = _("dry runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two finance users pressing the button at once get the same job, not two.
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(state__in=["queued", "running"]),
                name="settlements_dryrun_one_active_per_period",
            ),
        ]

    def __str__(self):
        return f"{self.period} #{self.pk}"


class DryRunRow(models.Model):
    """The statement one merchant would get: its lines, frozen orders and payable."""

    dry_run = models.ForeignKey(DryRun, on_delete=models.CASCADE, related_name="rows")
    merchant_id = models.PositiveIntegerField(_("merchant id"))
    merchant = models.CharField(_("merchant"), max_length=300)
    #: {line kind: "amount"} (Decimal as text: JSON has no exact decimal).
    lines = models.JSONField(_("lines"), default=dict)
    frozen = models.PositiveIntegerField(_("frozen orders"), default=0)
    payable = models.DecimalField(_("payable"), **MONEY)

    class Meta:
        verbose_name = _("dry run row")
        verbose_name_plural = _("dry run rows")
        ordering = ["dry_run", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["dry_run", "merchant_id"], name="settlements_dryrunrow_one_per_merchant"),
        ]

    def __str__(self):
        return self.merchant
