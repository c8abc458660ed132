"""The yearly renewal (issue #15, domain.md "Merchants"): contracts ending within
`RENEWAL_NOTICE_DAYS` are judged on the merchant's last 12 months.

- GMV growth = (GMV of the 365 days before the evaluation − GMV of the 365 days before
  those) / the earlier GMV, in % rounded to 0.01 (GMV: what buyers paid for orders paid in
  the period, cancelled ones excluded); no earlier GMV: growth unknown;
- satisfaction = the average review of the last 365 days, rounded to 0.01; none: unknown.

Growth ≥ 15 % and satisfaction ≥ 4.8 renew at once: the contract is extended by its term
through `merchants.services.contract_extend`. Anything else (an unknown figure included)
waits for staff in the renewal queue, ranked weakest first by the latest credit score, who
renew (the same extension) or not (the contract ends at its end date: `renewals_end_due`
terminates the merchant the day after). Every decision is recorded on the case with who,
when and why, and audited.

Guarantees: one case per contract and end date (unique): the yearly job, a rerun and the
staff action never judge a term twice; each contract in its own transaction (`run_each`).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.jobs import JobRun, run_each
from marketplace.money import quantize
from marketplace.transitions import transition
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from orders.selectors.quality import merchant_gmv, merchant_review_figures

from ..choices_quality import RenewalStatus
from ..defaults_quality import RENEWAL_MIN_GMV_GROWTH_PCT, RENEWAL_MIN_SATISFACTION, RENEWAL_NOTICE_DAYS
from ..errors_quality import QualityError
from ..models import RENEWAL_TRANSITIONS, CreditRating, QuarterlyEvaluation, RenewalCase

YEAR = datetime.timedelta(days=365)


def renewal_qualifies(*, gmv_growth, satisfaction) -> bool:
    """The automatic renewal rule: growth ≥ 15.00 % and satisfaction ≥ 4.80 (both known)."""
    return (
        gmv_growth is not None
        and satisfaction is not None
        and gmv_growth >= RENEWAL_MIN_GMV_GROWTH_PCT
        and satisfaction >= RENEWAL_MIN_SATISFACTION
    )


def _platform_text(message: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(message)


def renewal_evaluate(
    *, contract_id: int, now: datetime.datetime | None = None, days: int = RENEWAL_NOTICE_DAYS
) -> bool:
    """Judge the contract `contract_id`'s current term when it ends within
    `days` of `now` (module docstring); True when a case was written, False
    when this term has one already or does not end soon. Runs in the caller's transaction; an
    automatic renewal extends the contract (locked) in it."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    contract = merchant_selectors.contract_get(contract_id)
    if contract is None or not today <= contract.end_date <= today + datetime.timedelta(days=days):
        return False  # gone, or not ending soon: an extended term is judged when its end comes near
    if RenewalCase.objects.filter(contract_id=contract_id, contract_end_date=contract.end_date).exists():
        return False
    merchant_id = contract.merchant_id
    current = merchant_gmv(merchant_id=merchant_id, paid_from=now - YEAR, paid_until=now)
    previous = merchant_gmv(merchant_id=merchant_id, paid_from=now - 2 * YEAR, paid_until=now - YEAR)
    growth = quantize((current - previous) * 100 / previous) if previous else None
    _count, average = merchant_review_figures(merchant_id=merchant_id, created_from=now - YEAR, created_until=now)
    satisfaction = quantize(average) if average is not None else None
    latest = CreditRating.objects.filter(merchant_id=merchant_id).order_by("-rated_on").first()
    quarters = list(
        QuarterlyEvaluation.objects.filter(merchant_id=merchant_id)
        .order_by("-quarter")
        .values_list("quarter", "score")[:4]
    )
    automatic = renewal_qualifies(gmv_growth=growth, satisfaction=satisfaction)
    try:
        with transaction.atomic():
            case = RenewalCase.objects.create(
                merchant_id=merchant_id,
                contract_id=contract_id,
                contract_end_date=contract.end_date,
                gmv_current=current,
                gmv_previous=previous,
                gmv_growth=growth,
                satisfaction=satisfaction,
                grade=contract.merchant.credit_grade,
                score=latest.score if latest else None,
                quarterly_scores=[{"quarter": q, "score": str(s)} for q, s in quarters],
            )
    except IntegrityError:  # an overlapping run judged this term first
        return False
    if automatic:
        reason = _platform_text(gettext_noop("GMV growth and satisfaction meet the renewal rule."))
        _renew(case, contract=contract, actor=None, reason=reason, automatic=True)
    return True


