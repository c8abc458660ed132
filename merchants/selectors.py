"""Reads of the merchants app. Merchant-facing reads take the acting user, so tenancy
cannot be forgotten: another merchant's rows are simply not found (None; the views answer 404, not 403)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from marketplace.models import AuditLogEntry
from marketplace.money import ZERO, quantize

from . import permissions
from .choices import (
    REVIEW_QUEUE_STATES,
    ROLE_SECTIONS,
    AmendmentStatus,
    ChangeStatus,
    ContractStatus,
    DocumentKind,
    DocumentStatus,
    MerchantStatus,
    PortalSection,
    TierCode,
)
from .models import (
    AUDIT_ACTION_LABELS,
    BankAccountChange,
    Contract,
    ContractAmendment,
    ContractVersion,
    DepositEntry,
    Invitation,
    Merchant,
    MerchantDocument,
    MerchantMember,
    Tier,
)


def membership_for_user(user) -> MerchantMember | None:
    """The user's membership (with its merchant), or None for buyers and staff."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        MerchantMember.objects.select_related("merchant", "merchant__tier", "merchant__requested_tier")
        .filter(user=user)
        .first()
    )


def merchant_for_member(user, *, section: str | None = None) -> Merchant | None:
    """The user's merchant; None when there is none or the user's role may not see `section`."""
    member = membership_for_user(user)
    if member is None or (section is not None and not member.can(section)):
        return None
    return member.merchant


def application_list(user) -> QuerySet[Merchant]:
    """Applications `user` may read: every one for staff (oldest submission first), else only
    the user's own merchant when their role covers the application."""
    applications = Merchant.objects.select_related("tier", "requested_tier").prefetch_related("documents")
    if user.is_authenticated and user.is_staff:
        return applications.order_by(F("submitted_at").asc(nulls_last=True), "id")
    member = membership_for_user(user)
    if member is None or not member.can(PortalSection.APPLICATION):
        return applications.none()
    return applications.filter(pk=member.merchant_id)


def tier_list() -> QuerySet[Tier]:
    return Tier.objects.all()


def review_queue() -> QuerySet[Merchant]:
    """Applications waiting for a reviewer, oldest first."""
    return (
        Merchant.objects.filter(status__in=REVIEW_QUEUE_STATES)
        .select_related("owner", "requested_tier")
        .order_by("submitted_at", "id")
    )


def merchant_public_get(slug: str) -> Merchant | None:
    """A live shop by its address; suspended and other shops are not public (None)."""
    return Merchant.objects.select_related("tier").filter(slug=slug, status=MerchantStatus.LIVE).first()


def merchant_history(merchant: Merchant) -> QuerySet[AuditLogEntry]:
    """The merchant's audit trail, newest first (who, when, why)."""
    return (
        AuditLogEntry.objects.filter(object_type="merchants.merchant", object_id=str(merchant.pk))
        .select_related("actor")
        .order_by("-seq")
    )


def history_rows(merchant: Merchant, limit: int | None = None) -> list[dict]:
    """History entries with a readable label for each action."""
    entries = merchant_history(merchant)
    if limit is not None:
        entries = entries[:limit]
    return [{"entry": e, "label": AUDIT_ACTION_LABELS.get(e.action, e.action)} for e in entries]


def document_list_for_merchant(merchant: Merchant) -> QuerySet[MerchantDocument]:
    return merchant.documents.select_related("uploaded_by").order_by("kind", "-uploaded_at")


