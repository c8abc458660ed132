"""Reads of the catalog app. Merchant-facing reads take the merchant, so a merchant only
ever reaches its own products, SKUs, stock and alerts (others are not found: None, which the views answer with 404)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models import BooleanField as BooleanFieldExpr
from django.db.models.functions import Upper
from django.utils import timezone

from marketplace.compiled import ID_MARKER_BASE, TIME_MARKER, CompiledRead, id_markers
from marketplace.models import AuditLogEntry
from merchants.choices import MerchantStatus

from .choices import ListingStatus, MovementKind, RevisionStatus
from .models import (
    SKU,
    Category,
    CategoryGrant,
    Product,
    ProductImage,
    ProductRevision,
    Stock,
    StockAlert,
    StockMovement,
    Tag,
    TopBrand,
    Warehouse,
)

# --- Categories ----------------------------------------------------------------------------


def category_list(*, active_only: bool = True) -> QuerySet[Category]:
    qs = Category.objects.select_related("parent")
    return qs.filter(is_active=True) if active_only else qs


def category_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """(id, "Parent › Child") pairs in tree order, for forms and filters."""
    # Three columns as tuples, not model instances: the search page shows this on every
    # render (1.3 ms of CPU for 30 categories as instances with their parents joined).
    rows = _CATEGORY_NAMES.read(active_only, markers={}, values={}) if active_only else None
    if rows is None:
        rows = Category.objects.values_list("pk", "name", "parent_id")
    by_id = {pk: (name, parent_id) for pk, name, parent_id in rows}

    def path(pk):
        names = []
        seen = set()
        while pk in by_id and pk not in seen:
            seen.add(pk)
            name, pk = by_id[pk]
            names.append(name)
        return " › ".join(reversed(names))

    return sorted(((pk, path(pk)) for pk in by_id), key=lambda pair: pair[1])


def category_names(ids) -> list[str]:
    names = dict(category_choices(active_only=False))
    return [names[i] for i in ids if i in names]


#: The storefront's reads of the category table, compiled once per process
#: (marketplace.compiled): they have no parameter, and compiling them cost more CPU than
#: PostgreSQL spends reading a few dozen rows (category and search pages, home uncached).
_ACTIVE_CATEGORIES = CompiledRead(lambda: Category.objects.filter(is_active=True).order_by("position", "name"))
_EVERY_CATEGORY = CompiledRead(lambda: Category.objects.order_by("position", "name", "id"))
_CATEGORY_NAMES = CompiledRead(lambda: Category.objects.filter(is_active=True).values_list("pk", "name", "parent_id"))


def category_tree() -> list[dict]:
    """Active categories as nested dicts {category, children}, in position order."""
    categories = _ACTIVE_CATEGORIES.read(None, markers={}, values={})
    nodes = {c.pk: {"category": c, "children": []} for c in categories}
    roots = []
    for c in categories:
        parent = nodes.get(c.parent_id)
        (parent["children"] if parent else roots).append(nodes[c.pk])
    return roots


def category_get_by_slug(slug: str) -> Category | None:
    return Category.objects.filter(slug=slug, is_active=True).select_related("parent").first()


def granted_categories(merchant) -> QuerySet[Category]:
    return Category.objects.filter(grants__merchant=merchant).order_by("position", "name")


def grant_list(merchant) -> QuerySet[CategoryGrant]:
    return CategoryGrant.objects.filter(merchant=merchant).select_related("category", "granted_by")


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.all()


def tag_list_storefront() -> list[Tag]:
    """`tag_list()` as a list, its SQL compiled once per process (the list pages' filters
    show every tag on every render)."""
    return _EVERY_TAG.read(None, markers={}, values={})


_EVERY_TAG = CompiledRead(tag_list)


# --- Storefront ----------------------------------------------------------------------------


def boost_window_start():
    """The moment from which a shop that went live counts as new (traffic support)."""
    return timezone.now() - timedelta(days=settings.NEW_MERCHANT_BOOST_DAYS)


def product_public_queryset(*, boost_since=None) -> QuerySet[Product]:
    """Products buyers may see: published, not withdrawn, of a live merchant.

    Annotated with `boosted` (the merchant went live within NEW_MERCHANT_BOOST_DAYS: traffic
    support puts these first in listings; `boost_since`: the start of that window, by
    default `boost_window_start()`). `in_stock` is a column of the product row, kept by
    catalog.services.listing, so neither filtering nor showing it probes SKUs and stock per row.
    """
    boost_since = boost_window_start() if boost_since is None else boost_since
    return (
        Product.objects.filter(
            published_at__isnull=False,
            withdrawn_at__isnull=True,
            merchant__status=MerchantStatus.LIVE,
            min_price__isnull=False,
        )
        .select_related("merchant", "category")
        # Public pages never show these; deferring them also skips their SM4 decryption.
        .defer("merchant__legal_rep_id_number", "merchant__bank_account_number", "merchant__description")
        .annotate(
            boosted=Case(
                When(merchant__live_since__gte=boost_since, then=Value(True)),
                default=Value(False),
                output_field=BooleanFieldExpr(),
            ),
        )
    )


def product_new_shop(queryset: QuerySet[Product]) -> Q:
    """The condition behind the `boosted` annotation of a `product_public_queryset()`
    queryset (its merchant went live since the moment the queryset was built), as a filter
    on the merchant's column: a list split on it reads each part along a listing index,
    where ordering by the CASE would sort every match (catalog.filters.ProductPaginator)."""
    return queryset.query.annotations["boosted"].cases[0].condition


def live_images(lookup: str = "images") -> Prefetch:
    """Prefetch a product's live images, in position order, into `live_images`. `lookup` is
    the path to the images from the queryset's model (`sku__product__images` from a cart line)."""
    return Prefetch(
        lookup, queryset=ProductImage.objects.filter(is_live=True).order_by("position", "id"), to_attr="live_images"
    )


