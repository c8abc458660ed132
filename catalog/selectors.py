"""Reads of the catalog app."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Category, CategoryGrant


def category_list(*, active_only: bool = True) -> QuerySet[Category]:
    qs = Category.objects.select_related("parent")
    return qs.filter(is_active=True) if active_only else qs


def category_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """(id, "Parent › Child") pairs in tree order, for forms and filters."""
    categories = list(category_list(active_only=active_only))
    by_id = {c.pk: c for c in categories}

    def path(category):
        names = []
        seen = set()
        while category is not None and category.pk not in seen:
            seen.add(category.pk)
            names.append(category.name)
            category = by_id.get(category.parent_id)
        return " › ".join(reversed(names))

    return sorted(((c.pk, path(c)) for c in categories), key=lambda pair: pair[1])


def category_names(ids) -> list[str]:
    names = dict(category_choices(active_only=False))
    return [names[i] for i in ids if i in names]


def granted_categories(merchant) -> QuerySet[Category]:
    return Category.objects.filter(grants__merchant=merchant).order_by("position", "name")


def grant_list(merchant) -> QuerySet[CategoryGrant]:
    return CategoryGrant.objects.filter(merchant=merchant).select_related("category", "granted_by")
