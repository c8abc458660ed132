"""Which cached storefront pages show what, and the invalidations the catalog services call.

Pages and their generations (`marketplace.pagecache`), beside `ALL` that every page has:
- the product page and the API's product detail: `product:<id>`;
- a category page: `category:<slug>` (it lists the category's products and those below it);
- search and the API's product list: `list` (any product may appear there);
- the home page: `home` (its featured products, and new shops' boosted products).

Who bumps what, always after commit:
- a product, its SKUs (prices, attributes, on/off), its publication or its category changes:
  `products_pages_invalidate` — its own page, `list`, the category pages of its category and
  every category above it (the old one too when it moved), `home` when it is or was featured
  or boosted. **Promotions** (not written yet) call this same entry point with the products a
  promotion starts or stops applying to;
- the category tree or the tags change, a shop opens, closes or renames: everything
  (`marketplace.pagecache.invalidate_all`), as every page shows the tree, tags or shop names;
- stock: `stock_pages_changed`, after a batch of stock rows is written, bumps only when what
  buyers see may have changed: a row's availability crossed zero (in/out of stock: the lists
  too) or moved within the "only N left" range (the product page only). A checkout that leaves
  plenty of stock bumps nothing.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.translation import get_language
from redis.exceptions import RedisError

from marketplace import pagecache

from .models import SKU, Category, Product
from .selectors import LOW_STOCK_THRESHOLD

logger = logging.getLogger(__name__)

LIST = "list"
HOME = "home"


def product_generation(product_id: int) -> str:
    return f"product:{product_id}"


def category_generation(slug: str) -> str:
    return f"category:{slug}"


def products_pages_invalidate(product_ids, *, category_ids=(), home: bool = False) -> None:
    """After commit, the cached pages that show these products are stale: their own pages,
    search and API lists, their categories' pages (and `category_ids`', e.g. the one a product
    left) up to the root, and the home page if one of them is featured or boosted (or `home`).
    The entry point for any change of what buyers see of a product (promotions included)."""
    ids = sorted({int(pk) for pk in product_ids})
    if ids and pagecache.enabled():
        transaction.on_commit(partial(_invalidate_now, ids, set(category_ids), home), robust=True)


def _invalidate_now(ids: list[int], category_ids: set[int], home: bool) -> None:
    # After commit: the products' categories as they are now; a moved product's old category
    # was named by the caller.
    boost_since = timezone.now() - timedelta(days=settings.NEW_MERCHANT_BOOST_DAYS)
    rows = Product.objects.filter(pk__in=ids).values_list("category_id", "is_featured", "merchant__live_since")
    for category_id, featured, live_since in rows:
        category_ids.add(category_id)
        home = home or featured or (live_since is not None and live_since >= boost_since)
    names = [product_generation(pk) for pk in ids] + [LIST] + ([HOME] if home else [])
    names += [category_generation(slug) for slug in _slugs_up_to_root(category_ids)]
    pagecache.bump(names)


def _slugs_up_to_root(category_ids: set[int]) -> set[str]:
    """The slugs of these categories and every one above them (one query: the tree is small)."""
    tree = {pk: (parent, slug) for pk, parent, slug in Category.objects.values_list("pk", "parent_id", "slug")}
    slugs, seen = set(), set()
    for node in category_ids:
        while node is not None and node in tree and node not in seen:
            seen.add(node)
            parent, slug = tree[node]
            slugs.add(slug)
            node = parent
    return slugs


def _shown(available: int) -> int:
    """What buyers see of one stock row's units: 0, the exact number up to the "only N left"
    threshold, or "plenty" (threshold + 1). A SKU shows the sum of its rows; it can only look
    different if one of its rows does (above the threshold a row keeps the sum above it)."""
    return max(0, min(available, LOW_STOCK_THRESHOLD + 1))


def _stock_key(stock_id: int) -> str:
    return f"pc:stock:{stock_id}"


def stock_pages_changed(stocks) -> None:
    """Call after a batch of stock rows was written (their new levels in hand), inside the
    transaction: after commit, the pages of the products whose stock looks different to
    buyers are stale (see the module docstring). No query unless something looks different.

    What each row showed is remembered in the cache; a row with nothing remembered (new, or
    the cache was flushed) counts as changed (the safe side)."""
    if not pagecache.enabled():
        return
    shown = {stock.pk: (_shown(stock.available), stock.sku_id) for stock in stocks}
    if shown:
        transaction.on_commit(partial(_stock_check, shown), robust=True)


#: KEYS: the rows' remembered levels; ARGV: their levels now, in the same order. Writes only
#: the levels that differ (a row never seen included: its GET is false) and answers what each
#: row showed before (nil where nothing was remembered), in one atomic round trip.
_SWAP_LEVELS = """
local before = {}
for i, key in ipairs(KEYS) do
  local was = redis.call('GET', key)
  before[i] = was
  if was ~= ARGV[i] then redis.call('SET', key, ARGV[i]) end
