"""Service fees: billing (yearly technical service fee with its relief, franchise fee,
subscription plans), value-added services bought or recorded, and their statement line.

Guarantees:
- every billing is one `FeeCharge` with the natural key (merchant, kind, key): the key is
  the billed cycle (its first day) or the purchase's reference; it is billed on the day the
  billing runs (so it is deducted in that month's statement, never in one already run), so the periodic billing,
  a rerun or a retried purchase never bills twice (the unique key decides, even in a race);
- the technical service fee's relief (domain.md): the merchant's first year live is waived,
  the second and third are billed at 50 %, later years in full; the charge keeps the gross
  and the relief, so the merchant sees what was waived;
- a run deducts each charge with an amount once (`_fee_lines` sets its statement), on the
  negative line "Service fees"; waived charges (amount 0) reach no statement.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import ConflictError, DomainError, NotFoundError
from marketplace.jobs import run_each
from marketplace.money import ZERO, quantize
from merchants import selectors as merchant_selectors
from merchants.choices import CooperationMode, MerchantStatus

from ..choices import VALUE_ADDED_KINDS, BillingCycle, FeeKind, LineKind
from ..models import FeeCharge, StatementLine, Subscription, SubscriptionPlan, TechnicalServiceFee, ValueAddedService

#: The share of the technical service fee waived in each year live (1-based); later: none.
TECHNICAL_FEE_RELIEF = {1: Decimal("1"), 2: Decimal("0.5"), 3: Decimal("0.5")}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` moved by whole months, on the same day of the month or the month's last."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def current_cycle(start: datetime.date, today: datetime.date, months: int) -> tuple[int, datetime.date]:
    """(1-based number, first day) of the cycle of `months` months from `start` holding `today`."""
    number = ((today.year - start.year) * 12 + today.month - start.month) // months
    while number > 0 and add_months(start, number * months) > today:
        number -= 1
    while add_months(start, (number + 1) * months) <= today:
        number += 1
    return number + 1, add_months(start, number * months)


def _charge(*, merchant_id, kind, key, description, billed_on, gross, relief=ZERO, actor=None) -> FeeCharge | None:
    """Create the charge once; None when its natural key was billed already."""
    gross = quantize(gross)
    relief = quantize(relief)
    if FeeCharge.objects.filter(merchant_id=merchant_id, kind=kind, key=key).exists():
        return None
    try:
        with transaction.atomic():
            charge = FeeCharge.objects.create(
                merchant_id=merchant_id,
                kind=kind,
                key=key,
                description=str(description)[:200],
                billed_on=billed_on,
                gross=gross,
                relief=relief,
                amount=gross - relief,
                created_by=actor,
            )
            audit_record(
                action="settlements.fee_charged",
                actor=actor,
                obj=charge,
                data={"kind": kind, "key": key, "amount": charge.amount, "relief": relief},
            )
    except IntegrityError:
        return None  # billed meanwhile by a concurrent run
    return charge


def fees_bill_due(*, today: datetime.date | None = None) -> int:
    """Bill every live merchant's fees of the cycles holding `today` that are not billed yet,
    on `today`:
    the technical service fee of its year live, the franchise fee of its contract year, its
    subscription's cycle. Returns how many charges were created; a rerun creates none."""
    today = today or timezone.localdate()
    rates = dict(TechnicalServiceFee.objects.values_list("tier_id", "yearly_amount"))
    contracts = merchant_selectors.accepted_contracts().filter(merchant__status=MerchantStatus.LIVE)
    rows = {
        row[0]: row
        for row in contracts.values_list(
            "merchant_id",
            "merchant__live_since",
            "merchant__tier_id",
            "cooperation_mode",
            "franchise_fee",
            "number",
            "start_date",
            "end_date",
        ).order_by("merchant_id")
    }

    def bill_merchant(merchant_id) -> bool:
        _m, live_since, tier_id, mode, franchise_fee, number, start, end = rows[merchant_id]
        created = 0
        if live_since is not None and rates.get(tier_id):
            created += _bill_technical_fee(merchant_id, timezone.localdate(live_since), today, rates[tier_id])
        if mode == CooperationMode.FRANCHISE and franchise_fee and start <= today < end:
            year, first = current_cycle(start, today, 12)
            created += bool(
                _charge(
                    merchant_id=merchant_id,
                    kind=FeeKind.FRANCHISE,
                    key=f"{number}:{first.isoformat()}",
                    description=gettext("Franchise fee, contract %(number)s, year %(year)d")
                    % {"number": number, "year": year},
                    billed_on=today,
                    gross=franchise_fee,
                )
            )
        counted[0] += created
        return bool(created)

    subscriptions = Subscription.objects.select_related("plan").filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=today), starts_on__lte=today
    )

    def bill_subscription(pk) -> bool:
        billed = bool(_bill_subscription(subscriptions.get(pk=pk), today))
        counted[0] += billed
        return billed

    # Each merchant's fees and each subscription in its own transaction: one that fails is
    # recorded as a JobFailure and the others are billed (marketplace.jobs).
    counted = [0]
    run_each(job="settlements.fees_bill_due", object_type="merchants.merchant", ids=sorted(rows), handle=bill_merchant)
    run_each(
        job="settlements.fees_bill_due",
        object_type="settlements.subscription",
        ids=subscriptions.order_by("pk").values_list("pk", flat=True),
        handle=bill_subscription,
    )
    return counted[0]