def sku_on_sale(prefix: str = "") -> Q:
    """The condition "this SKU is on sale" (active, of a product `product_public_queryset`
    shows: published, not withdrawn, priced, of a live merchant) as plain joins from the
    SKU, for filters and annotations; `prefix` is the path to the SKU from the queryset's
    model ("sku__" from a cart line).

    The same set as filtering on `product_public_queryset().values("pk")`, without building
    that queryset (its select_related, defer and `boosted` annotation) only to take its pks:
    the cart checks this on every add and shows it per line, and compiling the heavy form
    cost more CPU than the rest of the statement.
    """
    return Q(
        **{
            f"{prefix}is_active": True,
            f"{prefix}product__published_at__isnull": False,
            f"{prefix}product__withdrawn_at__isnull": True,
            f"{prefix}product__min_price__isnull": False,
            f"{prefix}product__merchant__status": MerchantStatus.LIVE,
        }
    )


def sku_public_queryset() -> QuerySet[SKU]:
    """SKUs buyers may put in a cart: active, of a product catalog shows to the public
    (`sku_on_sale`)."""
    return SKU.objects.filter(sku_on_sale())


def sku_available_units(sku: OuterRef) -> Subquery:
    """The units of the SKU `sku` refers to available in active warehouses (on hand less
    reserved), as a subquery for `annotate`; None when it has no stock row."""
    available = (
        Stock.objects.filter(sku=sku, warehouse__is_active=True)
        .values("sku")
        .annotate(units=Sum(F("on_hand") - F("reserved")))
        .values("units")
    )
    return Subquery(available, output_field=IntegerField())


def sku_list_for_checkout(ids) -> QuerySet[SKU]:
    """The SKUs of `ids` with their product, category and merchant joined, whatever their
    state: checkout decides which of them are on sale."""
    return SKU.objects.filter(pk__in=ids).select_related("product", "product__category", "merchant")