def document_get_for_user(user, document_id: int) -> MerchantDocument | None:
    """A qualification document (identity card scans, licences) the user may read.

    Staff need the `merchants.document_view` declaration (else PermissionDenied: 403, as in
    the admin). Otherwise only the members of its merchant whose role covers the application
    (the owner): other members, other merchants and buyers get None (404 in the view), like a missing id.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_staff:
        if not permissions.DOCUMENT_VIEW.allows(user):
            raise PermissionDenied
        document = MerchantDocument.objects.select_related("merchant").filter(pk=document_id).first()
        return document
    member = membership_for_user(user)
    if member is None or not member.can(PortalSection.APPLICATION):
        return None
    return MerchantDocument.objects.filter(pk=document_id, merchant_id=member.merchant_id).first()


def documents_expiring(
    *, within_days: int | None = None, today: datetime.date | None = None
) -> QuerySet[MerchantDocument]:
    """Documents that have expired or expire within the warning window (default 30 days)."""
    today = today or timezone.localdate()
    days = settings.DOCUMENT_EXPIRY_WARNING_DAYS if within_days is None else within_days
    return MerchantDocument.objects.filter(
        status=DocumentStatus.CURRENT, expires_on__lte=today + datetime.timedelta(days=days)
    ).select_related("merchant")


def member_list(merchant: Merchant) -> QuerySet[MerchantMember]:
    return merchant.members.select_related("user").order_by("id")


def invitation_list_open(merchant: Merchant) -> QuerySet[Invitation]:
    return merchant.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).order_by("-created_at")


def member_get(merchant: Merchant, member_id: int) -> MerchantMember | None:
    return merchant.members.select_related("user").filter(pk=member_id).first()


def invitation_get(merchant: Merchant, invitation_id: int) -> Invitation | None:
    return merchant.invitations.filter(pk=invitation_id).first()


# --- Application, contract and deposit (read by the services and the pages) ----------------


def required_document_kinds(merchant: Merchant) -> list[str]:
    """Documents the application needs for what was chosen (domain.md)."""
    kinds = [DocumentKind.BUSINESS_LICENCE]
    if merchant.sells_manufactured_goods:
        kinds.append(DocumentKind.PRODUCTION_LICENCE)
    if merchant.sells_third_party_brands:
        kinds.append(DocumentKind.BRAND_AUTHORISATION)
    if merchant.is_cross_border:
        kinds += [DocumentKind.CUSTOMS_CREDIT_RATING, DocumentKind.IMPORT_EXPORT_LICENCE]
    return [str(k) for k in kinds]


def missing_document_kinds(merchant: Merchant, *, today: datetime.date | None = None) -> list[str]:
    """Required kinds without a current (unexpired) document."""
    today = today or timezone.localdate()
    have = {
        d.kind
        for d in merchant.documents.all()
        if d.status == DocumentStatus.CURRENT and (d.expires_on is None or d.expires_on >= today)
    }
    return [k for k in required_document_kinds(merchant) if k not in have]


def application_missing(merchant: Merchant) -> dict[str, list[str]]:
    """Everything still missing before the application can be submitted."""
    required = {
        "company_name": merchant.company_name,
        "social_credit_code": merchant.social_credit_code,
        "legal_rep_name": merchant.legal_rep_name,
        "legal_rep_id_number": merchant.legal_rep_id_number,
        "contact_name": merchant.contact_name,
        "contact_phone": merchant.contact_phone,
        "contact_email": merchant.contact_email,
        "requested_category_ids": merchant.requested_category_ids,
        "sales_regions": merchant.sales_regions,
        "requested_tier": merchant.requested_tier_id,
        "bank_account_name": merchant.bank_account_name,
        "bank_name": merchant.bank_name,
        "bank_account_number": merchant.bank_account_number,
    }
    return {
        "fields": [name for name, value in required.items() if not value],
        "documents": missing_document_kinds(merchant),
    }


def current_contract(merchant: Merchant) -> Contract | None:
    """The contract in force or on offer (the newest not superseded), or None."""
    return _current_contracts().filter(merchant=merchant).first()


def current_contract_value(merchant: OuterRef, field: str) -> Subquery:
    """`field` of the current contract (`current_contract`) of the merchant `merchant` refers
    to, as a subquery for `annotate`; None when it has none. Checkout reads the revenue-share
    rate of every shop of an order this way, inside the query that loads the SKUs."""
    return Subquery(_current_contracts().filter(merchant=merchant).values(field)[:1])


def _current_contracts() -> QuerySet[Contract]:
    # Ties on `offered_at` go to the newer row, so both readers above agree.
    return Contract.objects.exclude(status=ContractStatus.SUPERSEDED).order_by("-offered_at", "-id")


def deposit_balance(merchant: Merchant) -> Decimal:
    """The deposit held: the sum of the merchant's append-only deposit ledger."""
    total = DepositEntry.objects.filter(merchant_id=merchant.pk).aggregate(total=Sum("amount"))["total"]
    return quantize(total or ZERO)