end
return before
"""


@functools.lru_cache(maxsize=8)
def _swap_levels(client):
    """The script, registered once per process and client (then run by its digest: EVALSHA)."""
    return client.register_script(_SWAP_LEVELS)


def _stock_check(shown: dict[int, tuple[int, int]]) -> None:
    keys = [cache.make_and_validate_key(_stock_key(pk)) for pk in shown]
    try:
        # Kept without expiry (one small key per stock row): a page may outlive any expiry, and a
        # forgotten level would make the next sale of the row bump its pages for nothing. A
        # level that did not change is not written again (most sales leave plenty). Levels are
        # integers, which the cache stores as such: `cache.get` reads them.
        client = cache._cache.get_client(None, write=True)
        answer = _swap_levels(client)(keys=keys, args=[now for now, _sku in shown.values()])
    except RedisError:
        return  # the pages expire by PAGE_CACHE_TTL
    before = {pk: None if was is None else int(was) for pk, was in zip(shown, answer, strict=True)}
    changed, crossed = set(), set()
    for pk, (now, sku_id) in shown.items():
        was = before[pk]
        if was != now:
            changed.add(sku_id)
        if was is None or (was == 0) != (now == 0):
            crossed.add(sku_id)
    if not changed:
        return
    products = dict(SKU.objects.filter(pk__in=changed).values_list("pk", "product_id"))
    listed = {products[sku] for sku in crossed if sku in products}
    products_pages_invalidate(listed)
    pagecache.bump(product_generation(pk) for pk in set(products.values()) - listed)


def _card_key(product_id: int, variant: str) -> str:
    return f"pc:card:{variant}:{product_id}"


@dataclass(frozen=True)
class CachedCard:
    """A product of a list page whose card comes from the card cache: only its id is read."""

    pk: int


class PageCards:
    """The card fragment cache of one list page (`{% product_cards %}`).

    A page rendered from the database (a page-cache miss, or a signed-in visitor, who never
    gets a cached page) spent a good part of its template time on its 24 cards, which are the
    same on every page a product appears on. Each card is stored under its product, the
    active language and script prefix (what its text and links depend on), with the tokens of
    the generations it was rendered under: `all` and the product's own, which
    `products_pages_invalidate` bumps on every change of what a card shows (title, price,
    stock, picture, rating, promotion badges; a shop's name through `all`).

    Built from the page's ids *before* its rows are read (one MGET of the cards and their
    generations): a card rendered from rows older than a bump is then stored under the tokens
    before the bump, so never served after it. As the page cache: on only when
    `PAGE_CACHE_TTL` is (the services bump generations only then), a card lives at most
    `PAGE_CACHE_TTL` (the bound for what time alone changes: the "new shop" badge), a
    generation missing from the cache counts as changed, and Redis being down means rendering
    every card.
    """

    def __init__(self, product_ids):
        self._variant = hashlib.sha256(f"{get_language() or ''}\n{get_script_prefix()}".encode()).hexdigest()[:16]
        self._tokens: dict[int, tuple] = {}
        self._found: dict[int, str] = {}
        ids = self._ids = list(dict.fromkeys(int(pk) for pk in product_ids))
        if not ids or not pagecache.enabled():
            return
        names = [pagecache.ALL, *(product_generation(pk) for pk in ids)]
        card_keys = {pk: _card_key(pk, self._variant) for pk in ids}
        try:
            found = cache.get_many([*card_keys.values(), *(pagecache.generation_key(n) for n in names)])
            tokens = pagecache.generation_tokens(names, found)
        except RedisError:
            logger.exception("card cache unavailable; rendering every card")
            return
        every = tokens[pagecache.ALL]
        for pk, key in card_keys.items():
            mine = (every, tokens[product_generation(pk)])
            if None in mine:
                continue
            self._tokens[pk] = mine
            stored = found.get(key)
            if stored is not None and stored[0] == mine:
                self._found[pk] = stored[1]

    def missing(self) -> list[int]:
        """The page's products without a current card, in the page's order."""
        return [pk for pk in self._ids if pk not in self._found]

    def get(self, product_id: int) -> str | None:
        """The product's current card, or None to render it."""
        return self._found.get(product_id)

    def store(self, cards: dict[int, str]) -> None:
        """Store these freshly rendered cards (product id: HTML) under the tokens read before."""
        fresh = {
            _card_key(pk, self._variant): (self._tokens[pk], str(html))
            for pk, html in cards.items()
            if pk in self._tokens
        }
        if not fresh:
            return
        try:
            cache.set_many(fresh, timeout=settings.PAGE_CACHE_TTL)
        except RedisError:
            logger.exception("card cache unavailable; %d cards not stored", len(fresh))