def _bill_technical_fee(merchant_id: int, live_on: datetime.date, today: datetime.date, yearly: Decimal) -> int:
    year, first = current_cycle(live_on, today, 12)
    share = TECHNICAL_FEE_RELIEF.get(year, ZERO)
    charge = _charge(
        merchant_id=merchant_id,
        kind=FeeKind.TECHNICAL_SERVICE,
        key=first.isoformat(),
        description=gettext("Technical service fee, year %(year)d live") % {"year": year},
        billed_on=today,
        gross=yearly,
        relief=quantize(Decimal(yearly) * share),
    )
    return int(charge is not None)


def _bill_subscription(subscription: Subscription, today: datetime.date) -> FeeCharge | None:
    months = 12 if subscription.cycle == BillingCycle.YEARLY else 1
    _number, first = current_cycle(subscription.starts_on, today, months)
    return _charge(
        merchant_id=subscription.merchant_id,
        kind=FeeKind.SUBSCRIPTION,
        key=f"{subscription.pk}:{first.isoformat()}",
        description=gettext("%(plan)s plan, %(cycle)s, from %(first)s")
        % {"plan": subscription.plan.name, "cycle": subscription.get_cycle_display(), "first": first.isoformat()},
        billed_on=today,
        gross=subscription.plan.price(subscription.cycle),
        actor=subscription.created_by,
    )


@transaction.atomic
def subscription_start(*, merchant, plan: SubscriptionPlan, cycle: str, actor, today=None) -> Subscription:
    """The merchant subscribes to an offered plan, billed monthly or yearly from today; the
    first cycle is billed at once. One subscription at a time (409 `already_subscribed`).
    Two racing subscribes cannot both pass: the unique key of active subscriptions decides."""
    if cycle not in BillingCycle.values:
        raise DomainError("invalid_cycle", _("Choose monthly or yearly billing."))
    if not plan.active:
        raise DomainError("plan_not_offered", _("This plan is no longer offered."))
    today = today or timezone.localdate()
    refusal = ConflictError("already_subscribed", _("You already have a subscription; end it first."))
    if Subscription.objects.filter(merchant=merchant, ended_on__isnull=True).exists():
        raise refusal
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                merchant=merchant, plan=plan, cycle=cycle, starts_on=today, created_by=actor
            )
    except IntegrityError as exc:
        raise refusal from exc
    audit_record(
        action="settlements.subscription_started",
        actor=actor,
        obj=subscription,
        data={"plan": plan.code, "cycle": cycle},
    )
    _bill_subscription(subscription, today)
    return subscription


@transaction.atomic
def subscription_end(*, subscription: Subscription, merchant, actor, today=None) -> Subscription:
    """End the merchant's subscription: no cycle after today is billed (the current one,
    billed already, stays). Another merchant's subscription is not found (404)."""
    if subscription.merchant_id != merchant.pk:
        raise NotFoundError("not_found", _("Not found."))
    today = today or timezone.localdate()
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.ended_on is not None:
        raise ConflictError("subscription_ended", _("This subscription has already ended."))
    locked.ended_on = today
    locked.save(update_fields=["ended_on"])
    audit_record(action="settlements.subscription_ended", actor=actor, obj=locked)
    return locked


