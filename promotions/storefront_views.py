"""Storefront pages of promotions: the live promotions, and one promotion with the products it
applies to (grade A shops' first; grade D shops' never in a platform promotion).

Public and read-only; anonymous visitors get them from the page cache, made stale by
`promotions.pagecache` when a promotion starts or stops showing and, for the products they
list, by the catalog's own invalidations (`LIST`).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from catalog.pagecache import LIST
from marketplace.pagecache import cached_page
from marketplace.shortcuts import found_or_404

from . import selectors
from .pagecache import LIVE_LIST, promotion_generation

PAGE_SIZE = 24


@require_safe
@cached_page(lambda request: [LIVE_LIST], params=frozenset({"page"}))
def promotion_list(request):
    page = Paginator(selectors.promotion_list_live(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "storefront/promotions/promotion_list.html", {"page": page})


@require_safe
@cached_page(lambda request, promotion_id: [promotion_generation(promotion_id), LIST], params=frozenset({"page"}))
def promotion_page(request, promotion_id: int):
    promotion = found_or_404(selectors.promotion_get_live(promotion_id))
    page = Paginator(selectors.promotion_products(promotion), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.products_with_badges(page.object_list)
    context = {"promotion": promotion, "label": selectors.promotion_label(promotion), "page": page}
    return render(request, "storefront/promotions/promotion_page.html", context)
