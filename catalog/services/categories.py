"""Categories: commission rates (with their change history) and merchants' selling grants."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from merchants.selectors import current_contract

from ..errors import CatalogError
from ..models import MAX_COMMISSION_RATE, MIN_COMMISSION_RATE, Category, CategoryGrant, CategoryRateChange


def category_effective_rate(category: Category) -> Decimal:
    """The category's rate, else its nearest ancestor's, else the platform default setting."""
    seen = set()
    node = category
    while node is not None and node.pk not in seen:
        if node.commission_rate is not None:
            return node.commission_rate
        seen.add(node.pk)
        node = node.parent
    return Decimal(settings.DEFAULT_COMMISSION_RATE)


def category_descendant_ids(category_ids) -> set[int]:
    """The given categories and every category below them."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    result: set[int] = set()
    stack = list(category_ids)
    while stack:
        current = stack.pop()
        if current in result:
            continue
        result.add(current)
        stack.extend(children.get(current, []))
    return result


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


def merchant_may_sell_in(merchant, category: Category) -> bool:
    """True when the category or one of its ancestors is granted to the merchant."""
    granted = set(CategoryGrant.objects.filter(merchant=merchant).values_list("category_id", flat=True))
    node, seen = category, set()
    while node is not None and node.pk not in seen:
        if node.pk in granted:
            return True
        seen.add(node.pk)
        node = node.parent
    return False