def deposit_required(merchant: Merchant) -> Decimal:
    """The tier's deposit (the requested tier's before approval)."""
    tier = merchant.tier or merchant.requested_tier
    return quantize(tier.deposit_amount) if tier else ZERO


def deposit_shortfall(merchant: Merchant) -> Decimal:
    """What is still to pay to reach the required deposit (never negative)."""
    return max(ZERO, deposit_required(merchant) - deposit_balance(merchant))


# --- Read by settlement -------------------------------------------------------------------


def merchants_ever_approved() -> QuerySet[Merchant]:
    """Merchants that have ever been approved, whatever their status now: approval gives a
    tier, which is changed but never taken away. Settlement settles each of them monthly."""
    return Merchant.objects.filter(tier__isnull=False)


def accepted_contracts() -> QuerySet[Contract]:
    """The contracts in force (at most one accepted per merchant): the terms settlement
    applies (settlement days, commission plan and its ladder steps)."""
    return Contract.objects.filter(status=ContractStatus.ACCEPTED)


# --- Read by the ledger (settlements/services/ledger_sources.py) ----------------------------


def deposit_entries() -> QuerySet[DepositEntry]:
    """Every movement of every merchant's deposit (append-only, signed by kind)."""
    return DepositEntry.objects.all()


def deposit_balances() -> dict[int, Decimal]:
    """Each merchant's deposit held (the sum of its entries), by merchant id; merchants
    without an entry are absent."""
    rows = DepositEntry.objects.order_by().values("merchant_id").annotate(total=Sum("amount"))
    return {row["merchant_id"]: quantize(row["total"]) for row in rows}


# --- Read by the apps that notify merchants (notifications.services.notify) -----------------


