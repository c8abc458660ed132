"""Catalog: the category tree and grants, tags, products (SPU) and SKUs with their images
and moderation, warehouses, stock levels, stock movements and stock alerts."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.choices import (
    ListingStatus,
    MovementKind,
    RevisionStatus,
    WarehouseKind,
)
from marketplace.ratings import rating_average, rating_counters_consistent
from marketplace.regions import Region
from marketplace.transitions import Transitions

from .errors import ListingInvalidTransition

MIN_COMMISSION_RATE = Decimal("0.0500")
MAX_COMMISSION_RATE = Decimal("0.1500")


#: The dearest a SKU may be. With at most 999 units a line and 100 lines an order (orders'
#: MAX_QUANTITY, MAX_LINES) every total stays far inside numeric(14, 2), settlement sums too.
MAX_SKU_PRICE = Decimal("1000000.00")
#: How many leading brands operations list per category (the proposal's TOP50).
TOP_BRANDS_PER_CATEGORY = 50


class Category(models.Model):
    """A node of the multi-level category tree.

    `commission_rate` is optional (5 %–15 %, as a fraction: 0.1000 = 10 %); unset means the
    nearest ancestor's, and the platform default setting at the root.
    """

    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=120, unique=True, allow_unicode=True)
    commission_rate = models.DecimalField(
        _("commission rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_COMMISSION_RATE), MaxValueValidator(MAX_COMMISSION_RATE)],
        help_text=_("Fraction between 0.05 and 0.15; empty to inherit from the parent."),
    )
    is_fresh = models.BooleanField(_("fresh produce"), default=False)
    is_cross_border = models.BooleanField(_("cross-border"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__isnull=True)
                | Q(commission_rate__gte=MIN_COMMISSION_RATE, commission_rate__lte=MAX_COMMISSION_RATE),
                name="category_commission_rate_range",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self):
        return self.name


class CategoryGrant(models.Model):
    """A category a merchant may sell in, from its contract. Staff manage the grants."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="category_grants"
    )
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, blank=True, on_delete=models.PROTECT
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("category grant")
        verbose_name_plural = _("category grants")
        constraints = [models.UniqueConstraint(fields=["merchant", "category"], name="category_grant_unique")]

    def __str__(self):
        return f"{self.merchant_id} → {self.category}"


class CategoryRateChange(models.Model):
    """A change of a category's commission rate: who, when, old and new (orders placed
    after it use the new rate, because order lines freeze the rate at placement)."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="rate_changes"
    )
    old_rate = models.DecimalField(_("old rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    new_rate = models.DecimalField(_("new rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("commission rate change")
        verbose_name_plural = _("commission rate changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.category}: {self.old_rate} → {self.new_rate}"


class Tag(models.Model):
    """A label for the multi-dimensional classification of products (many per product)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True, allow_unicode=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


_LISTED = Q(published_at__isnull=False, withdrawn_at__isnull=True, min_price__isnull=False)
_LISTING_COVER = ["merchant_id", "category_id", "in_stock", "is_featured"]


