"""Reads of the catalog app. Merchant-facing reads take the merchant, so a merchant only
ever reaches its own products, SKUs, stock and alerts (others answer 404)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import BooleanField as BooleanFieldExpr
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from .models import (
    SKU,
    Category,
    CategoryGrant,
    ListingStatus,
    Product,
    ProductImage,
    ProductRevision,
    RevisionStatus,
    Stock,
    StockAlert,
    Tag,
    Warehouse,
)

# --- Categories ----------------------------------------------------------------------------


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


def category_tree() -> list[dict]:
    """Active categories as nested dicts {category, children}, in position order."""
    categories = list(Category.objects.filter(is_active=True).order_by("position", "name"))
    nodes = {c.pk: {"category": c, "children": []} for c in categories}
    roots = []
    for c in categories:
        parent = nodes.get(c.parent_id)
        (parent["children"] if parent else roots).append(nodes[c.pk])
    return roots


def category_get_by_slug(slug: str) -> Category:
    category = Category.objects.filter(slug=slug, is_active=True).select_related("parent").first()
    if category is None:
        raise Http404("No such category.")
    return category


def granted_categories(merchant) -> QuerySet[Category]:
    return Category.objects.filter(grants__merchant=merchant).order_by("position", "name")


def grant_list(merchant) -> QuerySet[CategoryGrant]:
    return CategoryGrant.objects.filter(merchant=merchant).select_related("category", "granted_by")


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.all()


# --- Storefront ----------------------------------------------------------------------------


def _in_stock() -> Exists:
    return Exists(Stock.objects.filter(sku__product=OuterRef("pk"), sku__is_active=True, on_hand__gt=F("reserved")))


def product_public_queryset() -> QuerySet[Product]:
    """Products buyers may see: published, not withdrawn, of a live merchant.

    Annotated with `in_stock` and `boosted` (the merchant went live within
    NEW_MERCHANT_BOOST_DAYS: traffic support puts these first in listings).
    """
    from merchants.models import MerchantStatus

    boost_since = timezone.now() - timedelta(days=settings.NEW_MERCHANT_BOOST_DAYS)
    return (
        Product.objects.filter(
            published_at__isnull=False,
            withdrawn_at__isnull=True,
            merchant__status=MerchantStatus.LIVE,
            min_price__isnull=False,
        )
        .select_related("merchant", "category")
        .annotate(
            in_stock=_in_stock(),
            boosted=Case(
                When(merchant__live_since__gte=boost_since, then=Value(True)),
                default=Value(False),
                output_field=BooleanFieldExpr(),
            ),
        )
    )


def live_images() -> Prefetch:
    return Prefetch(
        "images", queryset=ProductImage.objects.filter(is_live=True).order_by("position", "id"), to_attr="live_images"
    )


def product_get_public(product_id: int) -> Product:
    """A product page: live images, active SKUs with their available units."""
    skus = (
        SKU.objects.filter(is_active=True)
        .annotate(available=Sum(F("stock__on_hand") - F("stock__reserved"), default=0))
        .order_by("price", "id")
    )
    product = (
        product_public_queryset()
        .prefetch_related(live_images(), Prefetch("skus", queryset=skus, to_attr="active_skus"), "tags")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise Http404("No such product.")
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


def product_get_for_merchant(merchant, product_id: int) -> Product:
    product = (
        Product.objects.filter(merchant=merchant, pk=product_id)
        .select_related("category")
        .prefetch_related("tags", "images", "skus")
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    return product


def sku_get_for_merchant(merchant, sku_id: int) -> SKU:
    sku = SKU.objects.filter(merchant=merchant, pk=sku_id).select_related("product").first()
    if sku is None:
        raise Http404("No such SKU.")
    return sku


def warehouse_list_for_merchant(merchant) -> QuerySet[Warehouse]:
    """Platform warehouses and the merchant's own, active ones."""
    return Warehouse.objects.filter(Q(merchant__isnull=True) | Q(merchant=merchant), is_active=True).order_by(
        "region", "code"
    )


def warehouse_get_for_merchant(merchant, warehouse_id: int) -> Warehouse:
    warehouse = warehouse_list_for_merchant(merchant).filter(pk=warehouse_id).first()
    if warehouse is None:
        raise Http404("No such warehouse.")
    return warehouse


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
