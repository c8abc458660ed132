"""Incentive subsidies: programme rules, grant applications and their pools, and the
subsidy lines of the settlement run.

Guarantees:
- a programme's rule parameters are checked per kind (`programme_rules_clean`) by the admin
  form and by `programme_save`;
- a grant approval locks the programme row (then the application: always that order), so
  racing approvals serialise on the pool: it is never over-committed (a database constraint
  backs this), and an approval that does not fit is refused with 409
  `subsidy_pool_exhausted` with nothing written;
- an approved amount is what the rule computes from the application, capped per project and
  by the merchant's yearly cap;
- a tax rebate is applied for per ended tax year, once (unless refused), within the first
  `years` tax years after the merchant went live, and only when that year's revenue (from
  settlement data) reaches the lowest step: it is the local contribution × the rate of the
  highest step reached;
- the run (`subsidy_accrual_lines`, `grant_lines`) writes logistics accruals in SQL over the
  orders the statement settles, caps them in completion order, claws back the accruals of
  orders fully refunded after they were paid, and pays approved grants once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import ConflictError, DomainError
from marketplace.money import ZERO, quantize
from marketplace.transitions import transition
from merchants.documents import clean_document
from orders import settlement_source

from .. import selectors
from ..choices import ACCRUAL_KINDS, GRANT_KINDS, GrantDocumentKind, GrantStatus, LineKind, ProgrammeKind
from ..models import (
    GRANT_TRANSITIONS,
    GrantApplication,
    GrantDocument,
    StatementLine,
    SubsidyAccrual,
    SubsidyProgramme,
)
from ..periods import Period, local_midnight
from . import notices


class SubsidyError(DomainError):
    pass


class SubsidyConflict(ConflictError):
    pass


#: The most documents one application holds.
GRANT_DOCUMENTS_MAX = 10

# --- Programme rules ----------------------------------------------------------------------

# Each kind's parameters: name → (type, required). "rate": a fraction in (0, 1];
# "money": a positive amount; "codes": a non-empty list of carrier codes; "steps": a
# non-empty list of {"min_revenue", "rate"} (whole-volume steps, as the ladder's);
# "years": a whole number of years from 1 to 10.
RULE_PARAMETERS: dict[str, dict[str, str]] = {
    ProgrammeKind.LOGISTICS: {"carriers": "codes", "per_order": "money", "per_order_special": "money"},
    ProgrammeKind.BRAND_INCUBATION: {"max_per_project": "money"},
    ProgrammeKind.FIT_OUT: {"rate": "rate", "max_amount": "money"},
    ProgrammeKind.EQUIPMENT: {"min_rate": "rate", "max_rate": "rate"},
    ProgrammeKind.TRAINING: {"rate": "rate"},
    # Revenue steps (the lowest is the threshold) and the tax years after going live.
    ProgrammeKind.TAX_REBATE: {"steps": "steps", "years": "years"},
}


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool | float) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _clean_parameter(kind: str, value):
    """The normalised parameter, or raise ValueError with the message to show."""
    if kind == "codes":
        if not isinstance(value, list) or not value or not all(isinstance(c, str) and c.strip() for c in value):
            raise ValueError(_('Give a non-empty list of carrier codes, e.g. ["SF", "JD"].'))
        return sorted({c.strip().upper() for c in value})
    if kind == "steps":
        message = _(
            'Give a non-empty list of steps, e.g. [{"min_revenue": "5000000.00", "rate": "0.30"}], '
            "each threshold different."
        )
        if not isinstance(value, list) or not value or not all(isinstance(step, dict) for step in value):
            raise ValueError(message)
        steps = []
        for step in value:
            if set(step) != {"min_revenue", "rate"}:
                raise ValueError(message)
            steps.append(
                {
                    "min_revenue": _clean_parameter("money", step["min_revenue"]),
                    "rate": _clean_parameter("rate", step["rate"]),
                }
            )
        steps.sort(key=lambda step: Decimal(step["min_revenue"]))
        if len({step["min_revenue"] for step in steps}) != len(steps):
            raise ValueError(message)
        return steps
    if kind == "years":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            raise ValueError(_("A number of years is a whole number from 1 to 10, e.g. 3."))
        return value
    number = _decimal(value)
    if kind == "rate":
        if number is None or not (ZERO < number <= 1):
            raise ValueError(_('A rate is a fraction above 0 and at most 1, written as a string, e.g. "0.20".'))
        return str(number)
    if number is None or number <= 0:
        raise ValueError(_('An amount is a positive number of yuan written as a string, e.g. "500000.00".'))
    return str(quantize(number))


def programme_rules_clean(*, kind: str, rules) -> dict:
    """`rules` checked against `kind`'s parameters and normalised (amounts to the cent,
    codes sorted); raises SubsidyError `invalid_programme_rules` with `extra["fields"]`
    (parameter → message) listing every problem."""
    if kind not in RULE_PARAMETERS:
        raise SubsidyError("invalid_programme_kind", _("Choose a kind of programme."))
    if not isinstance(rules, dict):
        raise SubsidyError(
            "invalid_programme_rules", _("The rule parameters are a JSON object."), {"fields": {"rules": ""}}
        )
    expected = RULE_PARAMETERS[kind]
    errors: dict[str, str] = {}
    clean = {}
    for name in sorted(set(rules) - set(expected)):
        errors[name] = str(_("This programme kind has no such parameter."))
    for name, type_ in expected.items():
        if name not in rules:
            errors[name] = str(_("This parameter is required."))
            continue
        try:
            clean[name] = _clean_parameter(type_, rules[name])
        except ValueError as exc:
            errors[name] = str(exc.args[0])
    if kind == ProgrammeKind.EQUIPMENT and not errors and Decimal(clean["min_rate"]) > Decimal(clean["max_rate"]):
        errors["min_rate"] = str(_("The lowest rate must not be above the highest."))
    if errors:
        raise SubsidyError(
            "invalid_programme_rules", _("Some rule parameters are wrong or missing."), {"fields": errors}
        )
    return clean


def programme_check(programme: SubsidyProgramme) -> None:
    """Refuse a programme whose rules, caps or pool do not fit its kind (nothing saved)."""
    programme.rules = programme_rules_clean(kind=programme.kind, rules=programme.rules)
    if programme.kind in ACCRUAL_KINDS and not programme.merchant_year_cap:
        raise SubsidyError(
            "programme_cap_required",
            _("A per-order subsidy needs a cap per merchant per calendar year."),
            {"fields": {"merchant_year_cap": ""}},
        )
    if programme.budget is not None and programme.budget < programme.committed + programme.paid:
        raise SubsidyError(
            "programme_budget_below_committed",
            _("The budget cannot be below what the pool has already committed and paid (%(used)s).")
            % {"used": programme.committed + programme.paid},
            {"fields": {"budget": ""}},
        )


@transaction.atomic
def programme_save(*, programme: SubsidyProgramme, actor) -> SubsidyProgramme:
    """Create or change a programme after `programme_check`; the pool's committed and paid
    figures are never taken from the caller (only approvals and runs move them)."""
    if programme.pk:
        locked = SubsidyProgramme.objects.select_for_update().get(pk=programme.pk)
        programme.committed, programme.paid = locked.committed, locked.paid
    programme_check(programme)
    programme.save()
    audit_record(
        action="settlements.programme_saved",
        actor=actor,
        obj=programme,
        data={"kind": programme.kind, "rules": programme.rules, "budget": programme.budget},
    )
    return programme


def _programme_is_open(programme: SubsidyProgramme, day: datetime.date) -> bool:
    return (
        programme.is_active
        and programme.valid_from <= day
        and (programme.valid_until is None or day <= programme.valid_until)
    )


#: The programmes of domain.md "Incentive subsidies" (service-fee relief is the service
#: fees' own), as `programme_defaults_seed` creates them: code → fields.
DEFAULT_PROGRAMMES: dict[str, dict] = {
    "logistics": {
        "name": "物流补贴",
        "kind": ProgrammeKind.LOGISTICS,
        # Merchants name the carrier as they like: its code or its name.
        "rules": {
            "carriers": ["SF", "JDVA", "顺丰速运", "京东物流"],
            "per_order": "0.50",
            "per_order_special": "1.00",
        },
        "merchant_year_cap": Decimal("500000.00"),
    },
    "brand-incubation": {
        "name": "品牌孵化基金",
        "kind": ProgrammeKind.BRAND_INCUBATION,
        "rules": {"max_per_project": "500000.00"},
        "budget": Decimal("50000000.00"),
    },
    "fit-out": {
        "name": "装修补贴",
        "kind": ProgrammeKind.FIT_OUT,
        "rules": {"rate": "0.20", "max_amount": "1000000.00"},
    },
    "equipment": {
        "name": "设备补贴",
        "kind": ProgrammeKind.EQUIPMENT,
        "rules": {"min_rate": "0.10", "max_rate": "0.15"},
    },
    "training": {"name": "培训费报销", "kind": ProgrammeKind.TRAINING, "rules": {"rate": "0.80"}},
    "tax-rebate": {
        "name": "税收返还",
        "kind": ProgrammeKind.TAX_REBATE,
        "rules": {
            "steps": [
                {"min_revenue": "5000000.00", "rate": "0.30"},
                {"min_revenue": "10000000.00", "rate": "0.40"},
                {"min_revenue": "20000000.00", "rate": "0.50"},
            ],
            "years": 3,
        },
    },
}


@transaction.atomic
def programme_defaults_seed(*, valid_from: datetime.date, actor=None) -> list[SubsidyProgramme]:
    """Create the programmes of `DEFAULT_PROGRAMMES` that do not exist yet (by code), valid
    from `valid_from`; existing ones are left as operations set them."""
    created = []
    existing = set(SubsidyProgramme.objects.filter(code__in=list(DEFAULT_PROGRAMMES)).values_list("code", flat=True))
    for code, fields in DEFAULT_PROGRAMMES.items():
        if code in existing:
            continue
        programme = SubsidyProgramme(code=code, valid_from=valid_from, **{**fields, "rules": dict(fields["rules"])})
        created.append(programme_save(programme=programme, actor=actor))
    return created


# --- Grant applications -------------------------------------------------------------------


def _money_input(value, *, code: str, message, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise SubsidyError(code, message)
        return None
    number = _decimal(value)
    if number is None or number < 0 or number != quantize(number):
        raise SubsidyError(code, message)
    return number


@transaction.atomic
def grant_apply(
    *,
    merchant,
    programme: SubsidyProgramme,
    actor,
    project: str,
    description: str = "",
    invoiced_amount=None,
    requested_amount=None,
    tax_year=None,
    documents=(),
    certification=None,
    certification_region: str = "",
) -> GrantApplication:
    """A merchant applies to an open grant programme with its invoices/documents (at least
    one; each checked as merchants' documents are: PDF, PNG or JPEG by content, size limit,
    no decompression bomb). Every file is checked before anything is written.

    Brand incubation is for regionally certified brands: the brand's certificate
    (`certification`, a file checked as the documents are) and the region that issued it are
    required (`certification_required`, `certification_region_required`); other programmes
    ignore them.

    Tax rebate: `tax_year` (an ended calendar year) and its local contribution as
    `invoiced_amount`; refused, with nothing written, when the rule would refuse it
    (`tax_rebate_eligibility`) or the year already has an application not refused (409
    `tax_rebate_already_applied`; a constraint backs this against racing submissions)."""
    if programme.kind not in GRANT_KINDS:
        raise SubsidyError("programme_not_applicable", _("This programme is not applied for."))
    if not _programme_is_open(programme, timezone.localdate()):
        raise SubsidyConflict("programme_closed", _("This programme is not open for applications."))
    project = (project or "").strip()
    if not project:
        raise SubsidyError("project_required", _("Name the project."))
    percentage = programme.kind != ProgrammeKind.BRAND_INCUBATION
    tax = programme.kind == ProgrammeKind.TAX_REBATE
    invoiced_message = (
        _("Enter the local contribution of the tax year in yuan, e.g. 800000.00.")
        if tax
        else _("Enter the invoiced amount in yuan, e.g. 120000.00.")
    )
    invoiced = _money_input(
        invoiced_amount, code="invalid_invoiced_amount", message=invoiced_message, required=percentage
    )
    if percentage and not invoiced:
        raise SubsidyError("invalid_invoiced_amount", invoiced_message)
    year = revenue = None
    if tax:
        year = _tax_year_input(tax_year)
        revenue, _rate = tax_rebate_eligibility(programme=programme, merchant=merchant, tax_year=year)
        if (
            GrantApplication.objects.filter(programme=programme, merchant=merchant, tax_year=year)
            .exclude(status=GrantStatus.REFUSED)
            .exists()
        ):
            raise _already_applied(year)
    requested = _money_input(
        requested_amount,
        code="invalid_requested_amount",
        message=_("Enter the amount requested in yuan, e.g. 300000.00."),
        required=not percentage,
    )
    if not percentage and not requested:
        raise SubsidyError("invalid_requested_amount", _("Enter the amount requested in yuan, e.g. 300000.00."))
    documents = list(documents)
    if not documents:
        raise SubsidyError("documents_required", _("Attach the invoices or documents that support the application."))
    if len(documents) > GRANT_DOCUMENTS_MAX:
        raise SubsidyError(
            "too_many_documents",
            _("Attach at most %(max)d documents.") % {"max": GRANT_DOCUMENTS_MAX},
            {"max": GRANT_DOCUMENTS_MAX},
        )
    region = ""
    if programme.kind == ProgrammeKind.BRAND_INCUBATION:
        region = (certification_region or "").strip()
        if not region:
            raise SubsidyError(
                "certification_region_required", _("Name the region whose authority certified the brand.")
            )
        if len(region) > 100:
            raise SubsidyError("certification_region_too_long", _("Name the region in at most 100 characters."))
        if not certification:
            raise SubsidyError(
                "certification_required", _("Attach the brand's regional certification: brand incubation requires it.")
            )
    cleaned = [(clean_document(uploaded), uploaded, GrantDocumentKind.SUPPORTING) for uploaded in documents]
    if region:
        cleaned.append((clean_document(certification), certification, GrantDocumentKind.BRAND_CERTIFICATION))
    try:
        # A savepoint: a racing submission for the same tax year is a 409, not a broken
        # transaction.
        with transaction.atomic():
            application = GrantApplication.objects.create(
                programme=programme,
                merchant=merchant,
                project=project[:200],
                description=description or "",
                invoiced_amount=invoiced or ZERO,
                requested_amount=requested,
                tax_year=year,
                yearly_revenue=revenue,
                certification_region=region,
                submitted_by=actor,
            )
    except IntegrityError as exc:
        if year is None:
            raise
        raise _already_applied(year) from exc
    saved = []
    try:
        for clean, uploaded, kind in cleaned:
            document = GrantDocument(
                application=application,
                kind=kind,
                content_type=clean.content_type,
                size=clean.size,
                sha256=clean.sha256,
                original_name=(getattr(uploaded, "name", "") or "")[:255],
            )
            document.file.save("upload", ContentFile(clean.content), save=False)
            saved.append(document)
            document.save()
    except Exception:
        for document in saved:
            document.file.delete(save=False)
        raise
    audit_record(
        action="settlements.grant_applied",
        actor=actor,
        obj=application,
        data={
            "programme": programme.pk,
            "invoiced": invoiced,
            "requested": requested,
            "tax_year": year,
            "certification_region": region,
            "documents": len(saved),
        },
    )
    return application


def _already_applied(year: int) -> SubsidyConflict:
    return SubsidyConflict(
        "tax_rebate_already_applied",
        _("You have already applied for the tax year %(year)s.") % {"year": year},
        {"tax_year": year},
    )


def _tax_year_input(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if isinstance(value, bool | float) or not 2000 <= year <= 9999:
        raise SubsidyError("invalid_tax_year", _("Enter the tax year, e.g. 2025."))
    return year


def tax_rebate_eligibility(*, programme: SubsidyProgramme, merchant, tax_year: int) -> tuple[Decimal, Decimal]:
    """The tax rebate's rule for a merchant and tax year: (its yearly revenue from
    settlement data, the rate of the highest step that revenue reaches). Refuses a year
    that has not ended (400 `tax_year_not_ended`), a merchant not live (409
    `merchant_not_live`), a year before it went live (409 `tax_year_before_live`) or past
    its first `years` tax years (409 `tax_rebate_years_over`), and revenue below the lowest
    step (409 `tax_rebate_below_threshold`)."""
    if tax_year >= timezone.localdate().year:
        raise SubsidyError(
            "tax_year_not_ended",
            _("A tax rebate is applied for once the tax year has ended."),
            {"tax_year": tax_year},
        )
    if merchant.live_since is None:
        raise SubsidyConflict("merchant_not_live", _("The shop has not gone live yet."))
    first = timezone.localtime(merchant.live_since).year
    years = programme.rules["years"]
    if tax_year < first:
        raise SubsidyConflict(
            "tax_year_before_live",
            _("The shop went live in %(first)s, after the tax year %(year)s.") % {"first": first, "year": tax_year},
            {"first_year": first},
        )
    if tax_year >= first + years:
        raise SubsidyConflict(
            "tax_rebate_years_over",
            _("The tax rebate covers the first %(years)s tax years after going live (%(first)s–%(last)s).")
            % {"years": years, "first": first, "last": first + years - 1},
            {"first_year": first, "last_year": first + years - 1},
        )
    revenue = selectors.merchant_yearly_revenue(merchant.pk, tax_year)
    reached = [step for step in programme.rules["steps"] if revenue >= Decimal(step["min_revenue"])]
    if not reached:
        threshold = Decimal(programme.rules["steps"][0]["min_revenue"])
        raise SubsidyConflict(
            "tax_rebate_below_threshold",
            _("The revenue of %(year)s (%(revenue)s) is below the programme's threshold of %(threshold)s.")
            % {"year": tax_year, "revenue": revenue, "threshold": threshold},
            {"revenue": str(revenue), "threshold": str(threshold)},
        )
    return revenue, Decimal(reached[-1]["rate"])


def grant_ceiling(
    *, programme: SubsidyProgramme, application: GrantApplication, rate=None
) -> tuple[Decimal, Decimal | None]:
    """What the rule gives the application before the merchant's yearly cap and the pool:
    (amount, rate used). Fit-out: invoiced × rate, at most `max_amount`; equipment: invoiced
    × the rate staff choose within [min_rate, max_rate]; training: invoiced × rate; brand
    incubation: the amount requested, at most `max_per_project`; tax rebate: the local
    contribution × the step its tax year's revenue reaches (`tax_rebate_eligibility`, read
    again: refusals as there; `application.yearly_revenue` is set to the revenue read)."""
    rules = programme.rules
    if programme.kind == ProgrammeKind.TAX_REBATE:
        revenue, chosen = tax_rebate_eligibility(
            programme=programme, merchant=application.merchant, tax_year=application.tax_year
        )
        application.yearly_revenue = revenue
        return quantize(application.invoiced_amount * chosen), chosen
    if programme.kind == ProgrammeKind.BRAND_INCUBATION:
        return min(application.requested_amount or ZERO, Decimal(rules["max_per_project"])), None
    if programme.kind == ProgrammeKind.EQUIPMENT:
        low, high = Decimal(rules["min_rate"]), Decimal(rules["max_rate"])
        chosen = _decimal(rate) if rate not in (None, "") else high
        if chosen is None or not (low <= chosen <= high):
            raise SubsidyError(
                "invalid_rate",
                _("Choose a rate between %(low)s and %(high)s.") % {"low": low, "high": high},
                {"min_rate": str(low), "max_rate": str(high)},
            )
        return quantize(application.invoiced_amount * chosen), chosen
    chosen = Decimal(rules["rate"])
    amount = quantize(application.invoiced_amount * chosen)
    if "max_amount" in rules:
        amount = min(amount, Decimal(rules["max_amount"]))
    return amount, chosen


def _granted_this_year(programme: SubsidyProgramme, merchant_id: int, year: int) -> Decimal:
    return (
        GrantApplication.objects.filter(
            programme=programme,
            merchant_id=merchant_id,
            status__in=[GrantStatus.APPROVED, GrantStatus.PAID],
            decided_at__year=year,
        ).aggregate(total=Sum("approved_amount"))["total"]
        or ZERO
    )


@transaction.atomic
def grant_approve(*, application: GrantApplication, actor, amount=None, rate=None) -> GrantApplication:
    """Staff approve a submitted application: the amount is what the rule computes
    (`grant_ceiling`), capped by the merchant's yearly cap left; staff may approve less
    (`amount`), never more (400 `grant_amount_above_rule`). The amount is reserved from the
    pool (`committed`) in the same transaction.

    Locks the programme row, then the application (the fixed order of every grant service),
    so concurrent approvals of one pool serialise: the one that no longer fits gets 409
    `subsidy_pool_exhausted` and nothing is written."""
    programme = SubsidyProgramme.objects.select_for_update().get(pk=application.programme_id)
    locked = GrantApplication.objects.select_for_update().get(pk=application.pk)
    GRANT_TRANSITIONS.check(locked, "approve")
    ceiling, used_rate = grant_ceiling(programme=programme, application=locked, rate=rate)
    now = timezone.now()
    if programme.merchant_year_cap is not None:
        left = programme.merchant_year_cap - _granted_this_year(
            programme, locked.merchant_id, timezone.localtime(now).year
        )
        ceiling = max(ZERO, min(ceiling, left))
    if amount not in (None, ""):
        wanted = _decimal(amount)
        if wanted is None or wanted <= 0 or wanted != quantize(wanted):
            raise SubsidyError("invalid_amount", _("Enter an amount in yuan, e.g. 120000.00."))
        if wanted > ceiling:
            raise SubsidyError(
                "grant_amount_above_rule",
                _("The rule allows at most %(ceiling)s for this application.") % {"ceiling": ceiling},
                {"ceiling": str(ceiling)},
            )
        ceiling = wanted
    if ceiling <= 0:
        raise SubsidyConflict(
            "grant_nothing_to_approve",
            _("The rule leaves nothing to approve (the merchant's yearly cap is reached)."),
            {"ceiling": "0.00"},
        )
    remaining = programme.remaining
    if remaining is not None and ceiling > remaining:
        raise SubsidyConflict(
            "subsidy_pool_exhausted",
            _("The programme's pool has %(remaining)s left, less than %(amount)s.")
            % {"remaining": remaining, "amount": ceiling},
            {"remaining": str(remaining), "amount": str(ceiling)},
        )
    SubsidyProgramme.objects.filter(pk=programme.pk).update(committed=F("committed") + ceiling)
    approved = transition(
        locked,
        "approve",
        table=GRANT_TRANSITIONS,
        lock=False,
        changes={
            "approved_amount": ceiling,
            "rate": used_rate,
            "yearly_revenue": locked.yearly_revenue,
            "decided_by": actor,
            "decided_at": now,
        },
    )
    audit_record(
        action="settlements.grant_approved",
        actor=actor,
        obj=approved,
        data={"amount": ceiling, "rate": used_rate, "programme": programme.pk},
    )
    notices.grant_decided(approved, programme_name=programme.name, approved=True)
    return approved


@transaction.atomic
def grant_refuse(*, application: GrantApplication, actor, reason: str) -> GrantApplication:
    """Staff refuse a submitted application with a reason (shown to the merchant)."""
    reason = (reason or "").strip()
    if not reason:
        raise SubsidyError("reason_required", _("Give the reason for the refusal."))
    refused = transition(
        application,
        "refuse",
        table=GRANT_TRANSITIONS,
        changes={"refusal_reason": reason[:300], "decided_by": actor, "decided_at": timezone.now()},
    )
    audit_record(action="settlements.grant_refused", actor=actor, obj=refused, reason=reason)
    notices.grant_decided(refused, programme_name=refused.programme.name, approved=False)
    return refused


# --- The settlement run's lines -----------------------------------------------------------


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in ids)


def _pairs(statements: dict[int, int]) -> str:
    return ",".join(f"({int(m)},{int(s)})" for m, s in statements.items())


def _logistics_programmes(period: Period) -> list[SubsidyProgramme]:
    """Active logistics programmes started by the period's end. An order settled now may
    have shipped months ago (caught up), so the SQL checks each order's shipping date
    against the programme's validity rather than the period."""
    return list(
        SubsidyProgramme.objects.filter(
            kind=ProgrammeKind.LOGISTICS, is_active=True, valid_from__lte=period.last_day
        ).order_by("pk")
    )


