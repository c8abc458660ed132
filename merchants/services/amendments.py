"""Contract amendments: staff propose new terms, the merchant accepts or declines them.

Guarantees:
- An amendment changes only the terms it names (category scope, sales regions, settlement
  cycle, ladder steps, tier, end date); the others stay. At most one proposal per contract
  waits for the merchant (contract row lock, and a database constraint behind it).
- Accepting applies every term at once in one transaction: the old terms are kept as a
  `ContractVersion` (append-only) and the contract's `version` moves on, so what applied
  before stays readable. A tier change moves the contract's commission plan (ladder steps
  follow: the defaults for a ladder plan without steps of its own, none for a standard
  plan) and the merchant's tier, which the required deposit follows.
- A strategic contract runs at least `STRATEGIC_MIN_CONTRACT_YEARS` years, checked on the
  proposal and again on acceptance (`strategic_contract_too_short`); the application's
  approval checks it too (services.applications).
- Locks are taken merchant, contract, amendment: the order of every writer of the merchant.
  Decisions move the amendment through `AMENDMENT_TRANSITIONS`: of two concurrent
  decisions one wins, the other is refused (`invalid_transition`, 409).
- `contract_scope_set` moves the current contract's category scope when staff edit the
  merchant's categories, so the portal never shows a stale scope.
- Every proposal, decision and scope change is audited on the merchant; nothing is
  written when a check fails.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.regions import Region
from marketplace.transitions import transition

from ..choices import (
    STRATEGIC_MIN_CONTRACT_YEARS,
    AmendmentStatus,
    CommissionPlan,
    ContractStatus,
    TierCode,
)
from ..errors import MerchantConflict, MerchantError
from ..models import AMENDMENT_TRANSITIONS, Contract, ContractAmendment, ContractVersion, Merchant, Tier
from .applications import merchant_lock, merchant_notify

#: The terms an amendment may change, in the order the pages show them.
AMENDMENT_TERMS = ("category_ids", "sales_regions", "settlement_days", "ladder_steps", "tier", "end_date")


def years_later(start: datetime.date, years: int) -> datetime.date:
    """The same day `years` later (28 February for a 29 February start)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def check_contract_term(*, tier: Tier, start: datetime.date, end: datetime.date) -> None:
    """Refuse a strategic contract shorter than the minimum (`strategic_contract_too_short`)."""
    if tier.code == TierCode.STRATEGIC and end < years_later(start, STRATEGIC_MIN_CONTRACT_YEARS):
        raise MerchantError(
            "strategic_contract_too_short",
            _("A strategic contract runs at least %(years)d years.") % {"years": STRATEGIC_MIN_CONTRACT_YEARS},
            {"min_years": STRATEGIC_MIN_CONTRACT_YEARS, "end_date": end.isoformat()},
        )


def contract_terms(contract: Contract) -> dict:
    """The terms an amendment can change, and the plan they imply, as JSON (for versions and audit)."""
    return {
        "tier": contract.tier.code,
        "commission_plan": contract.commission_plan,
        "category_ids": list(contract.category_ids),
        "sales_regions": list(contract.sales_regions),
        "settlement_days": contract.settlement_days,
        "ladder_steps": list(contract.ladder_steps),
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
    }


def _clean_ladder(steps) -> list[dict]:
    """[{"min_net_sales": "…", "points": "…"}] with amounts ≥ 0 rising strictly and points > 0."""
    error = MerchantError(
        "invalid_ladder_steps",
        _("Each ladder step needs a minimum of monthly net sales and the points it takes off; minimums must rise."),
    )
    if not isinstance(steps, list) or not steps:
        raise error
    cleaned, last = [], None
    for step in steps:
        try:
            minimum = Decimal(str(step["min_net_sales"])).quantize(Decimal("0.01"))
            points = Decimal(str(step["points"])).normalize()
        except (KeyError, TypeError, InvalidOperation):
            raise error from None
        if minimum < 0 or points <= 0 or points >= 100 or (last is not None and minimum <= last):
            raise error
        last = minimum
        cleaned.append({"min_net_sales": f"{minimum:.2f}", "points": f"{points:f}"})
    return cleaned