def _renew(case: RenewalCase, *, contract, actor, reason: str, automatic: bool) -> RenewalCase:
    def record(row, previous):
        audit_record(
            action="risk.renewal_decided",
            actor=actor,
            obj=row,
            reason=reason,
            data={"from": previous, "to": row.status, "automatic": automatic, "merchant": row.merchant_id},
        )

    extended = merchant_services.contract_extend(
        contract=contract, actor=actor, expected_end_date=case.contract_end_date, reason=reason
    )
    return transition(
        case,
        "renew",
        table=RENEWAL_TRANSITIONS,
        changes={
            "automatic": automatic,
            "reason": reason,
            "new_end_date": extended.end_date,
            "decided_by": actor,
            "decided_at": timezone.now(),
        },
        record=record,
    )


def renewals_evaluate_due(*, now: datetime.datetime | None = None, days: int = RENEWAL_NOTICE_DAYS) -> JobRun:
    """Judge every contract in force ending within `days` of `now` (the yearly job and the
    staff action), one transaction each (`run_each`); a term already judged is skipped."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    ids = merchant_selectors.contracts_ending(
        on_or_after=today, on_or_before=today + datetime.timedelta(days=days)
    ).values_list("pk", flat=True)
    return run_each(
        job="risk.renewals_evaluate",
        object_type="merchants.contract",
        ids=ids,
        handle=lambda pk: renewal_evaluate(contract_id=pk, now=now, days=days),
    )


def renewal_decide(*, case: RenewalCase, actor, renew: bool, reason: str) -> RenewalCase:
    """Staff decide a pending case: renew (the contract is extended by its term) or not (it
    ends at its end date). 400 `reason_required`; 409 `invalid_transition` for a decided
    case, `contract_term_changed` / `contract_not_in_force` from merchants when the contract
    moved meanwhile. One use case (`atomic(durable=True)`): locks the case, then the
    contract; audited; nothing written on a refusal."""
    reason = (reason or "").strip()
    if not reason:
        raise QualityError("reason_required", _("Give a reason."))
    with transaction.atomic(durable=True):
        locked = RenewalCase.objects.select_for_update().get(pk=case.pk)
        RENEWAL_TRANSITIONS.check(locked, "renew" if renew else "not_renew")
        if renew:
            contract = merchant_selectors.contract_get(locked.contract_id)
            return _renew(locked, contract=contract, actor=actor, reason=reason, automatic=False)

        def record(row, previous):
            audit_record(
                action="risk.renewal_decided",
                actor=actor,
                obj=row,
                reason=reason,
                data={"from": previous, "to": row.status, "automatic": False, "merchant": row.merchant_id},
            )

        return transition(
            locked,
            "not_renew",
            table=RENEWAL_TRANSITIONS,
            lock=False,
            changes={"reason": reason, "decided_by": actor, "decided_at": timezone.now()},
            record=record,
        )


def renewal_end(*, case_id: int, today: datetime.date) -> bool:
    """Terminate the merchant of a case not renewed whose contract end date has passed
    (`merchants.services.merchant_terminate`); True when done, False when nothing is left to
    do. Runs in the caller's transaction; locks the case, then the merchant."""
    case = (
        RenewalCase.objects.select_for_update()
        .filter(pk=case_id, status=RenewalStatus.NOT_RENEWED, ended_at__isnull=True, contract_end_date__lt=today)
        .first()
    )
    if case is None:
        return False
    merchant = merchant_selectors.merchant_get(case.merchant_id)
    reason = _platform_text(gettext_noop("The contract was not renewed and has ended."))
    merchant_services.merchant_terminate(merchant=merchant, actor=None, reason=reason)
    case.ended_at = timezone.now()
    case.save(update_fields=["ended_at"])
    return True


def renewals_end_due(*, today: datetime.date | None = None) -> JobRun:
    """The daily job: end the contracts not renewed whose end date has passed (`renewal_end`),
    one transaction each; a rerun ends nothing twice (`ended_at`)."""
    today = today or timezone.localdate()
    ids = (
        RenewalCase.objects.filter(status=RenewalStatus.NOT_RENEWED, ended_at__isnull=True, contract_end_date__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return run_each(
        job="risk.renewals_end",
        object_type="risk.renewalcase",
        ids=ids,
        handle=lambda pk: renewal_end(case_id=pk, today=today),
    )
