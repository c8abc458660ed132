"""Merchants' enumerations, and the sets of them that rules share.

Other apps import these without importing merchants' models (the import contracts in
pyproject.toml allow an upper app's services and selectors `choices`, never `models`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TierCode(models.TextChoices):
    CORE = "core", _("Core")
    POTENTIAL = "potential", _("Potential")
    STRATEGIC = "strategic", _("Strategic")


class CommissionPlan(models.TextChoices):
    STANDARD = "standard", _("Standard category commission")
    LADDER = "ladder", _("Ladder commission")


class CooperationMode(models.TextChoices):
    PLATFORM_ENTRY = "platform_entry", _("Platform entry")
    JOINT_OPERATION = "joint_operation", _("Joint operation")
    FRANCHISE = "franchise", _("Franchise")


class CreditGrade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class MerchantStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    REJECTED = "rejected", _("Rejected")
    APPROVED = "approved", _("Approved")
    CONTRACT_SIGNED = "contract_signed", _("Contract signed")
    DEPOSIT_PAID = "deposit_paid", _("Deposit paid")
    LIVE = "live", _("Live")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


#: States in which money for the deposit is accepted: after the contract, before termination.
DEPOSIT_PAYABLE_STATES = frozenset(
    {MerchantStatus.CONTRACT_SIGNED, MerchantStatus.DEPOSIT_PAID, MerchantStatus.LIVE, MerchantStatus.SUSPENDED}
)


#: States in which the applicant may still edit the application.
EDITABLE_STATES = frozenset({MerchantStatus.DRAFT, MerchantStatus.CHANGES_REQUESTED})


#: States of an application waiting for a reviewer.
REVIEW_QUEUE_STATES = frozenset({MerchantStatus.SUBMITTED, MerchantStatus.UNDER_REVIEW})


#: States after approval, before termination: the company is a merchant of the platform.
ACTIVE_MERCHANT_STATES = frozenset(
    {
        MerchantStatus.APPROVED,
        MerchantStatus.CONTRACT_SIGNED,
        MerchantStatus.DEPOSIT_PAID,
        MerchantStatus.LIVE,
        MerchantStatus.SUSPENDED,
    }
)


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    PRODUCTION_LICENCE = "production_licence", _("Production licence")
    QUALITY_CERTIFICATION = "quality_certification", _("Quality certification (e.g. ISO 9001)")
    BRAND_AUTHORISATION = "brand_authorisation", _("Brand authorisation")
    CUSTOMS_CREDIT_RATING = "customs_credit_rating", _("Customs credit rating")
    IMPORT_EXPORT_LICENCE = "import_export_licence", _("Import/export licence")
    LEGAL_REP_ID = "legal_rep_id", _("Legal representative ID")
    OTHER = "other", _("Other")


class ContractStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    SUPERSEDED = "superseded", _("Superseded")


class ChangeStatus(models.TextChoices):
    """A merchant's own change after approval, waiting for staff (bank account)."""

    PENDING = "pending", _("Awaiting verification")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class DocumentStatus(models.TextChoices):
    """A document is current, or a renewal awaiting review, refused, or replaced by a newer one."""

    CURRENT = "current", _("Current")
    PENDING = "pending", _("Awaiting review")
    REFUSED = "refused", _("Refused")
    REPLACED = "replaced", _("Replaced")


class AmendmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting the merchant")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


#: A strategic contract runs at least this many years (domain.md, "Merchants").
STRATEGIC_MIN_CONTRACT_YEARS = 3


class DepositEntryKind(models.TextChoices):
    PAID = "paid", pgettext_lazy("deposit entry", "Paid")
    TOPPED_UP = "topped_up", _("Topped up")
    DEDUCTED = "deducted", _("Deducted")
    REFUNDED = "refunded", _("Refunded")


#: Kinds that add to the balance; the others take from it.
DEPOSIT_CREDIT_KINDS = frozenset({DepositEntryKind.PAID, DepositEntryKind.TOPPED_UP})


class MemberRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    CATALOG = "catalog", _("Catalog")
    ORDERS = "orders", _("Orders")
    FINANCE = "finance", _("Finance")


class PortalSection(models.TextChoices):
    DASHBOARD = "dashboard", _("Dashboard")
    APPLICATION = "application", _("Application")
    CONTRACT = "contract", _("Contract")
    DEPOSIT = "deposit", _("Deposit")
    BANK_ACCOUNT = "bank_account", _("Bank account")
    MEMBERS = "members", _("Members")
    SHOP = "shop", _("Shop page")
    CATALOG = "catalog", _("Products and stock")
    ORDERS = "orders", _("Orders")
    FINANCE = "finance", _("Statements")
    PROMOTIONS = "promotions", _("Promotions")


_ALL_SECTIONS = frozenset(PortalSection.values)


#: What each member role may see and change in the portal. The owner sees everything.
ROLE_SECTIONS: dict[str, frozenset[str]] = {
    MemberRole.OWNER: _ALL_SECTIONS,
    MemberRole.CATALOG: frozenset(
        {PortalSection.DASHBOARD, PortalSection.SHOP, PortalSection.CATALOG, PortalSection.PROMOTIONS}
    ),
    MemberRole.ORDERS: frozenset({PortalSection.DASHBOARD, PortalSection.ORDERS}),
    MemberRole.FINANCE: frozenset(
        {PortalSection.DASHBOARD, PortalSection.DEPOSIT, PortalSection.BANK_ACCOUNT, PortalSection.FINANCE}
    ),
}