# Accruals of one programme for the orders the batch's new statements settle (found through
# the settled orders' statement index). The order flags (`{source}`, orders' SQL) are the
# order's own columns (carrier code written at shipping, fresh/cross-border at placement): no
# shipment line or order line is read. Only `fully_refunded` is a correlated subquery, computed
# in the select list of `flags`, after the join to the few settled orders.
# The running sum is in completion order (then order id) per merchant and year, starting
# from what the merchant's earlier accruals of the year were paid (clawed-back ones
# excluded), so the cap is never exceeded and the order that crosses it is cut to what is left.
_ACCRUE = """
    WITH settled AS MATERIALIZED (
        SELECT so.merchant_order_id AS id, so.statement_id AS sid FROM settlements_settledorder so
        WHERE so.statement_id IN ({sids})
          AND NOT EXISTS (
              SELECT 1 FROM settlements_subsidyaccrual x
              WHERE x.merchant_order_id = so.merchant_order_id AND x.programme_id = %(programme)s
          )
    ),
    flags AS MATERIALIZED (
        SELECT settled.sid, src.order_id, src.order_merchant AS merchant_id, src.completed, src.shipped,
               src.designated, src.special, src.fully_refunded
        FROM settled JOIN ({source}) src ON src.order_id = settled.id
    ),
    cand AS (
        SELECT sid, order_id, merchant_id, completed,
               CAST(EXTRACT(YEAR FROM completed AT TIME ZONE %(tz)s) AS integer) AS year,
               CASE WHEN special THEN %(special)s ELSE %(plain)s END AS due
        FROM flags
        WHERE designated AND NOT fully_refunded
          AND (shipped AT TIME ZONE %(tz)s)::date >= %(valid_from)s
          AND (%(valid_until)s::date IS NULL OR (shipped AT TIME ZONE %(tz)s)::date <= %(valid_until)s)
    ),
    before AS (
        SELECT c.merchant_id, c.year, COALESCE(SUM(a.amount), 0) AS paid
        FROM (SELECT DISTINCT merchant_id, year FROM cand) c
        LEFT JOIN settlements_subsidyaccrual a
          ON a.merchant_id = c.merchant_id AND a.programme_id = %(programme)s AND a.year = c.year
         AND a.clawed_back_in_id IS NULL
        GROUP BY c.merchant_id, c.year
    ),
    running AS (
        SELECT cand.*, b.paid + SUM(cand.due) OVER (
                   PARTITION BY cand.merchant_id, cand.year ORDER BY cand.completed, cand.order_id
                   ROWS UNBOUNDED PRECEDING
               ) - cand.due AS used
        FROM cand JOIN before b ON b.merchant_id = cand.merchant_id AND b.year = cand.year
    )
    INSERT INTO settlements_subsidyaccrual
        (programme_id, merchant_id, merchant_order_id, year, completed_at, due, cut, amount, statement_id)
    SELECT %(programme)s, merchant_id, order_id, year, completed, due,
           due - LEAST(due, GREATEST(%(cap)s - used, 0)), LEAST(due, GREATEST(%(cap)s - used, 0)), sid
    FROM running
"""