class Product(models.Model):
    """A product (SPU) of one merchant, sold through its SKUs.

    `status` is the moderation state of the product's own content. Once approved the product
    is published (`published_at` set) and stays on sale; later edits of moderated fields
    (title, description, category, tags, images) wait in a `ProductRevision` until a reviewer
    approves them, so buyers keep seeing the approved version meanwhile.
    """

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="products"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="products")
    status = models.CharField(
        _("status"), max_length=20, choices=ListingStatus.choices, default=ListingStatus.DRAFT, db_index=True
    )
    review_reason = models.TextField(_("review note"), blank=True)
    is_featured = models.BooleanField(_("featured on the home page"), default=False)
    # Denormalised from the active SKUs by the services, for fast price filters and sorting.
    min_price = models.DecimalField(_("lowest price"), max_digits=14, decimal_places=2, null=True, blank=True)
    # Whether an active SKU has units available, kept by catalog.services.listing: the in-stock
    # filter and the product cards read this column instead of probing SKUs and stock per row.
    in_stock = models.BooleanField(_("in stock"), default=False, editable=False)
    # The product's visible reviews (count, sum of stars), kept by orders.services.reviews
    # through catalog.services.ratings in the review's transaction: cards show the average
    # from the row the list already reads (marketplace.ratings).
    rating_count = models.PositiveIntegerField(_("reviews"), default=0, editable=False)
    rating_total = models.PositiveIntegerField(_("sum of review stars"), default=0, editable=False)
    # Title, description, tags and category as search tokens (catalog.search), kept by the
    # services, which also store its tsvector, GIN-indexed (migration 0004): matching and
    # ranking read it instead of parsing the text of every match again.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    search_vector = SearchVectorField(_("search vector"), null=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["category", "published_at"], name="product_category_pub_idx"),
            models.Index(fields=["merchant", "status"], name="product_merchant_status_idx"),
            models.Index(fields=["min_price"], name="product_min_price_idx"),
            # The listing keys of the products buyers may see (catalog.selectors'
            # product_public_queryset, less the merchant's status, which lives on another table).
            # Covering: a list without keywords (the catalogue, a category) is read from the
            # index alone (an index-only scan), not from the wide rows with their search text.
            models.Index(
                fields=["min_price", "id"],
                include=[*_LISTING_COVER, "published_at"],
                condition=_LISTED,
                name="product_listed_price_idx",
            ),
            models.Index(
                fields=["published_at", "id"],
                include=[*_LISTING_COVER, "min_price"],
                condition=_LISTED,
                name="product_listed_new_idx",
            ),
            models.Index(fields=["published_at"], condition=_LISTED & Q(is_featured=True), name="product_featured_idx"),
        ]
        constraints = [models.CheckConstraint(condition=rating_counters_consistent(), name="product_rating_consistent")]

    def __str__(self):
        return self.title

    @property
    def rating_average(self):
        return rating_average(self.rating_count, self.rating_total)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.withdrawn_at is None


# Moderation of a listing: action → (states it may start from, state it leads to). The one
# answer to "may this listing be submitted/approved/rejected/withdrawn now?" for the
# services, the admin's actions and the portal.
# - "withdraw": an approved listing is the one on sale (approving publishes it and clears
#   `withdrawn_at`; withdrawing is the only way out of approved), and goes back to draft;
# - "revise": an unpublished listing edited while in review goes back to draft, as what the
#   reviewer was looking at changed (edits in other states keep the state: `product_update`
#   asks the table first).
LISTING_TRANSITIONS = Transitions(
    {
        "submit": ({ListingStatus.DRAFT, ListingStatus.REJECTED}, ListingStatus.SUBMITTED),
        "approve": ({ListingStatus.SUBMITTED}, ListingStatus.APPROVED),
        "reject": ({ListingStatus.SUBMITTED}, ListingStatus.REJECTED),
        "withdraw": ({ListingStatus.APPROVED}, ListingStatus.DRAFT),
        "revise": ({ListingStatus.SUBMITTED}, ListingStatus.DRAFT),
    },
    error=ListingInvalidTransition,
    refusal=_("This cannot be done while the listing is “%(status)s”."),
    refusals={"withdraw": _("Only a product on sale can be withdrawn.")},
)


class ProductRevision(models.Model):
    """Edits of a published product's moderated fields, waiting for a reviewer."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(
        _("status"), max_length=20, choices=RevisionStatus.choices, default=RevisionStatus.PENDING
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+")
    tag_ids = models.JSONField(_("tags"), default=list, blank=True)
    # The ordered image ids the product will show once approved.
    image_ids = models.JSONField(_("images"), default=list, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reason = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("product revision")
        verbose_name_plural = _("product revisions")
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"], condition=Q(status="pending"), name="product_revision_one_pending"
            )
        ]

    def __str__(self):
        return f"{self.product_id}: {self.title}"


REVISION_TRANSITIONS = Transitions(
    {
        "approve": ({RevisionStatus.PENDING}, RevisionStatus.APPROVED),
        "reject": ({RevisionStatus.PENDING}, RevisionStatus.REJECTED),
    },
    error=ListingInvalidTransition,
    refusal=_("This revision is no longer pending."),
    extra_action=False,
)


def _image_path(instance, filename):
    return f"products/{instance.product_id}/{instance.sha256[:2]}/{instance.sha256}{filename}"


class ProductImage(models.Model):
    """A product picture, re-encoded by Pillow, with two thumbnails.

    `is_live` images are the ones buyers see; images added to a published product wait
    (`is_live` false) until the revision that lists them is approved.
    """

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to=_image_path, max_length=255)
    thumb_small = models.ImageField(_("small thumbnail"), upload_to=_image_path, max_length=255)
    thumb_medium = models.ImageField(_("medium thumbnail"), upload_to=_image_path, max_length=255)
    sha256 = models.CharField(_("content hash"), max_length=64, db_index=True)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_live = models.BooleanField(_("shown to buyers"), default=False)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "sha256"], name="product_image_no_duplicates")]

    def __str__(self):
        return f"{self.product_id}#{self.position}"


class SKU(models.Model):
    """A sellable variant of a product: attribute values, price, barcode, logistics data."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="skus")
    # Denormalised from the product so "unique SKU code per merchant" is a database constraint.
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="skus"
    )
    code = models.CharField(_("SKU code"), max_length=64)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    price = models.DecimalField(
        _("price"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_SKU_PRICE)],
    )
    barcode = models.CharField(_("barcode"), max_length=32, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=7)
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["product_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="sku_code_unique_per_merchant"),
            models.CheckConstraint(condition=Q(price__gt=0), name="sku_price_positive"),
            models.CheckConstraint(condition=Q(price__lte=MAX_SKU_PRICE), name="sku_price_at_most_max"),
        ]

    def __str__(self):
        return self.code

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in self.attributes.values()) or self.code


