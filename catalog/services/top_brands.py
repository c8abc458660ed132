"""Operations' list of each category's leading brands (TopBrand), as the admin edits it.

Every edit is audited (`marketplace.edits`). The database keeps one brand per rank and one
rank per brand in a category; the operations dashboard reads the list for its TOP50 brand
coverage (`catalog.selectors.top_brand_coverage`).
"""

from __future__ import annotations

from django.db import transaction

from marketplace.edits import audited_create, audited_delete, audited_update, only_fields

from ..models import TopBrand

TOP_BRAND_FIELDS = ("category", "name", "rank")


@transaction.atomic
def top_brand_create(*, actor, category, name: str, rank: int) -> TopBrand:
    """List a brand among the category's leaders at `rank`; audited."""
    return audited_create(
        TopBrand, action="catalog.top_brand_created", actor=actor, category=category, name=name.strip(), rank=rank
    )


@transaction.atomic
def top_brand_update(*, top_brand: TopBrand, actor, **changes) -> TopBrand:
    """Change the brand's category, name and/or rank; locks the row; writes and audits only
    what differs."""
    changes = only_fields(changes, TOP_BRAND_FIELDS)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    locked = TopBrand.objects.select_for_update().get(pk=top_brand.pk)
    audited_update(locked, changes, action="catalog.top_brand_changed", actor=actor)
    return locked


@transaction.atomic
def top_brands_delete(*, top_brands, actor) -> int:
    """Take these brands off their categories' lists; audited; returns how many."""
    return audited_delete(top_brands, action="catalog.top_brand_deleted", actor=actor)