# Accruals paid in an earlier statement whose order had a refund completed in this period and
# is now fully refunded (refunds completed before the period's end): clawed back once, in the
# merchant's new statement. Only this period's refunded orders are looked at: an earlier
# full refund was seen by an earlier run (before the accrual, which it then prevented, or
# after, which clawed it back then).
_CLAW_BACK = """
    WITH refunded AS MATERIALIZED (SELECT DISTINCT r.merchant_order_id FROM ({refunds}) r),
    paid AS MATERIALIZED (
        SELECT a.id, a.merchant_order_id, s.column2 AS sid
        FROM settlements_subsidyaccrual a JOIN (VALUES {pairs}) s ON s.column1 = a.merchant_id
        WHERE a.merchant_order_id IN (SELECT merchant_order_id FROM refunded)
          AND a.clawed_back_in_id IS NULL AND a.amount > 0 AND a.statement_id <> s.column2
    ),
    flags AS MATERIALIZED (
        SELECT paid.id, paid.sid, src.fully_refunded FROM paid JOIN ({source}) src ON src.order_id = paid.merchant_order_id
    )
    UPDATE settlements_subsidyaccrual a SET clawed_back_in_id = flags.sid
    FROM flags WHERE a.id = flags.id AND flags.fully_refunded
"""


