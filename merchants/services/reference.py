"""Staff's edits of the merchants app's reference data: the tiers' terms and the public
holidays of working-day deadlines, audited (`marketplace.edits`)."""

from __future__ import annotations

from django.db import transaction

from marketplace.edits import audited_create, audited_delete, audited_update, only_fields

from ..models import PublicHoliday, Tier

#: What staff change on a tier: its code is fixed (one row per code, made by a migration).
TIER_FIELDS = (
    "name",
    "deposit_amount",
    "commission_plan",
    "position",
    "entry_criteria",
    "min_monthly_gmv",
    "min_sku_coverage_pct",
    "min_annual_growth_pct",
    "min_contract_years",
    "benefits",
)
HOLIDAY_FIELDS = ("date", "name")


@transaction.atomic
def tier_update(*, tier: Tier, actor, **changes) -> Tier:
    """Change the tier's terms (`TIER_FIELDS`); returns the row. Locks it; writes and audits
    only what differs. Contracts already offered keep the terms they were made with."""
    locked = Tier.objects.select_for_update().get(pk=tier.pk)
    audited_update(locked, only_fields(changes, TIER_FIELDS), action="merchants.tier_changed", actor=actor)
    return locked


@transaction.atomic
def holiday_create(*, actor, **fields) -> PublicHoliday:
    """Add a public holiday (`HOLIDAY_FIELDS`); audited. Deadlines computed from now on skip it."""
    fields = only_fields(fields, HOLIDAY_FIELDS)
    return audited_create(PublicHoliday, action="merchants.holiday_created", actor=actor, **fields)


@transaction.atomic
def holiday_update(*, holiday: PublicHoliday, actor, **changes) -> PublicHoliday:
    """Change a public holiday's date or name; returns the row; audited when anything differs."""
    locked = PublicHoliday.objects.select_for_update().get(pk=holiday.pk)
    changes = only_fields(changes, HOLIDAY_FIELDS)
    audited_update(locked, changes, action="merchants.holiday_changed", actor=actor)
    return locked


@transaction.atomic
def holidays_delete(*, holidays, actor) -> int:
    """Delete these public holidays, each audited; returns how many."""
    return audited_delete(holidays, action="merchants.holiday_deleted", actor=actor)
