"""The merchant life cycle: application, review, contract, going live, suspension, termination.

Every status change goes through `merchant_transition`, which moves the merchant with the
kernel's `transition` helper: it locks the merchant row, checks the transition table
`merchants.models.TRANSITIONS` (refusing with `invalid_transition`, 409), writes the new
status and an audit log entry (who, when, why); the notification email is scheduled after
commit. Nothing is written when a check fails.
"""

from __future__ import annotations

import datetime
import secrets
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.jobs import enqueue_on_commit
from marketplace.numbers import sequence_next
from marketplace.pagecache import invalidate_all
from marketplace.regions import Region
from marketplace.transitions import transition

from ..choices import (
    EDITABLE_STATES,
    STRATEGIC_MIN_CONTRACT_YEARS,
    CommissionPlan,
    ContractStatus,
    CooperationMode,
    DocumentKind,
    MemberRole,
    MerchantStatus,
    TierCode,
)
from ..documents import clean_document, clean_logo
from ..errors import MerchantConflict, MerchantError, MerchantInvalidTransition
from ..models import CONTRACT_TRANSITIONS, TRANSITIONS, Contract, Merchant, MerchantDocument, MerchantMember, Tier
from ..selectors import application_missing
from ..validators import validate_id_number, validate_uscc
from . import notices
from .calendar import add_working_days

#: Application fields the applicant may set, in the portal and the API.
APPLICATION_FIELDS = (
    "company_name",
    "shop_name",
    "social_credit_code",
    "legal_rep_name",
    "legal_rep_id_number",
    "contact_name",
    "contact_phone",
    "contact_email",
    "requested_category_ids",
    "sales_regions",
    "cooperation_mode",
    "requested_tier",
    "sells_manufactured_goods",
    "sells_third_party_brands",
    "is_cross_border",
    "bank_account_name",
    "bank_name",
    "bank_account_number",
    "description",
)

REASON_REQUIRED = frozenset({"reject", "request_changes", "suspend", "reinstate", "terminate"})


def merchant_lock(merchant: Merchant) -> Merchant:
    """The merchant's row, locked until the transaction ends (call inside one)."""
    return Merchant.objects.select_for_update().get(pk=merchant.pk)


def merchant_notify(merchant: Merchant, event: str) -> None:
    """E-mail the merchant about `event` once the transaction commits (never for a rollback)."""
    enqueue_on_commit("merchants.tasks.merchant_notify_task", merchant.pk, event)


def merchant_transition(
    merchant: Merchant, action: str, *, actor, reason: str = "", data: dict | None = None, **changes
) -> Merchant:
    """Lock, check `TRANSITIONS`, move, audit (through `marketplace.transitions.transition`).
    Call inside a transaction; returns the locked row.

    `changes` are other fields written in the same UPDATE as the status (e.g. `live_since`),
    so the row never exists in a state the database constraints would refuse.
    """
    reason = (reason or "").strip()
    if action in REASON_REQUIRED and not reason:
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    if reason or action in REASON_REQUIRED:
        changes["status_reason"] = reason

    def record(locked: Merchant, previous: str) -> None:
        audit_record(
            action=f"merchant.{action}",
            actor=actor,
            obj=locked,
            reason=reason,
            data={"from": previous, "to": locked.status, **(data or {})},
        )
        if MerchantStatus.LIVE in (previous, locked.status):
            # Its products appear in or leave every storefront page: none cached stays.
            invalidate_all()

    return transition(merchant, action, table=TRANSITIONS, changes=changes, record=record)


# --- Application ---------------------------------------------------------------------


