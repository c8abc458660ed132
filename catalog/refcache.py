"""Reference data of the storefront pages in Redis: the category tree and the home page's
featured products' ids, under the page cache's generations (issue #12).

A page rendered from the database (a page-cache miss, or a visitor with a session, who never
gets a cached page) read the category tree and ran the featured products' three-part
statement on every render: the same answer for every visitor until a catalog service bumps a
generation. Each value is stored with the tokens of the generations it depends on, read in
the same MGET as the value and *before* the value is built, exactly as pages and cards are
(`marketplace.pagecache`): a value built from rows older than a bump is stored under the
tokens before it, so never served after it.

- the category tree: `all` (the taxonomy services bump it on every category change);
- the featured ids: `all` and `home` (`catalog.pagecache.products_pages_invalidate` bumps
  `home` when a product that is or was featured, or of a new shop, changes; a shop opening
  or closing bumps `all`).

As the page cache: on only when `PAGE_CACHE_TTL` is (the services bump generations only
then), a value lives at most `PAGE_CACHE_TTL` (the bound for what time alone changes: a shop
leaving the "new shop" window), a generation missing from the cache counts as changed, and
Redis being down means building the value from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from marketplace import pagecache

from . import selectors
from .pagecache import HOME

logger = logging.getLogger(__name__)

#: name: (the generations beside `all` it depends on, how it is built)
_VALUES: dict[str, tuple[tuple[str, ...], Callable[[], object]]] = {
    "category_tree": ((), selectors.category_tree),
    "featured_ids": ((HOME,), selectors.product_featured_ids),
}


def _key(name: str) -> str:
    return f"pc:ref:{name}"


def reference(*names: str) -> dict[str, object]:
    """The current value of each named reference datum (see the module docstring): one MGET
    for all of them and their generations, and only the stale or missing ones built."""
    if not pagecache.enabled():
        return {name: _VALUES[name][1]() for name in names}
    generations = {name: (pagecache.ALL, *_VALUES[name][0]) for name in names}
    every = list(dict.fromkeys(g for gens in generations.values() for g in gens))
    try:
        found = cache.get_many([*map(_key, names), *map(pagecache.generation_key, every)])
        tokens = pagecache.generation_tokens(every, found)
    except RedisError:
        logger.exception("reference cache unavailable; reading %s from the database", ", ".join(names))
        return {name: _VALUES[name][1]() for name in names}
    values, fresh = {}, {}
    for name in names:
        mine = tuple(tokens[g] for g in generations[name])
        stored = found.get(_key(name))
        if stored is not None and None not in mine and stored[0] == mine:
            values[name] = stored[1]
            continue
        values[name] = _VALUES[name][1]()
        if None not in mine:
            fresh[_key(name)] = (mine, values[name])
    if fresh:
        try:
            cache.set_many(fresh, timeout=settings.PAGE_CACHE_TTL)
        except RedisError:
            logger.exception("reference cache unavailable; %s not stored", ", ".join(fresh))
    return values