def _product_page_row(*, product_id, boost_since) -> QuerySet[Product]:
    return (
        product_public_queryset(boost_since=boost_since)
        # What the page and the API detail show: not the search text, moderation notes and
        # the merchant's other columns (compiling and loading them was a fifth of the page's CPU).
        .only(*_LISTING_FIELDS, "description")
        .filter(pk__in=[product_id])
    )


#: The product page's row, compiled once per process (marketplace.compiled): building and
#: compiling this queryset (two joins, deferred columns, the `boosted` CASE) cost more CPU
#: than PostgreSQL spends running it.
_PRODUCT_PAGE_ROW = CompiledRead(_product_page_row)
_PRODUCT_PAGE_IMAGES = CompiledRead(
    lambda *, product_id: ProductImage.objects.filter(product_id=product_id, is_live=True).order_by("position", "id")
)
_PRODUCT_PAGE_SKUS = CompiledRead(
    lambda *, product_id: (
        SKU.objects.filter(product_id=product_id, is_active=True)
        .annotate(available=Sum(F("stock__on_hand") - F("stock__reserved"), default=0))
        .order_by("price", "id")
    )
)


def product_get_public(product_id: int) -> Product | None:
    """A product page: live images, active SKUs with their available units."""
    rows = _PRODUCT_PAGE_ROW.read(
        None,
        markers={"product_id": ID_MARKER_BASE, "boost_since": TIME_MARKER},
        values={"product_id": int(product_id), "boost_since": boost_window_start()},
    )
    if not rows:
        return None
    product = rows[0]
    # What `prefetch_related(live_images(), Prefetch("skus", …, to_attr="active_skus"))`
    # leaves, from compiled reads (each child's product cached, as a prefetch does).
    marker, value = {"product_id": ID_MARKER_BASE}, {"product_id": product.pk}
    product.live_images = _PRODUCT_PAGE_IMAGES.read(None, markers=marker, values=value)
    product.active_skus = _PRODUCT_PAGE_SKUS.read(None, markers=marker, values=value)
    for child in (*product.live_images, *product.active_skus):
        type(child).product.field.set_cached_value(child, product)
    prefetch_related_objects(rows, "tags")
    return product


def featured_products(limit: int = 12) -> QuerySet[Product]:
    return (
        product_public_queryset()
        .filter(Q(is_featured=True) | Q(boosted=True))
        .prefetch_related(live_images())
        .order_by("-boosted", "-is_featured", "-published_at")[:limit]
    )


# --- Merchant portal ------------------------------------------------------------------------


def product_list_for_merchant(merchant) -> QuerySet[Product]:
    return (
        Product.objects.filter(merchant=merchant)
        .select_related("category")
        .annotate(
            pending_revision=Exists(
                ProductRevision.objects.filter(product=OuterRef("pk"), status=RevisionStatus.PENDING)
            )
        )
        .order_by("-updated_at", "-id")
    )


def product_get_for_merchant(merchant, product_id: int) -> Product | None:
    return (
        Product.objects.filter(merchant=merchant, pk=product_id)
        .select_related("category")
        .prefetch_related("tags", "images", "skus")
        .first()
    )


def sku_get_for_merchant(merchant, sku_id: int) -> SKU | None:
    return SKU.objects.filter(merchant=merchant, pk=sku_id).select_related("product").first()


def warehouse_list_for_merchant(merchant) -> QuerySet[Warehouse]:
    """Platform warehouses and the merchant's own, active ones."""
    return Warehouse.objects.filter(Q(merchant__isnull=True) | Q(merchant=merchant), is_active=True).order_by(
        "region", "code"
    )


def warehouse_get_for_merchant(merchant, warehouse_id: int) -> Warehouse | None:
    return warehouse_list_for_merchant(merchant).filter(pk=warehouse_id).first()


def stock_list_for_merchant(merchant) -> QuerySet[Stock]:
    return (
        Stock.objects.filter(sku__merchant=merchant)
        .select_related("sku", "sku__product", "warehouse")
        .annotate(available_units=F("on_hand") - F("reserved"))
        .order_by("sku__product_id", "sku_id", "warehouse__code")
    )


