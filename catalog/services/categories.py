"""Categories: commission rates (with their change history) and merchants' selling grants."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from merchants.selectors import current_contract

from ..errors import CatalogError
from ..models import MAX_COMMISSION_RATE, MIN_COMMISSION_RATE, Category, CategoryGrant, CategoryRateChange


@transaction.atomic
def category_set_rate(*, category: Category, rate: Decimal | None, actor) -> Category:
    """Set (or clear, to inherit) a category's commission rate, recording who, when, old, new.

    Orders placed after the change use the new rate: order lines freeze it at placement.
    """
    if rate is not None and not MIN_COMMISSION_RATE <= rate <= MAX_COMMISSION_RATE:
        raise CatalogError("invalid_commission_rate", _("A commission rate is between 5 % and 15 % (0.05 to 0.15)."))
    locked = Category.objects.select_for_update().get(pk=category.pk)
    if locked.commission_rate == rate:
        return locked
    CategoryRateChange.objects.create(category=locked, old_rate=locked.commission_rate, new_rate=rate, changed_by=actor)
    audit_record(
        action="catalog.category_rate_changed",
        actor=actor,
        obj=locked,
        data={"old": locked.commission_rate, "new": rate},
    )
    locked.commission_rate = rate
    locked.save(update_fields=["commission_rate"])
    return locked


@transaction.atomic
def category_grants_set(*, merchant, category_ids, actor) -> list[int]:
    """Make the merchant's grants exactly `category_ids`; returns the sorted ids.

    Unknown categories are refused (nothing changes). The change is audited with the
    categories added and removed.
    """
    wanted = sorted({int(i) for i in category_ids})
    found = set(Category.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise CatalogError("unknown_categories", _("Some categories do not exist."), {"ids": unknown})
    current = set(
        CategoryGrant.objects.select_for_update().filter(merchant=merchant).values_list("category_id", flat=True)
    )
    added = sorted(set(wanted) - current)
    removed = sorted(current - set(wanted))
    if removed:
        CategoryGrant.objects.filter(merchant=merchant, category_id__in=removed).delete()
    CategoryGrant.objects.bulk_create(
        [CategoryGrant(merchant=merchant, category_id=i, granted_by=actor) for i in added]
    )
    if added or removed:
        audit_record(
            action="catalog.category_grants_changed",
            actor=actor,
            obj=merchant,
            data={"added": added, "removed": removed},
        )
    return wanted


def category_grants_from_contract(*, merchant, actor) -> list[int]:
    """Grant exactly the categories of the merchant's current contract (after approval)."""
    contract = current_contract(merchant)
    return category_grants_set(merchant=merchant, category_ids=contract.category_ids if contract else [], actor=actor)