class Warehouse(models.Model):
    """A place that holds stock. Platform warehouses have no merchant; merchant ones do."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=WarehouseKind.choices)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    city = models.CharField(_("city"), max_length=50, blank=True)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="warehouses",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["region", "code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="merchant") & Q(merchant__isnull=False))
                | (~Q(kind="merchant") & Q(merchant__isnull=True)),
                name="warehouse_merchant_matches_kind",
            )
        ]

    def __str__(self):
        return self.name


class Stock(models.Model):
    """Units of one SKU in one warehouse. available = on_hand − reserved, never negative.

    Changed only by `catalog.services.stock`, which writes a `StockMovement` for every change.
    """

    sku = models.ForeignKey(SKU, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="stock")
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="stock"
    )
    on_hand = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["sku_id", "warehouse_id"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stock_unique_sku_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=models.F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["sku", "warehouse", "on_hand", "reserved"], name="stock_available_idx")]

    def __str__(self):
        return f"{self.sku_id}@{self.warehouse_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One change of a stock level. Deltas are signed; the levels after it are recorded so
    the history explains every level without replaying it."""

    stock = models.ForeignKey(Stock, verbose_name=_("stock level"), on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=20, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    on_hand_after = models.PositiveIntegerField(_("on hand after"))
    reserved_after = models.PositiveIntegerField(_("reserved after"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="stock_movement_kind_time_idx")]

    def __str__(self):
        return f"{self.kind} {self.on_hand_delta:+d}/{self.reserved_delta:+d}"


class StockAlert(models.Model):
    """Available stock fell below the SKU's reorder point in a warehouse.

    One open alert per SKU and warehouse (database constraint); closed when stock recovers.
    """

    stock = models.ForeignKey(Stock, verbose_name=_("stock level"), on_delete=models.CASCADE, related_name="alerts")
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="stock_alerts"
    )
    available_at_open = models.IntegerField(_("available when raised"))
    reorder_point = models.PositiveIntegerField(_("reorder point"))
    opened_at = models.DateTimeField(_("raised"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock alert")
        verbose_name_plural = _("stock alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["stock"], condition=Q(closed_at__isnull=True), name="stock_alert_one_open")
        ]

    def __str__(self):
        return f"{self.stock}: {self.available_at_open} < {self.reorder_point}"


class TopBrand(models.Model):
    """One of a category's leading brands, as operations list them (TOP50 per category, the
    proposal's brand coverage target: domain.md "What people expect around it").

    The catalog has no brand field on products, so a brand counts as covered when a product on
    sale in the category names it in its title (`catalog.selectors.top_brand_coverage`).
    """

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="top_brands"
    )
    name = models.CharField(_("brand"), max_length=100)
    rank = models.PositiveSmallIntegerField(
        _("rank"), validators=[MinValueValidator(1), MaxValueValidator(TOP_BRANDS_PER_CATEGORY)]
    )

    class Meta:
        verbose_name = _("top brand")
        verbose_name_plural = _("top brands")
        ordering = ["category_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["category", "rank"], name="top_brand_unique_rank"),
            models.UniqueConstraint(fields=["category", "name"], name="top_brand_unique_name"),
            models.CheckConstraint(
                condition=Q(rank__gte=1, rank__lte=TOP_BRANDS_PER_CATEGORY), name="top_brand_rank_range"
            ),
        ]

    def __str__(self):
        return f"{self.rank}. {self.name}"
