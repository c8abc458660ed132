"""Staff's edits of the catalog's taxonomy: categories and tags, as the admin makes them.

Every edit is audited (`marketplace.edits`); a renamed category or tag refreshes, after
commit, the search text of the products that show its name (`search_refresh_schedule`), so
they are found by the new name. The tree stays a tree: a category is never placed under
itself or one of its subcategories (`category_cycle`), whoever asks (admin, API, pages).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from marketplace.edits import audited_create, audited_delete, audited_update, only_fields
from marketplace.pagecache import invalidate_all

from ..errors import CatalogError
from ..models import Category, Tag
from .categories import category_set_rate
from .products import search_refresh_schedule

#: The fields staff set on a category. Its commission rate is not among them: it changes only
#: through `category_set_rate`, which records every change.
CATEGORY_FIELDS = ("name", "parent", "slug", "is_fresh", "is_cross_border", "position", "is_active")
TAG_FIELDS = ("name", "slug")


def _refuse_a_loop(category: Category, parent: Category | None, parents: dict[int, int | None]) -> None:
    """Refuse `parent` when it is `category` or lies below it: the tree would loop.

    Walks up from the new parent through `parents` (id → parent id); meeting the category
    means it would become its own ancestor.
    """
    node, seen = (parent.pk if parent is not None else None), set()
    while node is not None and node not in seen:
        if node == category.pk:
            raise CatalogError(
                "category_cycle",
                _("A category cannot be placed under itself or one of its subcategories."),
                {"category": category.pk, "parent": parent.pk},
            )
        seen.add(node)
        node = parents.get(node)


@transaction.atomic
def category_create(*, actor, commission_rate: Decimal | None = None, **fields) -> Category:
    """Create a category with `fields` (`CATEGORY_FIELDS`); audited.

    A first commission rate goes through `category_set_rate`, in the same transaction, so it
    is checked, recorded and audited as every later change is (a refused rate creates nothing).
    """
    fields = only_fields(fields, CATEGORY_FIELDS)
    category = audited_create(Category, action="catalog.category_created", actor=actor, **fields)
    invalidate_all()  # every storefront page shows the category tree
    if commission_rate is not None:
        category = category_set_rate(category=category, rate=commission_rate, actor=actor)
    return category


@transaction.atomic
def category_update(*, category: Category, actor, **changes) -> Category:
    """Change the category's `changes` (`CATEGORY_FIELDS`, never the rate); returns the row.

    Locks the category; writes only the fields that differ (a concurrent rate change stays),
    audited with their names; nothing when nothing differs. A parent that is the category
    itself or one of its subcategories is refused (`category_cycle`, 400): nothing changes.
    A new name refreshes, after commit, the search text of the category's products.
    """
    changes = only_fields(changes, CATEGORY_FIELDS)
    if "parent" in changes:
        # A move locks the whole tree, in pk order, as it reads it: two moves at once (A under
        # B, B under A) cannot each pass the check and together make a loop.
        parents = dict(Category.objects.select_for_update().order_by("pk").values_list("pk", "parent_id"))
        _refuse_a_loop(category, changes["parent"], parents)
    locked = Category.objects.select_for_update().get(pk=category.pk)
    changed = audited_update(locked, changes, action="catalog.category_changed", actor=actor)
    if changed:
        invalidate_all()  # every storefront page shows the category tree
    if "name" in changed:
        search_refresh_schedule(category=locked)
    return locked


@transaction.atomic
def categories_delete(*, categories, actor) -> int:
    """Delete these categories, each audited; returns how many. A category that still has
    subcategories, products or order lines is protected: nothing is deleted then."""
    deleted = audited_delete(categories, action="catalog.category_deleted", actor=actor)
    invalidate_all()  # every storefront page shows the category tree
    return deleted


@transaction.atomic
def tag_create(*, actor, name: str, slug: str) -> Tag:
    """Create a tag; audited. No product has it yet, so no search text changes."""
    tag = audited_create(Tag, action="catalog.tag_created", actor=actor, name=name, slug=slug)
    invalidate_all()  # list pages offer every tag as a filter
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, actor, **changes) -> Tag:
    """Change the tag's `name` and/or `slug`; returns the row. Locks the tag; writes and
    audits only what differs. A new name refreshes, after commit, the search text of the
    products that have the tag."""
    changes = only_fields(changes, TAG_FIELDS)
    locked = Tag.objects.select_for_update().get(pk=tag.pk)
    changed = audited_update(locked, changes, action="catalog.tag_changed", actor=actor)
    if changed:
        invalidate_all()  # list pages offer every tag as a filter; product pages show tags
    if "name" in changed:
        search_refresh_schedule(tag=locked)
    return locked