def _clean_terms(contract: Contract, terms: dict) -> dict:
    unknown = set(terms) - set(AMENDMENT_TERMS)
    if unknown:
        raise MerchantError("unknown_fields", _("Unknown fields."), {"fields": sorted(unknown)})
    cleaned = {k: v for k, v in terms.items() if v is not None}
    errors: dict[str, list[str]] = {}
    if "category_ids" in cleaned:
        try:
            cleaned["category_ids"] = sorted({int(c) for c in cleaned["category_ids"]})
        except (TypeError, ValueError):
            errors["category_ids"] = [str(_("Categories must be given by their ids."))]
    if "sales_regions" in cleaned:
        regions = list(dict.fromkeys(cleaned["sales_regions"]))
        bad = [r for r in regions if r not in Region.values]
        if bad or not regions:
            errors["sales_regions"] = [str(_("Choose at least one known region."))]
        cleaned["sales_regions"] = regions
    if "settlement_days" in cleaned:
        days = cleaned["settlement_days"]
        if not isinstance(days, int) or not 1 <= days <= 90:
            errors["settlement_days"] = [str(_("The settlement cycle is 1 to 90 days."))]
    if "tier" in cleaned:
        if not isinstance(cleaned["tier"], Tier):
            errors["tier"] = [str(_("Choose a tier."))]
        elif cleaned["tier"].pk == contract.tier_id:
            cleaned.pop("tier")  # not a change
    if "end_date" in cleaned and cleaned["end_date"] <= contract.start_date:
        errors["end_date"] = [str(_("The end date comes after the start date."))]
    if errors:
        raise MerchantError("invalid_amendment", _("Some fields are not valid."), {"fields": errors})
    if "ladder_steps" in cleaned:
        cleaned["ladder_steps"] = _clean_ladder(cleaned["ladder_steps"])
    if not cleaned:
        raise MerchantError("amendment_empty", _("Change at least one term."))
    plan = cleaned["tier"].commission_plan if "tier" in cleaned else contract.commission_plan
    if "ladder_steps" in cleaned and plan != CommissionPlan.LADDER:
        raise MerchantError("ladder_not_applicable", _("Ladder steps apply only to a ladder-commission contract."))
    check_contract_term(
        tier=cleaned.get("tier", contract.tier),
        start=contract.start_date,
        end=cleaned.get("end_date", contract.end_date),
    )
    return cleaned


def _lock_contract(merchant: Merchant, contract: Contract) -> Contract:
    locked = (
        Contract.objects.select_for_update(of=("self",)).select_related("tier").get(pk=contract.pk, merchant=merchant)
    )
    if locked.status != ContractStatus.ACCEPTED:
        raise MerchantConflict(
            "contract_not_in_force",
            _("Only a contract the merchant has accepted can be amended."),
            {"status": locked.status},
        )
    return locked


@transaction.atomic
def amendment_propose(*, contract: Contract, actor, reason: str, **terms) -> ContractAmendment:
    """Staff propose new terms for an accepted contract; the merchant decides in the portal.

    `terms` are some of `AMENDMENT_TERMS` (None keeps the contract's). Refused: no change
    (`amendment_empty`), invalid terms (`invalid_amendment`, `invalid_ladder_steps`,
    `ladder_not_applicable`, `strategic_contract_too_short`), no reason
    (`reason_required`), a contract not in force (`contract_not_in_force`), another proposal
    waiting (`amendment_pending`).
    """
    reason = (reason or "").strip()
    if not reason:
        raise MerchantError("reason_required", _("Give a reason: the merchant will see it."))
    merchant = merchant_lock(contract.merchant)
    locked = _lock_contract(merchant, contract)
    cleaned = _clean_terms(locked, terms)
    if ContractAmendment.objects.filter(contract=locked, status=AmendmentStatus.PROPOSED).exists():
        raise MerchantConflict(
            "amendment_pending", _("An amendment of this contract is already waiting for the merchant.")
        )
    try:
        with transaction.atomic():
            amendment = ContractAmendment.objects.create(
                merchant=merchant, contract=locked, reason=reason, proposed_by=actor, **cleaned
            )
    except IntegrityError as exc:  # the constraint behind the lock
        raise MerchantConflict(
            "amendment_pending", _("An amendment of this contract is already waiting for the merchant.")
        ) from exc
    audit_record(
        action="merchant.amendment_proposed",
        actor=actor,
        obj=merchant,
        reason=reason,
        data={"amendment": amendment.pk, "contract": locked.number, "terms": amendment_changes(amendment)},
    )
    merchant_notify(merchant, "amendment_proposed")
    return amendment


def amendment_changes(amendment: ContractAmendment) -> dict:
    """The terms the amendment changes, as JSON."""
    changes = {}
    for name in AMENDMENT_TERMS:
        value = getattr(amendment, name)
        if value is None:
            continue
        if name == "tier":
            value = value.code
        elif name == "end_date":
            value = value.isoformat()
        changes[name] = value
    return changes


