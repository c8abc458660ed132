"""Writes of the catalog app. This module starts with category grants; the catalog issue
adds products, stock and the rest."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.errors import DomainError

from .models import Category, CategoryGrant


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
        raise DomainError("unknown_categories", _("Some categories do not exist."), {"ids": unknown})
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
    from merchants.services import current_contract

    contract = current_contract(merchant)
    return category_grants_set(merchant=merchant, category_ids=contract.category_ids if contract else [], actor=actor)