def _clean_fields(data: dict) -> dict:
    """Shape checks shared by the portal and the API; raises MerchantError listing fields."""
    unknown = set(data) - set(APPLICATION_FIELDS)
    if unknown:
        raise MerchantError("unknown_fields", _("Unknown fields."), {"fields": sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = dict(data)
    if cleaned.get("social_credit_code"):
        cleaned["social_credit_code"] = cleaned["social_credit_code"].strip().upper()
        try:
            validate_uscc(cleaned["social_credit_code"])
        except ValidationError as exc:
            errors["social_credit_code"] = [str(m) for m in exc.messages]
    if cleaned.get("legal_rep_id_number"):
        cleaned["legal_rep_id_number"] = cleaned["legal_rep_id_number"].strip().upper()
        try:
            validate_id_number(cleaned["legal_rep_id_number"])
        except ValidationError as exc:
            errors["legal_rep_id_number"] = [str(m) for m in exc.messages]
    if cleaned.get("bank_account_number"):
        number = "".join(str(cleaned["bank_account_number"]).split())
        if not number.isdigit() or not 8 <= len(number) <= 30:
            errors["bank_account_number"] = [str(_("A bank account number has 8 to 30 digits."))]
        cleaned["bank_account_number"] = number
    if "sales_regions" in cleaned:
        regions = list(dict.fromkeys(cleaned["sales_regions"] or []))
        bad = [r for r in regions if r not in Region.values]
        if bad:
            errors["sales_regions"] = [str(_("Unknown regions: %(r)s") % {"r": ", ".join(map(str, bad))})]
        cleaned["sales_regions"] = regions
    if "requested_category_ids" in cleaned:
        try:
            cleaned["requested_category_ids"] = sorted({int(c) for c in cleaned["requested_category_ids"] or []})
        except (TypeError, ValueError):
            errors["requested_category_ids"] = [str(_("Categories must be given by their ids."))]
    if "cooperation_mode" in cleaned and cleaned["cooperation_mode"] not in CooperationMode.values:
        errors["cooperation_mode"] = [str(_("Choose platform entry, joint operation or franchise."))]
    if cleaned.get("requested_tier") is not None and not isinstance(cleaned["requested_tier"], Tier):
        errors["requested_tier"] = [str(_("Choose a tier."))]
    if errors:
        raise MerchantError("invalid_application", _("Some fields are not valid."), {"fields": errors})
    return cleaned


@transaction.atomic
def application_create(*, owner, data: dict) -> Merchant:
    """Start a draft application owned by `owner`, who becomes the merchant's owner member.

    A user belongs to at most one merchant: a second application is refused.
    """
    if MerchantMember.objects.filter(user=owner).exists():
        raise MerchantConflict("already_member", _("You already belong to a merchant; you cannot apply again."))
    cleaned = _clean_fields(data)
    if not (cleaned.get("company_name") or "").strip():
        raise MerchantError(
            "invalid_application", _("Some fields are not valid."), {"fields": {"company_name": [str(_("Required."))]}}
        )
    merchant = Merchant.objects.create(owner=owner, status=MerchantStatus.DRAFT, **cleaned)
    MerchantMember.objects.create(merchant=merchant, user=owner, role=MemberRole.OWNER)
    audit_record(action="merchant.application_created", actor=owner, obj=merchant)
    return merchant


@transaction.atomic
def application_update(*, merchant: Merchant, actor, data: dict) -> Merchant:
    """Change fields of an application that is still a draft or has changes requested."""
    cleaned = _clean_fields(data)
    locked = merchant_lock(merchant)
    if locked.status not in EDITABLE_STATES:
        raise MerchantInvalidTransition(
            "application_locked",
            _("The application can no longer be changed (status “%(status)s”).")
            % {"status": locked.get_status_display()},
            {"status": locked.status},
        )
    for field, value in cleaned.items():
        setattr(locked, field, value)
    locked.save()
    return locked


@transaction.atomic
def application_submit(*, merchant: Merchant, actor) -> Merchant:
    """Send a complete application to the reviewers (draft or changes requested → submitted)."""
    locked = merchant_lock(merchant)
    if locked.status in EDITABLE_STATES:
        missing = application_missing(locked)
        if missing["fields"] or missing["documents"]:
            raise MerchantError(
                "application_incomplete",
                _("The application is not complete yet: fill in the missing fields and upload the missing documents."),
                missing,
            )
        clash = (
            Merchant.objects.filter(social_credit_code=locked.social_credit_code)
            .exclude(pk=locked.pk)
            .exclude(status__in=[MerchantStatus.REJECTED, MerchantStatus.TERMINATED, MerchantStatus.DRAFT])
            .exists()
        )
        if clash:
            raise MerchantConflict(
                "company_already_registered",
                _("A merchant with this unified social credit code is already registered or under review."),
            )
    locked = merchant_transition(locked, "submit", actor=actor, status_reason="", submitted_at=timezone.now())
    merchant_notify(locked, "submitted")
    notices.application_submitted(locked)
    return locked


@transaction.atomic
def document_add(*, merchant: Merchant, actor, kind: str, uploaded, expires_on: datetime.date | None = None):
    """Attach a validated document to an editable application (see merchants.documents)."""
    if kind not in DocumentKind.values:
        raise MerchantError("invalid_document_kind", _("Choose what kind of document this is."))
    if expires_on is not None and expires_on < timezone.localdate():
        raise MerchantError("document_expired", _("This document has already expired; upload the current one."))
    clean = clean_document(uploaded)
    locked = merchant_lock(merchant)
    if locked.status not in EDITABLE_STATES:
        raise MerchantInvalidTransition(
            "application_locked", _("Documents can no longer be changed."), {"status": locked.status}
        )
    document = MerchantDocument(
        merchant=locked,
        kind=kind,
        content_type=clean.content_type,
        size=clean.size,
        sha256=clean.sha256,
        original_name=(getattr(uploaded, "name", "") or "")[:255],
        expires_on=expires_on,
        uploaded_by=actor,
    )
    document.file.save("upload", ContentFile(clean.content), save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    audit_record(action="merchant.document_added", actor=actor, obj=locked, data={"kind": kind, "sha256": clean.sha256})
    return document


@transaction.atomic
def document_remove(*, document: MerchantDocument, actor) -> None:
    """Remove a document from an editable application (the file goes with it)."""
    locked = merchant_lock(document.merchant)
    if locked.status not in EDITABLE_STATES:
        raise MerchantInvalidTransition(
            "application_locked", _("Documents can no longer be changed."), {"status": locked.status}
        )
    name = document.file.name
    storage = document.file.storage
    kind = document.kind
    document.delete()
    transaction.on_commit(partial(storage.delete, name))
    audit_record(action="merchant.document_removed", actor=actor, obj=locked, data={"kind": kind})


# --- Review ------------------------------------------------------------------------


@transaction.atomic
def application_start_review(*, merchant: Merchant, actor) -> Merchant:
    """A reviewer takes a submitted application."""
    return merchant_transition(merchant, "start_review", actor=actor)


# Created by merchants migration 0003: contract numbers are "MC", the start date and this
# sequence's next value (8 digits), e.g. MC2026120700000042.
CONTRACT_NUMBER_SEQUENCE = "merchants_contract_number_seq"


def _unique_slug(merchant: Merchant) -> str:
    base = slugify(merchant.shop_name or merchant.company_name, allow_unicode=False)[:100] or "shop"
    candidate = base
    while Merchant.objects.filter(slug=candidate).exclude(pk=merchant.pk).exists():
        candidate = f"{base}-{secrets.token_hex(2)}"
    return candidate


@transaction.atomic
def application_approve(
    *,
    merchant: Merchant,
    actor,
    tier: Tier,
    reason: str = "",
    revenue_share_rate=None,
    franchise_fee=None,
    exclusive: bool = False,
    settlement_days: int | None = None,
    contract_years: int | None = None,
) -> Merchant:
    """Approve with a tier and offer the contract for the merchant to accept.

    The contract takes the requested categories and regions, T+`DEFAULT_SETTLEMENT_DAYS`,
    the tier's commission plan (ladder for strategic), and for joint operation the
    revenue-share rate (required), for franchise the yearly fee (required).
    """
    if merchant.cooperation_mode == CooperationMode.JOINT_OPERATION and not revenue_share_rate:
        raise MerchantError("revenue_share_rate_required", _("Joint operation needs a revenue-share rate."))
    if merchant.cooperation_mode == CooperationMode.FRANCHISE and not franchise_fee:
        raise MerchantError("franchise_fee_required", _("Franchise needs a yearly franchise fee."))
    if revenue_share_rate is not None and not 0 < revenue_share_rate < 1:
        raise MerchantError("invalid_revenue_share_rate", _("The revenue-share rate is a fraction between 0 and 1."))
    if tier.code == TierCode.STRATEGIC and (
        contract_years or tier.min_contract_years or settings.DEFAULT_CONTRACT_YEARS
    ) < (STRATEGIC_MIN_CONTRACT_YEARS):
        raise MerchantError(
            "strategic_contract_too_short",
            _("A strategic contract runs at least %(years)d years.") % {"years": STRATEGIC_MIN_CONTRACT_YEARS},
            {"min_years": STRATEGIC_MIN_CONTRACT_YEARS},
        )
    locked = merchant_transition(
        merchant,
        "approve",
        actor=actor,
        reason=reason,
        data={"tier": tier.code},
        tier=tier,
        decided_at=timezone.now(),
        slug=merchant.slug or _unique_slug(merchant),
    )

    years = contract_years or tier.min_contract_years or settings.DEFAULT_CONTRACT_YEARS
    start = timezone.localdate()
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28)
    # The new offer replaces the contract in force (at most one: a constraint says so).
    in_force = Contract.objects.select_for_update().filter(merchant=locked).exclude(status=ContractStatus.SUPERSEDED)
    for contract in in_force.order_by("pk"):
        transition(contract, "supersede", table=CONTRACT_TRANSITIONS, lock=False)
    Contract.objects.create(
        merchant=locked,
        # Unique by construction (marketplace.numbers), not by four random hex digits.
        number=f"MC{start:%Y%m%d}{sequence_next(CONTRACT_NUMBER_SEQUENCE):08d}",
        tier=tier,
        cooperation_mode=locked.cooperation_mode,
        category_ids=list(locked.requested_category_ids),
        sales_regions=list(locked.sales_regions),
        exclusive=exclusive,
        settlement_days=settlement_days or settings.DEFAULT_SETTLEMENT_DAYS,
        commission_plan=tier.commission_plan,
        ladder_steps=settings.DEFAULT_LADDER_STEPS if tier.commission_plan == CommissionPlan.LADDER else [],
        revenue_share_rate=revenue_share_rate if locked.cooperation_mode == CooperationMode.JOINT_OPERATION else None,
        franchise_fee=franchise_fee if locked.cooperation_mode == CooperationMode.FRANCHISE else None,
        start_date=start,
        end_date=end,
        offered_by=actor,
    )
    merchant_notify(locked, "approved")
    return locked


@transaction.atomic
def application_reject(*, merchant: Merchant, actor, reason: str) -> Merchant:
    """Refuse the application; the reason is shown to the applicant."""
    locked = merchant_transition(merchant, "reject", actor=actor, reason=reason, decided_at=timezone.now())
    merchant_notify(locked, "rejected")
    return locked


@transaction.atomic
def application_request_changes(*, merchant: Merchant, actor, reason: str) -> Merchant:
    """Send the application back to the applicant with what to change."""
    locked = merchant_transition(merchant, "request_changes", actor=actor, reason=reason)
    merchant_notify(locked, "changes_requested")
    return locked


# --- Contract and going live ------------------------------------------------------------


@transaction.atomic
def contract_accept(*, merchant: Merchant, actor) -> Merchant:
    """The merchant accepts the offered contract (approved → contract signed)."""
    locked = merchant_transition(merchant, "accept_contract", actor=actor)
    contract = Contract.objects.select_for_update().filter(merchant=locked, status=ContractStatus.OFFERED).first()
    if contract is None:
        raise MerchantConflict("no_contract_offered", _("There is no contract to accept."))
    transition(
        contract,
        "accept",
        table=CONTRACT_TRANSITIONS,
        lock=False,
        changes={"accepted_at": timezone.now(), "accepted_by": actor},
    )
    merchant_notify(locked, "contract_signed")
    return locked


@transaction.atomic
def merchant_go_live(*, merchant: Merchant, actor) -> Merchant:
    """Open the shop (deposit paid → live). `live_since` starts the launch policy clock."""
    locked = merchant_transition(merchant, "go_live", actor=actor, live_since=timezone.now())
    merchant_notify(locked, "live")
    return locked


@transaction.atomic
def merchant_suspend(*, merchant: Merchant, actor, reason: str) -> Merchant:
    """Staff take a live shop offline for a reason."""
    locked = merchant_transition(merchant, "suspend", actor=actor, reason=reason)
    merchant_notify(locked, "suspended")
    return locked


@transaction.atomic
def merchant_reinstate(*, merchant: Merchant, actor, reason: str) -> Merchant:
    """Staff put a suspended shop back online."""
    locked = merchant_transition(merchant, "reinstate", actor=actor, reason=reason)
    merchant_notify(locked, "reinstated")
    return locked


@transaction.atomic
def merchant_terminate(*, merchant: Merchant, actor, reason: str) -> Merchant:
    """End the cooperation; the deposit refund falls due 30 working days later."""
    locked = merchant_transition(
        merchant,
        "terminate",
        actor=actor,
        reason=reason,
        terminated_at=timezone.now(),
        deposit_refund_due_on=add_working_days(timezone.localdate(), settings.DEPOSIT_REFUND_WORKING_DAYS),
    )
    audit_record(
        action="merchant.deposit_refund_scheduled",
        actor=actor,
        obj=locked,
        data={"due_on": locked.deposit_refund_due_on.isoformat()},
    )
    merchant_notify(locked, "terminated")
    return locked


@transaction.atomic
def merchant_change_tier(*, merchant: Merchant, actor, tier: Tier, reason: str) -> Merchant:
    """Move an approved merchant to another tier; the required deposit follows the tier."""
    if not (reason or "").strip():
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    locked = merchant_lock(merchant)
    if locked.tier_id is None or locked.status == MerchantStatus.TERMINATED:
        raise MerchantInvalidTransition(
            message=_("Only an approved merchant can change tier."), extra={"status": locked.status}
        )
    if locked.tier_id == tier.pk:
        raise MerchantError("same_tier", _("The merchant is already in this tier."))
    previous = locked.tier
    locked.tier = tier
    locked.save(update_fields=["tier", "updated_at"])
    audit_record(
        action="merchant.tier_changed",
        actor=actor,
        obj=locked,
        reason=reason.strip(),
        data={"from": previous.code, "to": tier.code, "deposit_required": tier.deposit_amount},
    )
    merchant_notify(locked, "tier_changed")
    return locked


@transaction.atomic
def merchant_update_shop(*, merchant: Merchant, actor, shop_name: str, description: str, logo=None) -> Merchant:
    """Change the public shop page: name, description and (validated, resized) logo."""
    clean = clean_logo(logo) if logo is not None else None
    locked = merchant_lock(merchant)
    locked.shop_name = shop_name.strip()
    locked.description = description.strip()
    old_logo = locked.logo.name if clean and locked.logo else None
    if clean:
        locked.logo.save(f"{clean.sha256[:16]}.png", ContentFile(clean.content), save=False)
    locked.save()
    if old_logo:
        transaction.on_commit(partial(locked.logo.storage.delete, old_logo))
    audit_record(action="merchant.shop_updated", actor=actor, obj=locked, data={"logo_changed": bool(clean)})
    invalidate_all()  # the shop's name is on its products' cards and pages
    return locked