def _lock_proposed(amendment: ContractAmendment) -> tuple[Merchant, Contract, ContractAmendment]:
    # Merchant, contract, amendment: the order of every writer of the merchant.
    merchant = merchant_lock(Merchant(pk=amendment.merchant_id))
    contract = Contract.objects.select_for_update(of=("self",)).select_related("tier").get(pk=amendment.contract_id)
    locked = ContractAmendment.objects.select_for_update(of=("self",)).select_related("tier").get(pk=amendment.pk)
    return merchant, contract, locked


def _record_version(contract: Contract, amendment: ContractAmendment | None) -> None:
    ContractVersion.objects.create(
        contract=contract, version=contract.version, terms=contract_terms(contract), amendment=amendment
    )


@transaction.atomic
def amendment_accept(*, amendment: ContractAmendment, actor) -> Contract:
    """The merchant accepts: every term applies at once and the old terms become a version.

    Refused: decided already (`invalid_transition`), the contract no longer in force
    (`contract_not_in_force`), a term the contract no longer allows
    (`strategic_contract_too_short`).
    """
    merchant, contract, locked = _lock_proposed(amendment)
    AMENDMENT_TRANSITIONS.check(locked, "accept")
    if contract.status != ContractStatus.ACCEPTED:
        raise MerchantConflict(
            "contract_not_in_force",
            _("Only a contract the merchant has accepted can be amended."),
            {"status": contract.status},
        )
    tier = locked.tier or contract.tier
    check_contract_term(tier=tier, start=contract.start_date, end=locked.end_date or contract.end_date)
    before = contract_terms(contract)
    _record_version(contract, locked)
    for name in ("category_ids", "sales_regions", "settlement_days", "end_date"):
        value = getattr(locked, name)
        if value is not None:
            setattr(contract, name, value)
    if locked.tier is not None:
        contract.tier = locked.tier
        contract.commission_plan = locked.tier.commission_plan
        if contract.commission_plan == CommissionPlan.STANDARD:
            contract.ladder_steps = []
        elif not contract.ladder_steps:
            contract.ladder_steps = settings.DEFAULT_LADDER_STEPS
        merchant.tier = locked.tier  # the required deposit follows the merchant's tier
        merchant.save(update_fields=["tier", "updated_at"])
    if locked.ladder_steps is not None:
        contract.ladder_steps = locked.ladder_steps
    contract.version += 1
    contract.save()

    def record(accepted: ContractAmendment, _previous: str) -> None:
        audit_record(
            action="merchant.amendment_accepted",
            actor=actor,
            obj=merchant,
            data={
                "amendment": accepted.pk,
                "contract": contract.number,
                "version": contract.version,
                "before": before,
                "after": contract_terms(contract),
            },
        )

    transition(
        locked,
        "accept",
        table=AMENDMENT_TRANSITIONS,
        lock=False,
        changes={"decided_by": actor, "decided_at": timezone.now()},
        record=record,
    )
    return contract


@transaction.atomic
def amendment_decline(*, amendment: ContractAmendment, actor, reason: str = "") -> ContractAmendment:
    """The merchant declines: the contract keeps its terms."""
    merchant, _contract, locked = _lock_proposed(amendment)
    reason = (reason or "").strip()

    def record(declined: ContractAmendment, _previous: str) -> None:
        audit_record(
            action="merchant.amendment_declined",
            actor=actor,
            obj=merchant,
            reason=reason,
            data={"amendment": declined.pk},
        )

    return transition(
        locked,
        "decline",
        table=AMENDMENT_TRANSITIONS,
        lock=False,
        changes={"decided_by": actor, "decided_at": timezone.now(), "decline_reason": reason},
        record=record,
    )


@transaction.atomic
def contract_scope_set(*, merchant: Merchant, actor, category_ids) -> Contract | None:
    """Make the current contract's category scope `category_ids` (staff edited the merchant's
    categories); the old scope is kept as a version. None when there is no contract."""
    wanted = sorted({int(c) for c in category_ids})
    locked_merchant = merchant_lock(merchant)
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("tier")
        .filter(merchant=locked_merchant)
        .exclude(status=ContractStatus.SUPERSEDED)
        .order_by("-offered_at", "-id")
        .first()
    )
    if contract is None or sorted(contract.category_ids) == wanted:
        return contract
    previous = list(contract.category_ids)
    _record_version(contract, None)
    contract.category_ids = wanted
    contract.version += 1
    contract.save(update_fields=["category_ids", "version"])
    audit_record(
        action="merchant.contract_scope_changed",
        actor=actor,
        obj=locked_merchant,
        data={"contract": contract.number, "from": previous, "to": wanted, "version": contract.version},
    )
    return contract
