"""Staff's edits of the catalog's taxonomy: categories and tags, as the admin makes them.

Every edit is audited; a renamed category or tag refreshes, after commit, the search text of
the products that show its name (`search_refresh_schedule`), so they are found by the new name.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from marketplace.audit import audit_record

from ..models import Category, Tag
from .categories import category_set_rate
from .products import search_refresh_schedule

#: The fields staff set on a category. Its commission rate is not among them: it changes only
#: through `category_set_rate`, which records every change.
CATEGORY_FIELDS = ("name", "parent", "slug", "is_fresh", "is_cross_border", "position", "is_active")


def _field_changes(obj, changes: dict) -> dict:
    """The entries of `changes` that differ from `obj` (a related row compares by its id)."""
    changed = {}
    for name, value in changes.items():
        field = obj._meta.get_field(name)
        current = getattr(obj, field.attname)
        new = value.pk if field.is_relation and value is not None else value
        if current != new:
            changed[name] = value
    return changed


@transaction.atomic
def category_create(*, actor, commission_rate: Decimal | None = None, **fields) -> Category:
    """Create a category with `fields` (`CATEGORY_FIELDS`); audited.

    A first commission rate goes through `category_set_rate`, in the same transaction, so it
    is checked, recorded and audited as every later change is.
    """
    category = Category.objects.create(**_category_fields(fields))
    audit_record(
        action="catalog.category_created",
        actor=actor,
        obj=category,
        data={"name": category.name, "slug": category.slug, "parent": category.parent_id},
    )
    if commission_rate is not None:
        category = category_set_rate(category=category, rate=commission_rate, actor=actor)
    return category


@transaction.atomic
def category_update(*, category: Category, actor, **changes) -> Category:
    """Change the category's `changes` (`CATEGORY_FIELDS`, never the rate); returns the row.

    Locks the category; writes only the fields that differ (a concurrent rate change stays),
    audited with their names; nothing when nothing differs. A new name refreshes, after
    commit, the search text of the category's products.
    """
    changes = _category_fields(changes)
    locked = Category.objects.select_for_update().get(pk=category.pk)
    changed = _field_changes(locked, changes)
    if not changed:
        return locked
    for name, value in changed.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(changed))
    audit_record(action="catalog.category_changed", actor=actor, obj=locked, data={"fields": sorted(changed)})
    if "name" in changed:
        search_refresh_schedule(category=locked)
    return locked


def _category_fields(fields: dict) -> dict:
    unknown = set(fields) - set(CATEGORY_FIELDS)
    if unknown:
        raise TypeError(f"Not fields staff set on a category: {sorted(unknown)}")
    return fields


@transaction.atomic
def tag_create(*, actor, name: str, slug: str) -> Tag:
    """Create a tag; audited. No product has it yet, so no search text changes."""
    tag = Tag.objects.create(name=name, slug=slug)
    audit_record(action="catalog.tag_created", actor=actor, obj=tag, data={"name": name, "slug": slug})
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, actor, **changes) -> Tag:
    """Change the tag's `name` and/or `slug`; returns the row. Locks the tag; writes and
    audits only what differs. A new name refreshes, after commit, the search text of the
    products that have the tag."""
    unknown = set(changes) - {"name", "slug"}
    if unknown:
        raise TypeError(f"Not fields staff set on a tag: {sorted(unknown)}")
    locked = Tag.objects.select_for_update().get(pk=tag.pk)
    changed = _field_changes(locked, changes)
    if not changed:
        return locked
    for name, value in changed.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(changed))
    audit_record(action="catalog.tag_changed", actor=actor, obj=locked, data={"fields": sorted(changed)})
    if "name" in changed:
        search_refresh_schedule(tag=locked)
    return locked