def _named(sql: str, params, prefix: str) -> tuple[str, dict]:
    """Orders' compiled SQL with its positional placeholders named, to sit in a query with
    named parameters."""
    named = {f"{prefix}{i}": value for i, value in enumerate(params)}
    return sql % tuple(f"%({key})s" for key in named), named


def subsidy_accrual_lines(statements: dict[int, int], period: str) -> list[StatementLine]:
    """The logistics-subsidy and clawback lines of the batch's new statements (merchant id →
    statement id), after their orders and refunds are settled.

    Writes the accruals of every logistics programme for the orders these statements settle
    (designated carrier, not fully refunded by the period's end, shipped while the
    programme was valid), capped per merchant and year in completion order, and claws back
    earlier-paid accruals of orders fully refunded this period. All in SQL: the cost follows
    the statements' orders and the period's refunds. Idempotent with the run: a statement is
    created once, and each order accrues once per programme (unique key)."""
    if not statements:
        return []
    parsed = Period.parse(period)
    sids, tz = _in(statements.values()), settings.TIME_ZONE
    with connection.cursor() as cursor:
        # A correlated subquery (the refund sums) can make the planner's estimate high enough to JIT-compile
        # the statement, which cost seconds for a query that runs in a few hundred ms.
        cursor.execute("SET LOCAL jit = off")
        for programme in _logistics_programmes(parsed):
            source, named = _named(
                *settlement_source.subsidy_orders_sql(carriers=programme.rules["carriers"], refunds_before=parsed.end),
                "s",
            )
            cursor.execute(
                _ACCRUE.format(source=source, sids=sids),
                {
                    **named,
                    "tz": tz,
                    "programme": programme.pk,
                    "plain": Decimal(programme.rules["per_order"]),
                    "special": Decimal(programme.rules["per_order_special"]),
                    "cap": programme.merchant_year_cap,
                    "valid_from": programme.valid_from,
                    "valid_until": programme.valid_until,
                },
            )
        source, source_params = settlement_source.subsidy_orders_sql(carriers=[], refunds_before=parsed.end)
        refunds, refund_params = (
            settlement_source.merchant_order_refunds_between(local_midnight(parsed.first_day), parsed.end)
            .values("merchant_order_id")
            .query.sql_with_params()
        )
        cursor.execute(
            _CLAW_BACK.format(refunds=refunds, pairs=_pairs(statements), source=source),
            [*refund_params, *source_params],
        )
    lines = []
    sid_set = set(statements.values())
    for sid, total, count in (
        SubsidyAccrual.objects.filter(statement_id__in=sid_set)
        .values("statement_id")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .values_list("statement_id", "total", "count")
    ):
        lines.append(StatementLine(statement_id=sid, kind=LineKind.LOGISTICS_SUBSIDY, amount=total, count=count))
    for sid, total, count in (
        SubsidyAccrual.objects.filter(clawed_back_in_id__in=sid_set)
        .values("clawed_back_in_id")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .values_list("clawed_back_in_id", "total", "count")
    ):
        lines.append(
            StatementLine(statement_id=sid, kind=LineKind.LOGISTICS_SUBSIDY_CLAWBACK, amount=-total, count=count)
        )
    return lines