def alert_list_for_merchant(merchant, *, open_only: bool = True) -> QuerySet[StockAlert]:
    qs = StockAlert.objects.filter(merchant=merchant).select_related("stock__sku__product", "stock__warehouse")
    return qs.filter(closed_at__isnull=True) if open_only else qs


# --- Moderation -------------------------------------------------------------------------


def moderation_queue() -> QuerySet[Product]:
    """Listings waiting for a reviewer, oldest submission first."""
    return (
        Product.objects.filter(status=ListingStatus.SUBMITTED)
        .select_related("merchant", "category")
        .order_by("submitted_at", "id")
    )


def revision_queue() -> QuerySet[ProductRevision]:
    return (
        ProductRevision.objects.filter(status=RevisionStatus.PENDING)
        .select_related("product", "product__merchant", "category")
        .order_by("submitted_at", "id")
    )


# --- Merchant portal and API: filtered lists and details ---------------------------------


def product_search_for_merchant(
    merchant, *, status: str = "", category_ids=None, q: str = "", pending_revision: bool | None = None
) -> QuerySet[Product]:
    """The merchant's products narrowed by listing status, categories (ids, already
    expanded to descendants by the caller), a title fragment and whether an edit waits for
    review; annotated with `sku_count`."""
    qs = product_list_for_merchant(merchant).annotate(sku_count=Count("skus", distinct=True))
    if status:
        qs = qs.filter(status=status)
    if category_ids is not None:
        qs = qs.filter(category_id__in=category_ids)
    if q:
        qs = qs.filter(title__icontains=q)
    if pending_revision is not None:
        qs = qs.filter(pending_revision=pending_revision)
    return qs


def product_pending_revision(product: Product) -> ProductRevision | None:
    """The edit of a published product waiting for a reviewer, if any."""
    return product.revisions.filter(status=RevisionStatus.PENDING).select_related("category").first()


def product_latest_decided_revision(product: Product) -> ProductRevision | None:
    """The most recently reviewed revision (approved or rejected), for its review note."""
    return (
        product.revisions.filter(status__in=[RevisionStatus.APPROVED, RevisionStatus.REJECTED])
        .order_by("-reviewed_at", "-id")
        .first()
    )


def product_image_get_for_merchant(merchant, image_id: int) -> ProductImage | None:
    """Any picture of the merchant's products, live or waiting for review."""
    return ProductImage.objects.filter(product__merchant=merchant, pk=image_id).first()


def sku_list_for_merchant(merchant) -> QuerySet[SKU]:
    return SKU.objects.filter(merchant=merchant).select_related("product").order_by("code")


def sku_get_by_code_for_merchant(merchant, code: str) -> SKU | None:
    return SKU.objects.filter(merchant=merchant, code=code).select_related("product").first()


def stock_search_for_merchant(
    merchant, *, q: str = "", warehouse_id: int | None = None, product_id=None, sku_id=None, low_only: bool = False
) -> QuerySet[Stock]:
    """The merchant's stock levels narrowed by a SKU code or product title fragment, a
    warehouse, a product, a SKU, or to rows whose available units are below the reorder point."""
    qs = stock_list_for_merchant(merchant)
    if q:
        qs = qs.filter(Q(sku__code__icontains=q) | Q(sku__product__title__icontains=q))
    if warehouse_id:
        qs = qs.filter(warehouse_id=warehouse_id)
    if product_id:
        qs = qs.filter(sku__product_id=product_id)
    if sku_id:
        qs = qs.filter(sku_id=sku_id)
    if low_only:
        qs = qs.filter(sku__reorder_point__gt=0, available_units__lt=F("sku__reorder_point"))
    return qs


def stock_get_for_merchant(merchant, stock_id: int) -> Stock | None:
    return stock_list_for_merchant(merchant).filter(pk=stock_id).first()


def movement_list_for_stock(stock: Stock):
    """The history of one stock level, newest first (callers pass a merchant-scoped row)."""
    return stock.movements.select_related("actor").order_by("-created_at", "-id")


