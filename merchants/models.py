"""Merchants: the application that becomes the merchant, its documents, tiers, contract,
deposit ledger and members.

One `Merchant` row lives from the first draft of the application to termination; its
`status` follows the transition table `TRANSITIONS` below, and every change of status goes
through a service in `merchants.services` that checks this table and writes the audit log.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from marketplace.fields import EncryptedTextField
from marketplace.models import AppendOnlyModel, AppendOnlyQuerySet
from marketplace.ratings import rating_average, rating_counters_consistent
from marketplace.transitions import Transitions
from merchants.choices import (
    EDITABLE_STATES,
    ROLE_SECTIONS,
    AmendmentStatus,
    ChangeStatus,
    CommissionPlan,
    ContractStatus,
    CooperationMode,
    CreditGrade,
    DepositEntryKind,
    DocumentKind,
    DocumentStatus,
    MemberRole,
    MerchantStatus,
    TierCode,
)

from .errors import MerchantInvalidTransition

MIN_DEPOSIT = Decimal("20000.00")
MAX_DEPOSIT = Decimal("100000.00")


class Tier(models.Model):
    """A recruitment tier: what the platform asks of a merchant and what it offers.

    Staff edit the rows; the deposit stays within ¥20,000–¥100,000 (database constraint).
    """

    code = models.CharField(_("code"), max_length=20, choices=TierCode.choices, unique=True)
    name = models.CharField(_("name"), max_length=60)
    deposit_amount = models.DecimalField(_("deposit"), max_digits=14, decimal_places=2)
    commission_plan = models.CharField(
        _("commission plan"), max_length=20, choices=CommissionPlan.choices, default=CommissionPlan.STANDARD
    )
    min_monthly_gmv = models.DecimalField(
        _("minimum monthly GMV"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    min_sku_coverage_pct = models.PositiveSmallIntegerField(_("minimum SKU coverage (%)"), null=True, blank=True)
    min_annual_growth_pct = models.PositiveSmallIntegerField(_("minimum annual growth (%)"), null=True, blank=True)
    min_contract_years = models.PositiveSmallIntegerField(_("minimum contract years"), null=True, blank=True)
    entry_criteria = models.TextField(_("entry criteria"), blank=True)
    benefits = models.TextField(_("benefits"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit_amount__gte=MIN_DEPOSIT, deposit_amount__lte=MAX_DEPOSIT),
                name="tier_deposit_range",
            )
        ]

    def __str__(self):
        return self.name


S = MerchantStatus
# Allowed transitions: action → (states it may start from, state it leads to). The one answer
# to "may this merchant be moved so?", for the services, the admin and the portal alike.
TRANSITIONS = Transitions(
    {
        "submit": (frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED),
        "start_review": (frozenset({S.SUBMITTED}), S.UNDER_REVIEW),
        "approve": (frozenset({S.SUBMITTED, S.UNDER_REVIEW}), S.APPROVED),
        "reject": (frozenset({S.SUBMITTED, S.UNDER_REVIEW}), S.REJECTED),
        "request_changes": (frozenset({S.SUBMITTED, S.UNDER_REVIEW}), S.CHANGES_REQUESTED),
        "accept_contract": (frozenset({S.APPROVED}), S.CONTRACT_SIGNED),
        "deposit_paid": (frozenset({S.CONTRACT_SIGNED}), S.DEPOSIT_PAID),
        "go_live": (frozenset({S.DEPOSIT_PAID}), S.LIVE),
        "suspend": (frozenset({S.LIVE}), S.SUSPENDED),
        "reinstate": (frozenset({S.SUSPENDED}), S.LIVE),
        "terminate": (
            frozenset({S.APPROVED, S.CONTRACT_SIGNED, S.DEPOSIT_PAID, S.LIVE, S.SUSPENDED}),
            S.TERMINATED,
        ),
    },
    error=MerchantInvalidTransition,
    refusal=_("This cannot be done while the merchant is “%(status)s”."),
)
#: How each audit action of a merchant reads in the portal and the admin history.
AUDIT_ACTION_LABELS = {
    "merchant.application_created": _("Application started"),
    "merchant.document_added": _("Document uploaded"),
    "merchant.document_removed": _("Document removed"),
    "merchant.submit": _("Application submitted"),
    "merchant.start_review": _("Review started"),
    "merchant.approve": _("Approved"),
    "merchant.reject": _("Rejected"),
    "merchant.request_changes": _("Changes requested"),
    "merchant.accept_contract": _("Contract accepted"),
    "merchant.deposit_paid": _("Deposit paid"),
    "merchant.deposit_topped_up": _("Deposit topped up"),
    "merchant.deposit_deducted": _("Deducted from the deposit"),
    "merchant.deposit_refunded": _("Deposit refunded"),
    "merchant.go_live": _("Shop opened"),
    "merchant.suspend": _("Suspended"),
    "merchant.reinstate": _("Reinstated"),
    "merchant.terminate": _("Terminated"),
    "merchant.deposit_refund_scheduled": _("Deposit refund scheduled"),
    "merchant.tier_changed": _("Tier changed"),
    "merchant.contract_extended": _("Contract extended"),
    "merchant.shop_updated": _("Shop page updated"),
    "merchant.member_invited": _("Member invited"),
    "merchant.member_joined": _("Member joined"),
    "merchant.member_role_changed": _("Member role changed"),
    "merchant.member_removed": _("Member removed"),
    "merchant.invitation_revoked": _("Invitation withdrawn"),
    "catalog.category_grants_changed": _("Selling categories changed"),
    "merchant.bank_change_requested": _("Bank account change requested"),
    "merchant.bank_change_approved": _("Bank account change approved"),
    "merchant.bank_change_refused": _("Bank account change refused"),
    "merchant.document_renewal_uploaded": _("Renewed document uploaded"),
    "merchant.document_renewal_accepted": _("Renewed document accepted"),
    "merchant.document_renewal_refused": _("Renewed document refused"),
    "merchant.amendment_proposed": _("Contract amendment proposed"),
    "merchant.amendment_accepted": _("Contract amendment accepted"),
    "merchant.amendment_declined": _("Contract amendment declined"),
    "merchant.contract_scope_changed": _("Contract category scope changed"),
}


class Merchant(models.Model):
    """A company from its first application draft to termination."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_merchants"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=MerchantStatus.choices, default=MerchantStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(_("reason of the last decision"), blank=True)

    # Company
    company_name = models.CharField(_("company name"), max_length=200)
    shop_name = models.CharField(_("shop name"), max_length=100, blank=True)
    slug = models.SlugField(_("shop address"), max_length=120, unique=True, null=True, blank=True)
    social_credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    legal_rep_name = models.CharField(_("legal representative"), max_length=100, blank=True)
    legal_rep_id_number = EncryptedTextField(_("legal representative ID number"), blank=True)
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)

    # What it wants to do
    requested_category_ids = models.JSONField(_("requested categories"), default=list, blank=True)
    sales_regions = models.JSONField(_("sales regions"), default=list, blank=True)
    cooperation_mode = models.CharField(
        _("cooperation mode"), max_length=20, choices=CooperationMode.choices, default=CooperationMode.PLATFORM_ENTRY
    )
    requested_tier = models.ForeignKey(
        Tier, verbose_name=_("requested tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="merchants"
    )
    sells_manufactured_goods = models.BooleanField(_("sells goods it manufactures"), default=False)
    sells_third_party_brands = models.BooleanField(_("sells brands it does not own"), default=False)
    is_cross_border = models.BooleanField(_("cross-border"), default=False)

    # Bank account for payouts (number encrypted; shown masked except to finance)
    bank_account_name = models.CharField(_("account holder"), max_length=200, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account_number = EncryptedTextField(_("bank account number"), blank=True)

    # Shop page
    description = models.TextField(_("shop description"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    # The shop's visible reviews (count, sum of stars), kept by orders.services.reviews
    # through merchants.services.ratings in the review's transaction (marketplace.ratings).
    rating_count = models.PositiveIntegerField(_("reviews"), default=0, editable=False)
    rating_total = models.PositiveIntegerField(_("sum of review stars"), default=0, editable=False)

    # Later issues rely on these
    credit_grade = models.CharField(_("credit grade"), max_length=1, choices=CreditGrade.choices, default=CreditGrade.B)
    live_since = models.DateTimeField(_("live since"), null=True, blank=True)
    # Set while a current document has expired (services.merchant_refresh_expired_flag): the
    # admin's queues and the risk jobs read it without scanning documents.
    has_expired_documents = models.BooleanField(_("documents expired"), default=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated"), null=True, blank=True)
    deposit_refund_due_on = models.DateField(_("deposit refund due"), null=True, blank=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["id"]
        permissions = [("view_bank_account", _("Can see full bank account and ID numbers"))]
        constraints = [
            # One live application per company: a rejected or terminated one may apply again.
            models.UniqueConstraint(
                fields=["social_credit_code"],
                condition=~Q(status__in=["rejected", "terminated", "draft"]) & ~Q(social_credit_code=""),
                name="merchant_unique_credit_code",
            ),
            models.CheckConstraint(
                condition=~Q(status="live") | Q(live_since__isnull=False), name="merchant_live_has_live_since"
            ),
            models.CheckConstraint(condition=rating_counters_consistent(), name="merchant_rating_consistent"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def rating_average(self):
        return rating_average(self.rating_count, self.rating_total)

    @property
    def display_name(self) -> str:
        return self.shop_name or self.company_name

    @property
    def is_live(self) -> bool:
        return self.status == MerchantStatus.LIVE

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATES


class PrivateStorage(FileSystemStorage):
    """Files outside the web root with no URL; views check permissions and stream them.

    The location follows `MEDIA_ROOT` lazily (and its changes in tests).
    """

    @cached_property
    def base_location(self):
        return os.path.join(settings.MEDIA_ROOT, "private")

    @cached_property
    def base_url(self):
        return None


private_storage = PrivateStorage()


def _document_path(instance, filename):
    # A generated name: the uploaded name never reaches the file system.
    return f"merchant-documents/{instance.merchant_id}/{uuid.uuid4().hex}{instance.extension}"


class MerchantDocument(models.Model):
    """A qualification document: PDF, PNG or JPEG, checked from its bytes."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to=_document_path, storage=private_storage, max_length=255)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # After approval a document is renewed, never edited: the renewal is a new row awaiting
    # review that `renews` the current one; accepted, it becomes current and the old one
    # `replaced` (kept, so the history stays readable).
    status = models.CharField(
        _("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.CURRENT, db_index=True
    )
    renews = models.ForeignKey(
        "self",
        verbose_name=_("renews"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_reason = models.TextField(_("reason of the review"), blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["merchant_id", "kind", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["renews"], condition=Q(status="pending"), name="document_one_pending_renewal"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.merchant_id})"

    @cached_property
    def extension(self) -> str:
        return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(self.content_type, ".bin")


# A renewal waits for a reviewer; accepted, it becomes current and the document it renews
# (and any other current one of its kind) is replaced.
DOCUMENT_TRANSITIONS = Transitions(
    {
        "accept_renewal": ({DocumentStatus.PENDING}, DocumentStatus.CURRENT),
        "refuse_renewal": ({DocumentStatus.PENDING}, DocumentStatus.REFUSED),
        "replace": ({DocumentStatus.CURRENT}, DocumentStatus.REPLACED),
    },
    error=MerchantInvalidTransition,
    refusal=_("This document cannot be reviewed while it is “%(status)s”."),
)


class Contract(models.Model):
    """The terms a merchant accepts after approval. Settlement reads them later."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="contracts"
    )
    number = models.CharField(_("contract number"), max_length=40, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.OFFERED
    )
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="+")
    cooperation_mode = models.CharField(_("cooperation mode"), max_length=20, choices=CooperationMode.choices)
    category_ids = models.JSONField(_("category scope"), default=list)
    sales_regions = models.JSONField(_("sales regions"), default=list)
    exclusive = models.BooleanField(_("exclusive"), default=False)
    settlement_days = models.PositiveSmallIntegerField(_("settlement cycle (T + days)"), default=15)
    commission_plan = models.CharField(_("commission plan"), max_length=20, choices=CommissionPlan.choices)
    # Joint operation: replaces the category commission rate (fraction, 0.1200 = 12 %).
    revenue_share_rate = models.DecimalField(
        _("revenue-share rate"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    # Franchise: yearly fee charged as a service fee.
    franchise_fee = models.DecimalField(
        _("yearly franchise fee"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # Ladder commission (strategic): [{"min_net_sales": "1000000.00", "points": "1"}, …]
    ladder_steps = models.JSONField(_("ladder steps"), default=list, blank=True)
    # 1 when offered; each accepted amendment adds one (the old terms in ContractVersion).
    version = models.PositiveIntegerField(_("version"), default=1)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    offered_at = models.DateTimeField(_("offered at"), auto_now_add=True)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("offered by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-offered_at"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="contract_dates_ordered"),
            models.CheckConstraint(
                condition=Q(revenue_share_rate__isnull=True) | Q(revenue_share_rate__gt=0, revenue_share_rate__lt=1),
                name="contract_revenue_share_rate_range",
            ),
            # At most one contract in force (offered or accepted) per merchant.
            models.UniqueConstraint(
                fields=["merchant"], condition=~Q(status="superseded"), name="contract_one_current_per_merchant"
            ),
        ]

    def __str__(self):
        return self.number


# A contract is offered on approval and accepted by the merchant; approving the merchant
# again (a new offer) supersedes the one in force, offered or accepted.
CONTRACT_TRANSITIONS = Transitions(
    {
        "accept": ({ContractStatus.OFFERED}, ContractStatus.ACCEPTED),
        "supersede": ({ContractStatus.OFFERED, ContractStatus.ACCEPTED}, ContractStatus.SUPERSEDED),
    },
    error=MerchantInvalidTransition,
    refusal=_("This cannot be done while the contract is “%(status)s”."),
)


class ContractVersion(AppendOnlyModel, models.Model):
    """The terms of a contract as they were before a change replaced them (append-only), so
    old terms stay readable: version N's terms applied until `amendment` was accepted (or,
    without one, until staff edited the merchant's categories, which moves the scope)."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    terms = models.JSONField(_("terms"))
    amendment = models.ForeignKey(
        "ContractAmendment",
        verbose_name=_("replaced by amendment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()
    append_only_message = "Contract versions are append-only."

    class Meta:
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        ordering = ["contract_id", "version"]
        constraints = [models.UniqueConstraint(fields=["contract", "version"], name="contract_version_unique")]

    def __str__(self):
        return f"{self.contract_id} v{self.version}"


class ContractAmendment(models.Model):
    """New terms staff propose for a contract; applied only when the merchant accepts.

    A field left empty (None) keeps the contract's term. At most one proposal per contract
    waits for the merchant (database constraint).
    """

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="amendments"
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="amendments"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AmendmentStatus.choices, default=AmendmentStatus.PROPOSED, db_index=True
    )
    category_ids = models.JSONField(_("category scope"), null=True, blank=True)
    sales_regions = models.JSONField(_("sales regions"), null=True, blank=True)
    settlement_days = models.PositiveSmallIntegerField(_("settlement cycle (T + days)"), null=True, blank=True)
    ladder_steps = models.JSONField(_("ladder steps"), null=True, blank=True)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_date = models.DateField(_("end date"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decline_reason = models.TextField(_("reason of the decline"), blank=True)

    class Meta:
        verbose_name = _("contract amendment")
        verbose_name_plural = _("contract amendments")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=Q(status="proposed"), name="amendment_one_proposed_per_contract"
            )
        ]

    def __str__(self):
        return f"{self.contract} #{self.pk}"


AMENDMENT_TRANSITIONS = Transitions(
    {
        "accept": ({AmendmentStatus.PROPOSED}, AmendmentStatus.ACCEPTED),
        "decline": ({AmendmentStatus.PROPOSED}, AmendmentStatus.DECLINED),
    },
    error=MerchantInvalidTransition,
    refusal=_("This amendment was already decided (“%(status)s”)."),
)


class BankAccountChange(models.Model):
    """A new payout account the merchant asks for; finance verifies it before it replaces the
    merchant's. Payouts read the merchant's own (verified) account only, never this row.

    At most one change per merchant waits for verification (database constraint).
    """

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="bank_changes"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.PENDING, db_index=True
    )
    bank_account_name = models.CharField(_("account holder"), max_length=200)
    bank_name = models.CharField(_("bank"), max_length=200)
    bank_account_number = EncryptedTextField(_("bank account number"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason of the refusal"), blank=True)

    class Meta:
        verbose_name = _("bank account change")
        verbose_name_plural = _("bank account changes")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(status="pending"), name="bank_change_one_pending_per_merchant"
            )
        ]

    def __str__(self):
        return f"{self.merchant} ({self.get_status_display()})"


BANK_CHANGE_TRANSITIONS = Transitions(
    {
        "approve": ({ChangeStatus.PENDING}, ChangeStatus.APPROVED),
        "refuse": ({ChangeStatus.PENDING}, ChangeStatus.REFUSED),
    },
    error=MerchantInvalidTransition,
    refusal=_("This bank account change was already decided (“%(status)s”)."),
)


class DepositEntry(AppendOnlyModel, models.Model):
    """One movement of a merchant's deposit. The balance is the sum of the signed amounts.

    `amount` is signed: positive for paid/topped up, negative for deducted/refunded (the
    database checks the sign against the kind). Entries are never edited or deleted.
    """

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="deposit_entries"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DepositEntryKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.TextField(_("reason"), blank=True)
    # Natural key of the source (sandbox payment id, bank reference, statement line):
    # a retried call with the same reference cannot post twice.
    reference = models.CharField(_("reference"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()
    append_only_message = "Deposit entries are append-only."

    class Meta:
        verbose_name = _("deposit entry")
        verbose_name_plural = _("deposit entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "kind", "reference"], name="deposit_entry_unique_reference"),
            models.CheckConstraint(
                condition=(Q(kind__in=["paid", "topped_up"]) & Q(amount__gt=0))
                | (Q(kind__in=["deducted", "refunded"]) & Q(amount__lt=0)),
                name="deposit_entry_sign_matches_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


class MerchantMember(models.Model):
    """A user working for a merchant, with one role. A user belongs to at most one merchant."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="merchant_membership"
    )
    role = models.CharField(_("role"), max_length=20, choices=MemberRole.choices)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["merchant_id", "id"]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def can(self, section: str) -> bool:
        return section in ROLE_SECTIONS.get(self.role, frozenset())


class Invitation(models.Model):
    """An emailed invitation to join a merchant with a role; valid until used or expired."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=MemberRole.choices)
    token = models.CharField(_("token"), max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("invited by"), on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self):
        return self.email


class PublicHoliday(models.Model):
    """A non-working day (in addition to weekends) for working-day deadlines."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"