def subsidy_lines(statements: dict[int, int], period: str) -> list[StatementLine]:
    """The subsidy lines of the batch's new statements: logistics accruals and clawbacks,
    and approved grants (the run's one call into this module; inside its transaction)."""
    return [*subsidy_accrual_lines(statements, period), *grant_lines(statements, period)]


def grant_lines(statements: dict[int, int], period: str) -> list[StatementLine]:
    """Approved grants not paid yet of the batch's merchants, decided before the period's
    end: attached to the merchant's new statement, marked paid, moved in their programme's
    pool from committed to paid (programme rows locked in pk order), one line per statement."""
    if not statements:
        return []
    end = Period.parse(period).end
    due = list(
        GrantApplication.objects.filter(
            status=GrantStatus.APPROVED, statement__isnull=True, merchant_id__in=list(statements), decided_at__lt=end
        ).order_by("pk")
    )
    if not due:
        return []
    by_programme: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_statement: dict[int, list[GrantApplication]] = defaultdict(list)
    for grant in due:
        by_programme[grant.programme_id] += grant.approved_amount
        by_statement[statements[grant.merchant_id]].append(grant)
    list(SubsidyProgramme.objects.select_for_update().filter(pk__in=list(by_programme)).order_by("pk"))
    for programme_id, total in sorted(by_programme.items()):
        SubsidyProgramme.objects.filter(pk=programme_id).update(
            committed=F("committed") - total, paid=F("paid") + total
        )
    lines = []
    for sid, grants in by_statement.items():
        # Few rows (applications, not orders): each moves by its transition, locked in pk order.
        for grant in grants:
            transition(grant, "pay", table=GRANT_TRANSITIONS, changes={"statement_id": sid})
        lines.append(
            StatementLine(
                statement_id=sid,
                kind=LineKind.GRANT_SUBSIDY,
                amount=sum((g.approved_amount for g in grants), ZERO),
                count=len(grants),
            )
        )
    return lines
