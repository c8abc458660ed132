"""Incentive subsidies (domain.md "Incentive subsidies"): programmes with their rules and
budget pools, the logistics-subsidy accruals the settlement run writes, and the grant
applications merchants file with documents.

Source rows follow the statement's rule (see `settlements.models`): each has a nullable
`statement` set once, when a run pays it, and a unique natural key so it is paid once.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.transitions import Transitions

from .choices import GrantDocumentKind, GrantStatus, ProgrammeKind

MONEY = {"max_digits": 14, "decimal_places": 2}


class SubsidyProgramme(models.Model):
    """A subsidy programme operations run: its kind's rule parameters (`rules`, checked per
    kind by `services.subsidies.programme_rules_clean`), validity, budget pool and yearly
    cap per merchant.

    The pool's `committed` (approved, not paid yet) and `paid` move only under the row's
    lock, by F() updates, so racing approvals never commit more than `budget`."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=30, choices=ProgrammeKind.choices)
    rules = models.JSONField(_("rule parameters"), default=dict, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # An empty budget means no pool (the logistics subsidy is limited by its yearly cap only).
    budget = models.DecimalField(_("budget pool"), **MONEY, null=True, blank=True)
    committed = models.DecimalField(_("committed"), **MONEY, default=0)
    paid = models.DecimalField(_("paid"), **MONEY, default=0)
    merchant_year_cap = models.DecimalField(_("cap per merchant per calendar year"), **MONEY, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("subsidy programme")
        verbose_name_plural = _("subsidy programmes")
        ordering = ["kind", "valid_from", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(committed__gte=0, paid__gte=0), name="programme_pool_not_negative"),
            # The pool is never over-committed, whatever a service does.
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=F("committed") + F("paid")),
                name="programme_pool_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="programme_valid_dates",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def remaining(self):
        """What the pool can still commit (None without a pool)."""
        if self.budget is None:
            return None
        return self.budget - self.committed - self.paid


class SubsidyAccrual(models.Model):
    """A per-order subsidy (logistics), written by the settlement run that settles its order
    and paid in that statement. `due` is what the rule gives, `cut` what the merchant's
    yearly cap took off, `amount` = due − cut what is paid (0 when the cap is reached).

    An order fully refunded after its accrual was paid is clawed back once, in the
    statement `clawed_back_in` (a line of its own)."""

    # Written only by the run's INSERT … SELECT joining existing programmes, statements and
    # orders, none ever deleted: no FK constraints, like SettledOrder. Their deferred checks
    # (and row locks) on every accrual cost the run more at commit than the insert itself.
    programme = models.ForeignKey(
        SubsidyProgramme,
        verbose_name=_("programme"),
        on_delete=models.DO_NOTHING,
        related_name="accruals",
        db_constraint=False,
    )
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    merchant_order = models.ForeignKey(
        "orders.MerchantOrder",
        verbose_name=_("merchant order"),
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    year = models.PositiveSmallIntegerField(_("calendar year"))
    completed_at = models.DateTimeField(_("order completed"))
    due = models.DecimalField(_("due by the rule"), **MONEY)
    cut = models.DecimalField(_("cut by the yearly cap"), **MONEY, default=0)
    amount = models.DecimalField(_("paid"), **MONEY)
    statement = models.ForeignKey(
        "settlements.Statement",
        verbose_name=_("paid in"),
        on_delete=models.DO_NOTHING,
        related_name="subsidy_accruals",
        db_constraint=False,
    )
    clawed_back_in = models.ForeignKey(
        "settlements.Statement",
        verbose_name=_("clawed back in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsidy_clawbacks",
    )

    class Meta:
        verbose_name = _("subsidy accrual")
        verbose_name_plural = _("subsidy accruals")
        ordering = ["completed_at", "merchant_order_id"]
        constraints = [
            # Order first: the run and the clawback find an order's accruals by it.
            models.UniqueConstraint(fields=["merchant_order", "programme"], name="subsidy_accrual_once_per_order"),
            models.CheckConstraint(
                condition=Q(cut__gte=0, amount__gte=0, amount=F("due") - F("cut")), name="subsidy_accrual_amounts"
            ),
        ]
        indexes = [
            # The cap sums a merchant's accruals of a year; the clawback looks for paid ones.
            models.Index(fields=["merchant", "programme", "year"], name="subsidy_accrual_cap_idx"),
        ]

    def __str__(self):
        return f"{self.programme_id}/{self.merchant_order_id}: {self.amount}"


class SubsidyStorage(FileSystemStorage):
    """Grant documents outside the web root with no URL (as merchants' documents): views
    check permissions and stream them."""

    @cached_property
    def base_location(self):
        return os.path.join(settings.MEDIA_ROOT, "private")

    @cached_property
    def base_url(self):
        return None


subsidy_storage = SubsidyStorage()


class GrantApplication(models.Model):
    """A merchant's application to a grant programme (brand incubation, fit-out, equipment,
    training, tax rebate). Staff approve an amount the rule computes and caps, reserving it from the
    pool, or refuse it with a reason; an approved grant is paid in the merchant's next
    statement (`statement`)."""

    programme = models.ForeignKey(
        SubsidyProgramme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="applications"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="grant_applications"
    )
    project = models.CharField(_("project"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    invoiced_amount = models.DecimalField(_("invoiced amount"), **MONEY, default=0)
    requested_amount = models.DecimalField(_("requested amount"), **MONEY, null=True, blank=True)
    # Tax rebate only: the tax year applied for (its local contribution is `invoiced_amount`)
    # and the merchant's revenue of that year, as the rule read it from settlement data.
    tax_year = models.PositiveSmallIntegerField(_("tax year"), null=True, blank=True)
    # Brand incubation: the region whose authority certified the brand (its certificate is a
    # document of kind "brand_certification").
    certification_region = models.CharField(_("brand certified by (region)"), max_length=100, blank=True)
    yearly_revenue = models.DecimalField(_("yearly revenue"), **MONEY, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=GrantStatus.choices, default=GrantStatus.SUBMITTED)
    approved_amount = models.DecimalField(_("approved amount"), **MONEY, null=True, blank=True)
    rate = models.DecimalField(_("rate applied"), max_digits=5, decimal_places=4, null=True, blank=True)
    refusal_reason = models.CharField(_("refusal reason"), max_length=300, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    statement = models.ForeignKey(
        "settlements.Statement",
        verbose_name=_("paid in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
    )

    class Meta:
        verbose_name = _("grant application")
        verbose_name_plural = _("grant applications")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(invoiced_amount__gte=0), name="grant_invoiced_not_negative"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "paid"]) | Q(approved_amount__gt=0),
                name="grant_approved_has_amount",
            ),
            # A tax year is rebated once: one live (not refused) application per merchant.
            models.UniqueConstraint(
                fields=["programme", "merchant", "tax_year"],
                condition=Q(tax_year__isnull=False) & ~Q(status="refused"),
                name="grant_tax_year_once",
            ),
        ]

    def __str__(self):
        return f"{self.programme_id} · {self.project}"


# Staff decide a submitted application once; the run that pays an approved one marks it paid.
GRANT_TRANSITIONS = Transitions(
    {
        "approve": ({GrantStatus.SUBMITTED}, GrantStatus.APPROVED),
        "refuse": ({GrantStatus.SUBMITTED}, GrantStatus.REFUSED),
        "pay": ({GrantStatus.APPROVED}, GrantStatus.PAID),
    },
    error=InvalidTransition,
    refusal=_("Only an application waiting for review can be decided."),
)


def _grant_document_path(instance, filename):
    # A generated name: the uploaded name never reaches the file system.
    extension = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(instance.content_type, "")
    return f"grant-documents/{instance.application.merchant_id}/{uuid.uuid4().hex}{extension}"


class GrantDocument(models.Model):
    """An invoice or supporting document of an application: PDF, PNG or JPEG, checked from
    its bytes by the merchants' document validation."""

    application = models.ForeignKey(
        GrantApplication, verbose_name=_("application"), on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(
        _("kind"), max_length=30, choices=GrantDocumentKind.choices, default=GrantDocumentKind.SUPPORTING
    )
    file = models.FileField(_("file"), upload_to=_grant_document_path, storage=subsidy_storage, max_length=255)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grant document")
        verbose_name_plural = _("grant documents")
        ordering = ["application_id", "id"]

    def __str__(self):
        return self.original_name or f"document {self.pk}"
