"""Penalties (domain.md "Incentive subsidies": late shipment, fake shipment, counterfeit,
breach of contract) with their evidence, the merchant's appeal and staff's decision.

A penalty is raised by staff (with evidence) or by rule (late shipment, one per merchant
order: a unique key), stays open for appeal for `PENALTY_APPEAL_DAYS`, and once it stands
(the window passed, or the appeal was rejected) it is deducted once: in the next statement
(`statement` set by the run) or from the deposit when staff choose so (`deposit_reference`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.transitions import Transitions
from merchants.models import private_storage
from settlements.choices import PenaltyKind, PenaltySettlement, PenaltyStatus

MONEY = {"max_digits": 14, "decimal_places": 2}


class PenaltyParameter(models.Model):
    """The amount of a penalty of one kind: the rule uses it (late shipment), staff start
    from it when they raise one. Operations edit the rows in the admin."""

    kind = models.CharField(_("kind"), max_length=30, choices=PenaltyKind.choices, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("penalty parameter")
        verbose_name_plural = _("penalty parameters")
        ordering = ["kind"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="penalty_parameter_amount_positive")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.amount}"


class Penalty(models.Model):
    """A penalty on a merchant: an amount it owes the platform, once it stands."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="penalties"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=PenaltyKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=PenaltyStatus.choices, default=PenaltyStatus.OPEN)
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.TextField(_("reason"))
    # The late merchant order of a penalty raised by rule (the rule's natural key).
    merchant_order = models.ForeignKey(
        "orders.MerchantOrder",
        verbose_name=_("merchant order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised"))
    appeal_until = models.DateTimeField(_("appeal until"))
    appeal_statement = models.TextField(_("appeal"), blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("appealed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    appealed_at = models.DateTimeField(_("appealed"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("appeal decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("appeal decided"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    # When it came to stand: the end of the appeal window, or the rejection. A statement takes
    # the penalties that stood before its period ended.
    stands_since = models.DateTimeField(_("stands since"), null=True, blank=True)
    settled_via = models.CharField(_("deducted from"), max_length=20, choices=PenaltySettlement.choices, blank=True)
    statement = models.ForeignKey(
        "settlements.Statement",
        verbose_name=_("deducted in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="penalties",
    )
    # merchants' deposit ledger reference of a deduction from the deposit (its natural key).
    deposit_reference = models.CharField(_("deposit reference"), max_length=40, blank=True)
    deducted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deducted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deducted_at = models.DateTimeField(_("deducted"), null=True, blank=True)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="penalty_amount_positive"),
            # The rule raises one late-shipment penalty per merchant order, whatever reruns it.
            models.UniqueConstraint(
                fields=["kind", "merchant_order"],
                condition=Q(merchant_order__isnull=False),
                name="penalty_once_per_order_and_kind",
            ),
            # Deducted once: in a statement or from the deposit, never both.
            models.CheckConstraint(
                condition=~Q(status="deducted") | Q(statement__isnull=False) | ~Q(deposit_reference=""),
                name="penalty_deducted_somewhere",
            ),
            models.CheckConstraint(
                condition=Q(statement__isnull=True) | Q(deposit_reference=""), name="penalty_deducted_once"
            ),
        ]
        indexes = [models.Index(fields=["status", "merchant"], name="penalty_status_merchant_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


# Open → appealed by the merchant within the window → upheld (cancelled) or rejected (stands);
# open past the window → stands (lapse); a standing penalty is deducted once (statement or deposit).
PENALTY_TRANSITIONS = Transitions(
    {
        "appeal": ({PenaltyStatus.OPEN}, PenaltyStatus.APPEALED),
        "uphold": ({PenaltyStatus.APPEALED}, PenaltyStatus.CANCELLED),
        "reject": ({PenaltyStatus.APPEALED}, PenaltyStatus.STANDS),
        "lapse": ({PenaltyStatus.OPEN}, PenaltyStatus.STANDS),
        "deduct": ({PenaltyStatus.STANDS}, PenaltyStatus.DEDUCTED),
    },
    error=InvalidTransition,
    refusals={
        "appeal": _("Only an open penalty can be appealed."),
        "uphold": _("Only an appealed penalty can be decided."),
        "reject": _("Only an appealed penalty can be decided."),
        "lapse": _("Only an open penalty can lapse."),
        "deduct": _("Only a penalty that stands can be deducted."),
    },
)


def _penalty_file_path(instance, filename):
    # A generated name: the uploaded name never reaches the file system.
    return f"penalty-files/{instance.penalty_id}/{uuid.uuid4().hex}{instance.extension}"


class PenaltyFile(models.Model):
    """Evidence staff attach, or a file the merchant attaches to its appeal (PDF, PNG or JPEG,
    checked from its bytes like merchant documents)."""

    class Side(models.TextChoices):
        EVIDENCE = "evidence", _("Evidence")
        APPEAL = "appeal", _("Appeal")

    penalty = models.ForeignKey(Penalty, verbose_name=_("penalty"), on_delete=models.CASCADE, related_name="files")
    side = models.CharField(_("attached to"), max_length=20, choices=Side.choices)
    file = models.FileField(_("file"), upload_to=_penalty_file_path, storage=private_storage, max_length=255)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("penalty file")
        verbose_name_plural = _("penalty files")
        ordering = ["penalty_id", "side", "uploaded_at", "id"]

    def __str__(self):
        return self.original_name or f"{self.side} #{self.pk}"

    @cached_property
    def extension(self) -> str:
        return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(self.content_type, ".bin")