# --- Staff screens ----------------------------------------------------------------------


def product_history(product: Product):
    """The product's audit trail, newest first: creation, submissions, moderation decisions
    and revisions (who, when, why)."""
    return (
        AuditLogEntry.objects.filter(object_type="catalog.product", object_id=str(product.pk))
        .select_related("actor")
        .order_by("-seq")
    )


# --- Storefront pages and the public API ------------------------------------------------

LOW_STOCK_THRESHOLD = 5  # at or below this many units, buyers see "only N left"

# Listings read only what a product card shows: the merchant's encrypted columns are never
# decrypted for a public list, and long texts (description, search_text) stay in the table.
_LISTING_FIELDS = (
    "id",
    "title",
    "min_price",
    "in_stock",
    "published_at",
    "is_featured",
    # The cards' star rating (marketplace.ratings): read with the row, no query per card.
    "rating_count",
    "rating_total",
    "merchant__id",
    "merchant__slug",
    "merchant__shop_name",
    "merchant__company_name",
    "merchant__status",
    "merchant__live_since",
    # Platform promotions' badges skip grade D shops (promotions.selectors.promotion_badges).
    "merchant__credit_grade",
    "category__id",
    "category__name",
    "category__slug",
)


def product_list_public(*, boost_since=None) -> QuerySet[Product]:
    """Public products for list pages and the API list, unordered (catalog.filters orders).

    Merchant and category are joined, and `first_image_id` is the id of the first live
    picture (None without one), the only picture a card shows: a page costs the same number
    of queries whatever its size. Read in the row, not prefetched: the prefetch was a query
    more and a ProductImage per picture, half the CPU of reading a page's 24 rows.
    """
    first_image = (
        ProductImage.objects.filter(product=OuterRef("pk"), is_live=True).order_by("position", "id").values("pk")[:1]
    )
    return (
        product_public_queryset(boost_since=boost_since)
        .only(*_LISTING_FIELDS)
        .annotate(first_image_id=Subquery(first_image))
    )


def product_list_featured(limit: int = 12) -> list[Product]:
    """`featured_products()` with the listing columns, without reading the whole catalogue:
    the rows of `product_featured_ids()`, in its order."""
    return product_list_by_ids(product_featured_ids(limit))


def product_featured_ids(limit: int = 12) -> list[int]:
    """The ids of `featured_products()[:limit]`, in its order (the home page's featured list).

    `is_featured OR boosted` in one WHERE is a scan of every product (15 ms at 25,000). The
    candidates are read instead as three index-ordered parts of one UNION ALL, each newest
    first and stopping at `limit` rows: new shops' featured products, their other products,
    and the featured products of the other shops (the partial index product_featured_idx).
    Merged here in the order of `featured_products()`.
    """
    read = _FEATURED_CANDIDATES.get(limit)
    if read is None:
        read = _FEATURED_CANDIDATES[limit] = CompiledRead(partial(_featured_candidates, limit))
    since = boost_window_start()
    candidates = read.read(None, markers=_FEATURED_MARKERS, values=dict.fromkeys(_FEATURED_MARKERS, since))
    ordered = sorted(candidates, key=lambda row: (row[1], row[2], row[3], row[0]), reverse=True)
    return [row[0] for row in ordered[:limit]]


def _featured_candidates(limit: int, **since) -> QuerySet[Product]:
    """`product_featured_ids`' statement; `since`: the start of the new shops' window, one
    value per place it appears (`new_shop0`…, `boosted0`…: a compiled read's markers)."""
    columns = ("pk", "boosted", "is_featured", "published_at")
    # Each part in the order of a listing index (newest first) with a filter on its covered
    # columns, so it stops after `limit` rows: ordered by `is_featured` first, the new shops'
    # part read and sorted every product of the catalogue (8.7 ms at 25,000).
    newest = ("-published_at", "-id")
    parts = []
    for index, (of_new_shop, is_featured) in enumerate(((True, True), (True, False), (False, True))):
        # On the merchant's column, not the `boosted` CASE: PostgreSQL then knows how few
        # shops are new and reads their products by merchant instead of scanning the catalogue.
        new_shop = Q(merchant__live_since__gte=since[f"new_shop{index}"])
        part = product_public_queryset(boost_since=since[f"boosted{index}"]).filter(
            new_shop if of_new_shop else ~new_shop, is_featured=is_featured
        )
        parts.append(part.order_by(*newest).values_list(*columns)[:limit])
    first, *others = parts
    return first.union(*others, all=True)


