"""Which cached storefront pages show a promotion, and their invalidation.

A live promotion shows on (see `catalog.pagecache` for the generations):
- the pages of the products it covers (badges on the product page and on every list card):
  `catalog.pagecache.products_pages_invalidate` with those products bumps their pages, the
  lists and their categories' pages;
- the pages of its chosen categories and every category below them (banners);
- the home page when it is a platform promotion (banners);
- its own page: `promotion:<id>`, and the list of live promotions: `promotions:live`;
- everything when it covers the whole platform.

A promotion starts or stops showing when it becomes active (activated, approved, resumed),
when it leaves it (paused, ended), and when the clock crosses its window's start or end:
the transitions call `promotion_pages_invalidate` (after commit), and the periodic
`promotion_windows_pages_invalidate` covers the clock. Settings change only in draft or
rejected, when the promotion shows nowhere. It also stops showing when a checkout spends the
last of its budget or uses, and shows again when a cancelled order gives one back
(`services.usage`, after commit).

A merchant's credit grade decides where its products stand on promotion pages (grade A
first) and whether they join platform promotions at all (grade D never: no badge, not
listed): `merchant_grade_pages_invalidate` receives `merchants.signals.credit_grade_changed`
and makes the merchant's products' pages stale, with `LIST`, under which every promotion
page is cached.
"""

from __future__ import annotations

import contextlib
import datetime
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from catalog.pagecache import HOME, category_generation, products_pages_invalidate
from catalog.selectors import category_list, product_list_for_merchant
from marketplace import pagecache

from .choices import PromotionLevel, PromotionStatus
from .models import Promotion
from .pricing import EXCLUDED_FROM_PLATFORM_GRADES
from .selectors import promotion_pages

#: The generation of the page listing the live promotions: any promotion starting or stopping.
LIVE_LIST = "promotions:live"
#: The clock sweep's bookmark: the end of the window it last covered.
_SWEPT_KEY = "pc:promotions:swept"
#: How far back the first sweep (or one after the bookmark was lost) looks.
FIRST_SWEEP = datetime.timedelta(minutes=10)


def promotion_generation(promotion_id: int) -> str:
    return f"promotion:{promotion_id}"


def promotion_pages_invalidate(promotion: Promotion) -> None:
    """After commit, the cached pages that show (or showed) `promotion` are stale (module
    docstring). Call inside the transaction that changes what buyers see of it; nothing is
    read or scheduled when the page cache is off."""
    if not pagecache.enabled():
        return
    product_ids, category_ids = promotion_pages(promotion)
    if product_ids is None:
        transaction.on_commit(pagecache.invalidate_all, robust=True)
        return
    home = promotion.level == PromotionLevel.PLATFORM
    products_pages_invalidate(product_ids, home=home)
    slugs = sorted(category_list(active_only=False).filter(pk__in=category_ids).values_list("slug", flat=True))
    names = [LIVE_LIST, promotion_generation(promotion.pk), *(category_generation(s) for s in slugs)]
    names += [HOME] if home else []
    transaction.on_commit(partial(pagecache.bump, names), robust=True)


def promotion_windows_pages_invalidate(*, now: datetime.datetime | None = None) -> int:
    """Invalidate the pages of the active promotions whose window started or ended since the
    last sweep (at most `FIRST_SWEEP` back); returns how many. Safe to run twice or late:
    a bump of a page already fresh only costs its next rendering."""
    if not pagecache.enabled():
        return 0
    now = now or timezone.now()
    try:
        since = cache.get(_SWEPT_KEY)
    except RedisError:
        since = None
    if since is None or since > now:
        since = now - FIRST_SWEEP
    crossed = list(
        Promotion.objects.filter(status=PromotionStatus.ACTIVE).filter(
            Q(starts_at__gt=since, starts_at__lte=now) | Q(ends_at__gt=since, ends_at__lte=now)
        )
    )
    for promotion in crossed:
        promotion_pages_invalidate(promotion)
    # Lost, the next sweep looks back FIRST_SWEEP.
    with contextlib.suppress(RedisError):
        cache.set(_SWEPT_KEY, now, timeout=None)
    return len(crossed)


#: Grades whose products the promotion pages treat apart (first; out of platform ones).
_GRADES_SHOWN_APART = frozenset({"A", *EXCLUDED_FROM_PLATFORM_GRADES})


def merchant_grade_pages_invalidate(sender, *, merchant_id: int, previous: str, grade: str, **kwargs) -> None:
    """`credit_grade_changed` receiver (connected in apps.py), inside the grade's transaction:
    after its commit, the pages showing the merchant's products are stale (their badges, and
    through `LIST` every promotion page's order and members), when the change moves the
    merchant into or out of grade A or D; B ↔ C shows nowhere. One read of its product ids."""
    if not pagecache.enabled() or not ({previous, grade} & _GRADES_SHOWN_APART):
        return
    # A shop without products is on no page: nothing to bump then.
    products_pages_invalidate(product_list_for_merchant(merchant_id).values_list("pk", flat=True))