def member_user_ids(merchant_id: int, *, section: str) -> list[int]:
    """The users of the merchant whose role handles `section` (the owner always): who is told
    of a new order (orders), a statement (finance), low stock (catalog), ...; active users only."""
    roles = [role for role, sections in ROLE_SECTIONS.items() if section in sections]
    return list(
        MerchantMember.objects.filter(merchant_id=merchant_id, role__in=roles, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


# --- Read by merchant quality (risk: credit rating, evaluations, renewals; issue #15) ------


def merchants_rated() -> QuerySet[Merchant]:
    """The merchants the credit rating and the quarterly evaluation judge: live or suspended
    (they have traded, and a suspended one may come back)."""
    return Merchant.objects.filter(status__in=[MerchantStatus.LIVE, MerchantStatus.SUSPENDED])


def merchant_get(merchant_id: int) -> Merchant | None:
    """The merchant `merchant_id` for platform jobs and staff (no tenancy: never for a
    merchant-facing page), or None."""
    return Merchant.objects.filter(pk=merchant_id).first()


def contracts_ending(*, on_or_after: datetime.date, on_or_before: datetime.date) -> QuerySet[Contract]:
    """The contracts in force (accepted) of merchants not terminated whose end date falls in
    [`on_or_after`, `on_or_before`], soonest first: the yearly renewal reads them."""
    return (
        Contract.objects.filter(status=ContractStatus.ACCEPTED, end_date__gte=on_or_after, end_date__lte=on_or_before)
        .exclude(merchant__status=MerchantStatus.TERMINATED)
        .select_related("merchant")
        .order_by("end_date", "pk")
    )


def contract_get(contract_id: int) -> Contract | None:
    """The contract `contract_id` with its merchant (platform jobs and staff), or None."""
    return Contract.objects.select_related("merchant").filter(pk=contract_id).first()


# --- Dashboards (the operations dashboard) -------------------------------------------------


def merchant_counts_by_status() -> dict[str, int]:
    """How many merchants are in each status (every status of `MerchantStatus`, 0 when none),
    in one query."""
    counts = dict.fromkeys(MerchantStatus.values, 0)
    rows = Merchant.objects.values("status").annotate(n=Count("id")).order_by()
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def live_merchant_counts_by_tier() -> list[tuple[str, str, int]]:
    """Live merchants per tier as (tier code, tier name, count), tiers in their order (0 when
    none), in one query. Every live merchant has a tier (approval sets it)."""
    rows = (
        Tier.objects.annotate(n=Count("merchants", filter=Q(merchants__status=MerchantStatus.LIVE)))
        .order_by("position", "code")
        .values_list("code", "name", "n")
    )
    return [(code, name, n) for code, name, n in rows]


def live_core_merchant_count() -> int:
    """Live merchants of the core tier: the launch target's figure (200)."""
    return Merchant.objects.filter(status=MerchantStatus.LIVE, tier__code=TierCode.CORE).count()


# --- Read by risk's alert jobs (issue #15) ---------------------------------------------------


def documents_expiring_current(*, today: datetime.date, within_days: int) -> list[tuple[int, int, str, datetime.date]]:
    """(document id, merchant id, kind, expires on) of each merchant's newest document of a
    kind when it expires by `today + within_days` (a renewed document, uploaded later,
    replaces it), for merchants that were approved and are not terminated."""
    newest = (
        MerchantDocument.objects.filter(merchant_id=OuterRef("merchant_id"), kind=OuterRef("kind"))
        .order_by("-uploaded_at", "-id")
        .values("pk")[:1]
    )
    return list(
        MerchantDocument.objects.filter(
            expires_on__lte=today + datetime.timedelta(days=within_days),
            merchant__tier__isnull=False,
            pk=Subquery(newest),
        )
        .exclude(merchant__status=MerchantStatus.TERMINATED)
        .order_by("pk")
        .values_list("pk", "merchant_id", "kind", "expires_on")
    )


def deposit_requirements() -> dict[int, Decimal]:
    """Each live or suspended merchant's required deposit (its tier's), by merchant id."""
    rows = Merchant.objects.filter(
        tier__isnull=False, status__in=[MerchantStatus.LIVE, MerchantStatus.SUSPENDED]
    ).values_list("pk", "tier__deposit_amount")
    return {pk: quantize(amount) for pk, amount in rows}


# --- The merchant's own changes after approval ---------------------------------------------


def bank_change_list(merchant: Merchant) -> QuerySet[BankAccountChange]:
    """The merchant's bank account changes, newest first."""
    return merchant.bank_changes.select_related("decided_by").order_by("-requested_at", "-id")


def bank_change_pending(merchant: Merchant) -> BankAccountChange | None:
    """The change waiting for finance, if any (at most one)."""
    return merchant.bank_changes.filter(status=ChangeStatus.PENDING).first()


def document_current_list(merchant: Merchant) -> QuerySet[MerchantDocument]:
    """The documents in force (not renewals waiting or refused, not replaced)."""
    return merchant.documents.filter(status=DocumentStatus.CURRENT).order_by("kind", "-uploaded_at")


def document_current_get(merchant: Merchant, document_id: int) -> MerchantDocument | None:
    """One of the merchant's current documents; None for another merchant's (404)."""
    return document_current_list(merchant).filter(pk=document_id).first()


def document_renewal_list(merchant: Merchant) -> QuerySet[MerchantDocument]:
    """The merchant's renewals (waiting, accepted or refused), newest first."""
    return (
        merchant.documents.filter(renews__isnull=False)
        .select_related("reviewed_by", "renews")
        .order_by("-uploaded_at", "-id")
    )


def renewals_awaiting_review() -> QuerySet[MerchantDocument]:
    """Every renewal waiting for a reviewer, oldest first (the admin's queue)."""
    return (
        MerchantDocument.objects.filter(status=DocumentStatus.PENDING)
        .select_related("merchant", "renews", "uploaded_by")
        .order_by("uploaded_at", "id")
    )


def amendment_list(merchant: Merchant) -> QuerySet[ContractAmendment]:
    """The merchant's contract amendments, newest first."""
    return merchant.amendments.select_related("contract", "tier").order_by("-proposed_at", "-id")


def amendment_get(merchant: Merchant, amendment_id: int) -> ContractAmendment | None:
    """One of the merchant's amendments; None for another merchant's (404)."""
    return amendment_list(merchant).filter(pk=amendment_id).first()


def amendment_open(merchant: Merchant) -> QuerySet[ContractAmendment]:
    return amendment_list(merchant).filter(status=AmendmentStatus.PROPOSED)


def contract_version_list(contract: Contract) -> QuerySet[ContractVersion]:
    """The contract's earlier terms, oldest first."""
    return contract.versions.order_by("version")