#: `product_featured_ids`' statement compiled once per process and `limit`
#: (marketplace.compiled): building and compiling its three parts was a third of the home
#: page's CPU when rendered from the database; only the window's start changes between calls.
_FEATURED_CANDIDATES: dict[int, CompiledRead] = {}
_FEATURED_MARKERS = {
    f"{name}{index}": TIME_MARKER + timedelta(seconds=2 * index + offset)
    for index in range(3)
    for offset, name in enumerate(("new_shop", "boosted"))
}


def product_list_by_ids(ids) -> list[Product]:
    """The public products of `ids` with the listing columns (`product_list_public()`), in
    the order of `ids`; those no longer public are left out."""
    ids = list(ids)
    if not ids:
        return []
    if len(ids) > _COMPILED_IDS_MAX:
        rows = product_list_public().in_bulk(ids)
    else:
        read = _PUBLIC_BY_IDS.read(
            len(ids),
            markers={"ids": id_markers(len(ids)), "boost_since": TIME_MARKER},
            values={"ids": ids, "boost_since": boost_window_start()},
        )
        rows = {p.pk: p for p in read}
    return [rows[pk] for pk in ids if pk in rows]


#: The rows of a list page's cards (`product_list_by_ids`), compiled once per process and
#: number of ids (marketplace.compiled): building and compiling `product_list_public()` (two
#: joins, the picture subquery, the `boosted` CASE) was about 1.5 ms of CPU of every list
#: page, more than PostgreSQL spends reading 24 rows by id. Up to this many ids (a page's
#: worth or two): longer lists are rare, so not worth one compiled statement per length.
_COMPILED_IDS_MAX = 48
_PUBLIC_BY_IDS = CompiledRead(
    lambda *, ids, boost_since: product_list_public(boost_since=boost_since).filter(pk__in=ids)
)


def stock_level(available: int) -> str:
    """What buyers see of a SKU's stock: "in_stock", "low" (the number is shown) or "out_of_stock"."""
    if available <= 0:
        return "out_of_stock"
    return "low" if available <= LOW_STOCK_THRESHOLD else "in_stock"


def product_get_public_page(product_id: int) -> Product | None:
    """`product_get_public` plus what the product page and API detail show: `price_max`, and
    each active SKU's `stock_level`."""
    product = product_get_public(product_id)
    if product is None:
        return None
    product.price_max = max((sku.price for sku in product.active_skus), default=product.min_price)
    for sku in product.active_skus:
        sku.stock_level = stock_level(sku.available)
    return product


def product_image_get_public(image_id: int) -> ProductImage | None:
    """A live image of a publicly visible product; anything else is not found."""
    image = ProductImage.objects.filter(
        pk=image_id, is_live=True, product__in=product_public_queryset().values("pk")
    ).first()
    return image


def category_path(category: Category) -> list[Category]:
    """The category's ancestors and itself, root first (one query, whatever the depth)."""
    by_id = {c.pk: c for c in Category.objects.only("id", "name", "slug", "parent_id", "is_active")}
    path, seen, node = [], set(), category
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        path.append(node)
        node = by_id.get(node.parent_id)
    # A closed ancestor has no page to link to.
    return [c for c in reversed(path) if c.is_active]


