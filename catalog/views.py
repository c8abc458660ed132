"""Storefront pages: home, category, search, product, and the product pictures.

Everything here is public and read-only. Products come from `catalog.selectors`, which only
ever return what buyers may see (published, not withdrawn, of a live merchant); list pages
filter and order them with `catalog.filters.ProductFilter`, like the public API. A list page
costs the same number of queries whatever its size (merchant and category joined, pictures
prefetched).

Every visitor gets home, category, search, product and shop pages from the page cache
(`marketplace.pagecache`), invalidated by the catalog services (`catalog.pagecache`); a visitor
with a session (signed in, a cart, messages) gets them with their own header, cart count,
messages and sign-up prompt (`{% visitor_part %}` in the templates), so these views and their
templates' main parts never read the user or the session (`sessions=HOLES`). A home page
rendered from the database takes its category tree and featured ids from the reference cache
(`catalog.refcache`) and its cards from the card cache.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from marketplace.pagecache import HOLES, cached_page
from marketplace.shortcuts import found_or_404
from merchants.selectors import merchant_public_get
from orders.selectors import review_list_public
from promotions.selectors import (
    products_with_badges,
    promotion_banners_category,
    promotion_banners_home,
    promotion_list_live,
    promotion_list_shown,
)

from . import refcache, selectors
from .filters import ORDERING_CHOICES, ProductFilter, ProductPaginator
from .pagecache import HOME, LIST, CachedCard, PageCards, category_generation, product_generation

PAGE_SIZE = 24
REVIEWS_PAGE_SIZE = 10
IMAGE_FIELDS = {"small": "thumb_small", "medium": "thumb_medium", "full": "image"}
#: The query parameters list pages read (the filters and the page number); the page cache
#: drops any other.
LISTING_PARAMS = frozenset(ProductFilter.base_filters) | {"page"}


def _listing(request, template: str, *, data=None, queryset=None, scope=None, live=None, **context):
    """Render a product list page: filters from the query string, one page of products
    (of `queryset`, a `product_public_queryset()` or a function building one, by default
    all of it; `live`: the live promotions if the page has read them already, for the
    cards' badges; `scope`: hashable, what decides the SQL of a given `queryset` (e.g. the
    ids of the categories it lists), so that the paginator's statement is compiled once per
    process and filters, not per page)."""
    # Only the ids are read from `queryset` (the rows by id below): the plain public list,
    # not the listing columns and picture subquery of `product_list_public()` (building them
    # cost CPU on every page for nothing).
    filterset = ProductFilter(
        request.GET if data is None else data,
        queryset=selectors.product_public_queryset if queryset is None else queryset,
    )
    key = filterset.statement_key((template, scope)) if queryset is None or scope is not None else None
    # The filtered queryset built only if the paginator has no statement stored for the key
    # (the first page of these filters in the process): building it (the keyword's search
    # query and rank among it) was about 0.8 ms of CPU of a search page for nothing.
    page = ProductPaginator(lambda: filterset.qs, PAGE_SIZE, statement_key=key).get_page(request.GET.get("page"))
    # The cards' cache read before the rows (see PageCards); only the products whose card is
    # missing or stale are read (none: no rows nor badges query, the page is one MGET and the
    # ids' statement), in the paginator's order. Their rows are read by id from the unfiltered
    # public list (`product_list_by_ids`, its SQL compiled once per process): the ids already
    # matched the filters and the page's own scope (category, shop), and repeating the keyword
    # and price filters let PostgreSQL's generic plan of the prepared statement (from its 5th
    # use on a connection) intersect the text and price indexes over every match (6 ms
    # instead of 0.3).
    card_cache = PageCards(page.ids)
    missing = card_cache.missing()
    rows = {p.pk: p for p in products_with_badges(selectors.product_list_by_ids(missing), live=live)}
    absent = set(missing) - set(rows)  # left the public list since the ids were read
    page.object_list = [rows.get(pk) or CachedCard(pk) for pk in page.ids if pk not in absent]
    context.update(
        card_cache=card_cache,
        filter=filterset,
        page=page,
        tags=selectors.tag_list_storefront(),
        selected_tags=set(filterset.form.cleaned_data.get("tag") or []),
        orderings=ORDERING_CHOICES,
        ordering=filterset.applied_ordering,
    )
    return render(request, template, context)


@require_safe
@cached_page(lambda request: [HOME], sessions=HOLES)
def home(request):
    # The category tree and the featured ids from the reference cache (one MGET), then the
    # featured cards from the card cache, read before any row as on list pages (PageCards):
    # only the products without a current card have their rows and badges read.
    reference = refcache.reference("category_tree", "featured_ids")
    ids = reference["featured_ids"]
    card_cache = PageCards(ids)
    rows = {p.pk: p for p in products_with_badges(selectors.product_list_by_ids(card_cache.missing()))}
    featured = [rows.get(pk) or CachedCard(pk) for pk in ids if pk in rows or card_cache.get(pk) is not None]
    return render(
        request,
        "storefront/home.html",
        {
            "tree": reference["category_tree"],
            "featured": featured,
            "card_cache": card_cache,
            "banners": promotion_banners_home(),
        },
    )


@require_safe
@cached_page(lambda request, slug: [category_generation(slug)], params=LISTING_PARAMS, sessions=HOLES)
def category_page(request, slug: str):
    page = found_or_404(selectors.category_page(slug))
    data = request.GET.copy()
    # The page's category and those below it, whatever the query string says: read with the
    # category itself, not again by the category filter.
    data.pop("category", None)
    # The live promotions read once for the banners and the cards' badges (one query and its
    # compilation fewer: the two ran the same filter).
    live = promotion_list_shown()
    return _listing(
        request,
        "storefront/category.html",
        data=data,
        # Built only if the paginator compiles its statement (ProductFilter).
        queryset=lambda: selectors.product_public_queryset().filter(category_id__in=page.listed_ids),
        scope=frozenset(page.listed_ids),
        live=live,
        category=page.category,
        breadcrumb=page.path,
        children=page.children,
        banners=promotion_banners_category(page.path, live=live),
    )


@require_safe
@cached_page(lambda request: [LIST], params=LISTING_PARAMS, sessions=HOLES)
def search(request):
    return _listing(
        request,
        "storefront/search.html",
        q=request.GET.get("q", "").strip(),
        categories=selectors.category_choices(),
    )


@require_safe
@cached_page(lambda request, product_id: [product_generation(product_id)], params={"reviews_page"}, sessions=HOLES)
def product_page(request, product_id: int):
    product = found_or_404(selectors.product_get_public_page(product_id))
    products_with_badges([product])
    # The page's reviews: a page and its photos (two queries whatever the page's size, none
    # without reviews). Their number is the product row's counter of shown reviews, kept in
    # the transaction of every review change (marketplace.ratings), which the figures above
    # them show too: no COUNT of the reviews.
    paginator = Paginator(review_list_public(product.pk), REVIEWS_PAGE_SIZE)
    paginator.count = product.rating_count
    reviews = paginator.get_page(request.GET.get("reviews_page"))
    return render(request, "storefront/product.html", {"product": product, "reviews": reviews})


@require_safe
@cached_page(lambda request, slug: [LIST], params=LISTING_PARAMS, sessions=HOLES)
def shop_page(request, slug: str):
    """A live shop's public page: its rating, description and logo, its live promotions and
    its products on sale with the storefront's filters, sorting and pagination. Cached under
    `list` (any product, review or promotion change bumps it; shop changes bump everything)."""
    shop = found_or_404(merchant_public_get(slug))
    data = request.GET.copy()
    # The shop's products, whatever the query string says about the category.
    data.pop("category", None)
    return _listing(
        request,
        "storefront/shop.html",
        data=data,
        queryset=selectors.product_public_queryset().filter(merchant_id=shop.pk),
        scope=shop.pk,
        shop=shop,
        banners=list(promotion_list_live(merchant_id=shop.pk)),
    )


@require_safe
def product_image(request, image_id: int, size: str):
    """A live picture of a public product; any other picture is not found (404)."""
    image = found_or_404(selectors.product_image_get_public(image_id))
    file = getattr(image, IMAGE_FIELDS[size])
    if not file:
        raise Http404("No such picture.")
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("No such picture.") from exc
    # Pictures are re-encoded as JPEG on upload (catalog.images).
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