def value_added_purchase(*, merchant, service: ValueAddedService, actor, reference: str, today=None) -> FeeCharge:
    """The merchant buys an offered value-added service: one charge at its price, billed
    today. `reference` is the purchase form's token, so a resubmitted form bills once (the
    same charge is returned)."""
    reference = (reference or "").strip()[:60]
    if not reference:
        raise DomainError("reference_required", _("The form has expired; open it again."))
    if not service.active or service.kind not in VALUE_ADDED_KINDS:
        raise DomainError("service_not_offered", _("This service is no longer offered."))
    charge = _charge(
        merchant_id=merchant.pk,
        kind=service.kind,
        key=reference,
        description=service.name,
        billed_on=today or timezone.localdate(),
        gross=service.price,
        actor=actor,
    )
    return charge or FeeCharge.objects.get(merchant_id=merchant.pk, kind=service.kind, key=reference)


def fee_charge_record(
    *, merchant, kind: str, amount, description: str, reference: str, actor, billed_on=None
) -> FeeCharge:
    """Staff record a value-added service billed outside the portal (keyword bidding,
    home-page slot) with its reference; a reference used before for this merchant and kind
    is refused (409 `reference_reused`) and nothing is written."""
    if kind not in VALUE_ADDED_KINDS:
        raise DomainError("invalid_fee_kind", _("Staff record keyword bidding and home-page slots only."))
    try:
        value = quantize(Decimal(str(amount)))
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise DomainError("invalid_amount", _("Enter an amount in yuan, e.g. 500.00.")) from exc
    if value <= 0:
        raise DomainError("invalid_amount", _("The amount must be greater than zero."))
    if not (description or "").strip():
        raise DomainError("description_required", _("Describe what is billed: the merchant will see it."))
    reference = (reference or "").strip()[:60]
    if not reference:
        raise DomainError("reference_required", _("Give the reference of the order or contract."))
    charge = _charge(
        merchant_id=merchant.pk,
        kind=kind,
        key=reference,
        description=description.strip(),
        billed_on=billed_on or timezone.localdate(),
        gross=value,
        actor=actor,
    )
    if charge is None:
        raise ConflictError("reference_reused", _("This reference was already billed."), {"reference": reference})
    return charge


def _fee_lines(statements: dict[int, int], period) -> list[StatementLine]:
    """Charges with an amount, billed on or before the period's last day and deducted nowhere
    yet: attached to the merchant's statement (merchant id → statement id) and summed into
    one negative line."""
    if not statements:
        return []
    pending = FeeCharge.objects.filter(
        merchant_id__in=list(statements), statement__isnull=True, amount__gt=0, billed_on__lte=period.last_day
    ).order_by("pk")
    by_merchant: dict[int, list[FeeCharge]] = defaultdict(list)
    for charge in pending:
        by_merchant[charge.merchant_id].append(charge)
    lines = []
    for merchant_id, rows in by_merchant.items():
        statement_id = statements[merchant_id]
        FeeCharge.objects.filter(pk__in=[c.pk for c in rows]).update(statement_id=statement_id)
        lines.append(
            StatementLine(
                statement_id=statement_id,
                kind=LineKind.SERVICE_FEES,
                amount=-sum((c.amount for c in rows), ZERO),
                count=len(rows),
            )
        )
    return lines


@transaction.atomic
def price_row_save(*, row, actor, changes: dict):
    """Staff create or edit a row of amounts and prices (penalty amounts, the technical fee of a
    tier, subscription plans, value-added services): checked by the model's validation and
    constraints (400 `invalid` with the fields), saved with the audit row of what changed. A
    change applies to what is billed or raised from then on; charges and penalties keep the
    amounts they were made with."""
    created = row.pk is None
    locked = row if created else type(row).objects.select_for_update().get(pk=row.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
    try:
        locked.full_clean()
    except ValidationError as exc:
        raise DomainError("invalid", _("Check the highlighted fields."), {"fields": exc.message_dict}) from exc
    locked.save()
    audit_record(
        action=f"settlements.{locked._meta.model_name}_{'created' if created else 'changed'}",
        actor=actor,
        obj=locked,
        data={name: str(value) for name, value in changes.items()},
    )
    return locked