# The category and its ancestors, nearest first, walked up in SQL (a depth bound guards
# against a cycle the single-row constraint cannot see).
_ANCESTOR_IDS_SQL = (
    "(WITH RECURSIVE up(id, parent_id, depth) AS ("
    f"SELECT c.id, c.parent_id, 0 FROM {Category._meta.db_table} c WHERE c.id = %(expressions)s "
    f"UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM {Category._meta.db_table} p "
    "JOIN up ON p.id = up.parent_id WHERE up.depth < 32) "
    "SELECT array_agg(up.id ORDER BY up.depth) FROM up)"
)


def category_ancestor_ids(category_field: str) -> Func:
    """An expression for annotations: the ids of the category in `category_field` (e.g.
    "product__category_id") and of all its ancestors, nearest first, as an array, computed
    in the same query (promotions match a category scope against it: a category includes
    its descendants)."""
    return Func(F(category_field), template=_ANCESTOR_IDS_SQL, output_field=ArrayField(BigIntegerField()))


@dataclass(frozen=True)
class CategoryPage:
    """What a category's storefront page shows of the category tree."""

    category: Category
    path: list[Category]  # its active ancestors and itself, root first
    children: list[Category]  # its active subcategories, in position order
    listed_ids: set[int]  # it and every category below it: the products listed


def category_page(slug: str) -> CategoryPage | None:
    """The active category of `slug` with its path, children and the categories below it,
    from one read of the category table (a few hundred rows at most), where
    `category_get_by_slug`, `category_path`, `category_children` and
    `category_descendant_ids` read it four times; None when there is no such active category."""
    categories = _EVERY_CATEGORY.read(None, markers={}, values={})
    category = next((c for c in categories if c.slug == slug and c.is_active), None)
    if category is None:
        return None
    by_id = {c.pk: c for c in categories}
    children: dict[int | None, list[Category]] = {}
    for c in categories:
        children.setdefault(c.parent_id, []).append(c)
    path, seen, node = [], set(), category
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        path.append(node)
        node = by_id.get(node.parent_id)
    listed, stack = set(), [category.pk]
    while stack:
        current = stack.pop()
        if current not in listed:
            listed.add(current)
            stack.extend(c.pk for c in children.get(current, []))
    return CategoryPage(
        category=category,
        # A closed ancestor has no page to link to.
        path=[c for c in reversed(path) if c.is_active],
        children=[c for c in children.get(category.pk, []) if c.is_active],
        listed_ids=listed,
    )


def category_children(category: Category) -> QuerySet[Category]:
    return Category.objects.filter(parent=category, is_active=True).order_by("position", "name")


# --- Categories: rates and grants (read by the services and the pages) ---------------------


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


def replenishment_suggestions(*, merchant, today=None) -> list[dict]:
    """Per active SKU: average daily units shipped over the last 28 days × lead time + safety
    stock − available (all warehouses), never negative. Rounded up to whole units."""
    days = settings.REPLENISHMENT_HISTORY_DAYS
    since = (today or timezone.now()) - timedelta(days=days)
    skus = list(
        SKU.objects.filter(merchant=merchant, is_active=True).select_related("product").order_by("product_id", "id")
    )
    shipped = dict(
        StockMovement.objects.filter(stock__sku__merchant=merchant, kind=MovementKind.SHIPMENT, created_at__gte=since)
        .values("stock__sku_id")
        .annotate(units=Sum("on_hand_delta"))
        .values_list("stock__sku_id", "units")
    )
    levels = {
        sku_id: (on_hand or 0) - (reserved or 0)
        for sku_id, on_hand, reserved in Stock.objects.filter(sku__merchant=merchant)
        .values("sku_id")
        .annotate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
        .values_list("sku_id", "on_hand", "reserved")
    }
    rows = []
    for sku in skus:
        units = -(shipped.get(sku.pk) or 0)
        velocity = units / days
        available = levels.get(sku.pk, 0)
        suggestion = max(0, math.ceil(velocity * sku.lead_time_days + sku.safety_stock - available))
        rows.append(
            {
                "sku": sku,
                "units_sold": units,
                "daily_velocity": round(velocity, 2),
                "available": available,
                "suggested": suggestion,
            }
        )
    return rows


# --- Dashboards (the operations dashboard) -------------------------------------------------


def sku_on_sale_count() -> int:
    """How many SKUs buyers can buy now (`sku_on_sale`): the launch target counts these."""
    return SKU.objects.filter(sku_on_sale()).count()


@dataclass(frozen=True)
class BrandCoverage:
    category_id: int
    category: str
    listed: int
    covered: int

    @property
    def share(self) -> Decimal | None:
        """Covered brands as a percentage of the listed ones (one decimal), None when none is listed."""
        if not self.listed:
            return None
        return (Decimal(self.covered) * 100 / self.listed).quantize(Decimal("0.1"))


def top_brand_coverage() -> list[BrandCoverage]:
    """Per category with a TOP brand list: how many brands operations listed and how many of
    them have a product on sale in the category, in one query.

    Products carry no brand field: a brand is covered when the title of a product on sale in
    the category (published, not withdrawn, priced, of a live merchant) contains the brand's
    name, case-insensitively (as `icontains`).

    Why not `Exists(title__icontains=OuterRef("name"))` per brand: that compares every brand
    with every title of its category (2,500 brands × 400 titles with 10,000 merchants: 4 s in
    bench/dashboards.py). Here the titles on sale are read once, joined per category into one
    upper-cased text (a line per title: a brand name, one line of text, never spans two), and
    each brand is one `strpos` in its category's text.
    """
    titles = (
        Product.objects.filter(
            published_at__isnull=False,
            withdrawn_at__isnull=True,
            min_price__isnull=False,
            merchant__status=MerchantStatus.LIVE,
            category_id__in=TopBrand.objects.values("category_id"),
        )
        .values("category_id")
        .annotate(text=StringAgg(Upper("title"), delimiter="\n"))
        .order_by()
    )
    titles_sql, params = titles.query.sql_with_params()
    brand, category = TopBrand._meta.db_table, Category._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.category_id, c.name, COUNT(*),
                   COUNT(*) FILTER (WHERE strpos(t.text, UPPER(b.name)) > 0)
            FROM {brand} b
            JOIN {category} c ON c.id = b.category_id
            LEFT JOIN ({titles_sql}) t ON t.category_id = b.category_id
            GROUP BY b.category_id, c.name
            ORDER BY c.name, b.category_id
            """,
            params,
        )
        rows = cursor.fetchall()
    return [
        BrandCoverage(category_id=category_id, category=name, listed=listed, covered=covered)
        for category_id, name, listed, covered in rows
    ]


# --- Read by risk's alert jobs (issue #15): one aggregate over every merchant ----------------


def open_stock_alerts_by_merchant() -> dict[int, dict]:
    """Per merchant id with open stock alerts (available below the reorder point): how many,
    and the lowest available among them."""
    rows = (
        StockAlert.objects.filter(closed_at__isnull=True)
        .order_by()
        .values("merchant_id")
        .annotate(n=Count("id"), lowest=Min("available_at_open"))
        .values_list("merchant_id", "n", "lowest")
    )
    return {merchant_id: {"skus_below": n, "lowest_available": lowest} for merchant_id, n, lowest in rows}


def stock_turnover_by_merchant(*, since, until) -> dict[int, tuple[int, int]]:
    """Per merchant id holding stock: (units on hand now, units shipped in [since, until))."""
    on_hand = dict(
        Stock.objects.filter(on_hand__gt=0)
        .order_by()
        .values("sku__merchant_id")
        .annotate(units=Sum("on_hand"))
        .values_list("sku__merchant_id", "units")
    )
    shipped = dict(
        StockMovement.objects.filter(kind=MovementKind.SHIPMENT, created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("stock__sku__merchant_id")
        .annotate(units=Sum("on_hand_delta"))
        .values_list("stock__sku__merchant_id", "units")
    )
    # Shipments take units off the shelf: their on-hand deltas are negative.
    return {merchant_id: (units, -(shipped.get(merchant_id) or 0)) for merchant_id, units in on_hand.items()}
