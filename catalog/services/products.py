"""Products, SKUs, pictures and listing moderation.

Guarantees:
- a merchant lists products only in categories granted to it (or below them), and only
  while it is an approved merchant (not terminated);
- moderation follows `catalog.models.LISTING_TRANSITIONS` through the kernel's `transition`
  helper (lock, check, one UPDATE, audit row); approval publishes the product, withdrawal
  takes it off sale (back to draft), and an edit of a listing in review sends it back to draft;
- once published, edits of moderated fields (title, description, category, tags, pictures)
  go to one pending `ProductRevision`, while buyers keep seeing the approved version until
  a reviewer approves the revision;
- SKU codes are unique per merchant; `Product.min_price` and `Product.search_text` always
  reflect the current SKUs and content (recomputed in the same transaction);
- every moderation decision is in the audit log.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Min, OuterRef, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.edits import audited_delete
from marketplace.jobs import enqueue_on_commit
from marketplace.money import quantize
from marketplace.pagecache import bump, invalidate_all
from marketplace.transitions import transition
from merchants.choices import ACTIVE_MERCHANT_STATES

from ..choices import RevisionStatus
from ..errors import CatalogConflict, CatalogError
from ..images import clean_product_image
from ..models import (
    LISTING_TRANSITIONS,
    MAX_SKU_PRICE,
    REVISION_TRANSITIONS,
    SKU,
    Category,
    Product,
    ProductImage,
    ProductRevision,
    Stock,
    Tag,
)
from ..pagecache import LIST, products_pages_invalidate
from ..search import CONFIG as SEARCH_CONFIG
from ..search import index_text
from ..selectors import merchant_may_sell_in
from .listing import listing_lock_products

MODERATED_FIELDS = ("title", "description", "category", "tags")
SKU_FIELDS = (
    "code",
    "attributes",
    "price",
    "barcode",
    "weight_grams",
    "reorder_point",
    "lead_time_days",
    "safety_stock",
    "is_active",
)


def _merchant_can_list(merchant) -> None:
    if merchant.status not in ACTIVE_MERCHANT_STATES:
        raise CatalogConflict(
            "merchant_cannot_list", _("Only approved merchants can list products."), {"status": merchant.status}
        )


def _check_category(merchant, category: Category) -> None:
    if not category.is_active:
        raise CatalogError("category_inactive", _("This category is closed for new products."))
    if not merchant_may_sell_in(merchant, category):
        raise CatalogError(
            "category_not_granted",
            _("Your contract does not cover the category “%(category)s”.") % {"category": category.name},
            {"category": category.pk},
        )


def _tags(tag_ids) -> list[Tag]:
    ids = sorted({int(i) for i in tag_ids or []})
    tags = list(Tag.objects.filter(pk__in=ids))
    if len(tags) != len(ids):
        raise CatalogError("unknown_tags", _("Some tags do not exist."))
    return tags


SEARCH_REFRESH_CHUNK = 500


def search_refresh_schedule(*, category=None, tag=None) -> int:
    """After the transaction commits, refresh in the background the search text (and vector)
    of the products that show this category's or tag's name, so a rename is found by its new
    name and no longer by the old one. Returns how many products are scheduled."""
    products = Product.objects.all()
    if category is not None:
        products = products.filter(category=category)
    if tag is not None:
        products = products.filter(tags=tag)
    return _schedule_search_refresh(products.values_list("pk", flat=True))


@transaction.atomic
def tags_delete(*, tags, actor) -> int:
    """Delete these tags, each audited (as every taxonomy edit is); the products that had
    them are refreshed after commit (their search text no longer holds the names). Returns
    how many tags were deleted."""
    tags = list(tags)
    ids = list(Product.objects.filter(tags__in=[tag.pk for tag in tags]).values_list("pk", flat=True).distinct())
    deleted = audited_delete(tags, action="catalog.tag_deleted", actor=actor)
    _schedule_search_refresh(ids)
    invalidate_all()  # list pages offer every tag as a filter; product pages show tags
    return deleted


def _schedule_search_refresh(product_ids) -> int:
    ids = sorted(product_ids)
    for start in range(0, len(ids), SEARCH_REFRESH_CHUNK):
        chunk = ids[start : start + SEARCH_REFRESH_CHUNK]
        enqueue_on_commit("catalog.tasks.products_search_refresh_task", chunk)
    return len(ids)


def products_search_refresh(product_ids: list[int]) -> int:
    """Recompute the search text (and vector) of these products from their current title,
    description, tags and category; returns how many exist still."""
    products = Product.objects.filter(pk__in=product_ids).select_related("category")
    count = 0
    for product in products:
        refresh_product_derived(product)
        count += 1
    bump([LIST])  # search finds them by the new words only now
    return count


def _clean_text(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise CatalogError("title_required", _("Give the product a title."))
    return title


def refresh_product_derived(product: Product) -> None:
    """Recompute the lowest active price, whether an active SKU is in stock (the listing keys
    of catalog.services.listing), the search text and its stored search vector of a product,
    in one UPDATE."""
    min_price = product.skus.filter(is_active=True).aggregate(m=Min("price"))["m"]
    tags = " ".join(product.tags.values_list("name", flat=True))
    text = index_text(product.title, product.description, tags, product.category.name)
    # The vector from the new text (in one UPDATE, a column expression would read the old one).
    search_vector = SearchVector(Value(text), config=SEARCH_CONFIG)
    in_stock = Exists(Stock.objects.filter(sku__product=OuterRef("pk"), sku__is_active=True, on_hand__gt=F("reserved")))
    # The row lock before the UPDATE reads the stock: a stock write emptying or refilling a SKU
    # of this product meanwhile (it locks the row too) is either committed and seen, or waits.
    listing_lock_products([product.pk])
    Product.objects.filter(pk=product.pk).update(
        min_price=min_price, in_stock=in_stock, search_text=text, search_vector=search_vector
    )
    # `in_stock` is left as loaded: nothing reads it from the instance a service returns.
    product.min_price, product.search_text = min_price, text


def _clean_sku(data: dict) -> dict:
    unknown = set(data) - set(SKU_FIELDS)
    if unknown:
        raise CatalogError("unknown_fields", _("Unknown SKU fields."), {"fields": sorted(unknown)})
    cleaned = dict(data)
    if "code" in cleaned:
        cleaned["code"] = (cleaned["code"] or "").strip()
        if not cleaned["code"]:
            raise CatalogError("sku_code_required", _("Every SKU needs a code."))
    if "price" in cleaned:
        try:
            cleaned["price"] = quantize(Decimal(str(cleaned["price"])))
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise CatalogError("invalid_price", _("Enter the price in yuan, e.g. 199.99.")) from exc
        if cleaned["price"] <= 0:
            raise CatalogError("invalid_price", _("The price must be greater than zero."))
        if cleaned["price"] > MAX_SKU_PRICE:
            raise CatalogError(
                "invalid_price",
                _("The price must be at most %(max)s.") % {"max": MAX_SKU_PRICE},
                {"max_price": str(MAX_SKU_PRICE)},
            )
    if "attributes" in cleaned:
        attributes = cleaned["attributes"] or {}
        if not isinstance(attributes, dict) or not all(isinstance(v, str | int) for v in attributes.values()):
            raise CatalogError("invalid_attributes", _("Attributes are names with text values, e.g. colour: red."))
        cleaned["attributes"] = {str(k).strip(): str(v).strip() for k, v in attributes.items() if str(k).strip()}
    for name in ("weight_grams", "reorder_point", "lead_time_days", "safety_stock"):
        if name in cleaned and (not isinstance(cleaned[name], int) or cleaned[name] < 0):
            raise CatalogError("invalid_number", _("%(field)s must be a whole number, 0 or more.") % {"field": name})
    return cleaned


@transaction.atomic
def product_create(
    *, merchant, actor, title: str, category: Category, description: str = "", tag_ids=(), skus=()
) -> Product:
    """Create a draft product with its SKUs (each a dict of SKU fields)."""
    _merchant_can_list(merchant)
    _check_category(merchant, category)
    product = Product.objects.create(
        merchant=merchant, category=category, title=_clean_text(title), description=(description or "").strip()
    )
    product.tags.set(_tags(tag_ids))
    for sku in skus:
        sku_create(product=product, actor=actor, data=sku)
    refresh_product_derived(product)
    audit_record(action="catalog.product_created", actor=actor, obj=product)
    return product


def _lock(product: Product) -> Product:
    return Product.objects.select_for_update().select_related("merchant", "category").get(pk=product.pk)


def _pending_revision(product: Product, actor) -> ProductRevision:
    revision = product.revisions.filter(status=RevisionStatus.PENDING).first()
    if revision is None:
        revision = ProductRevision.objects.create(
            product=product,
            title=product.title,
            description=product.description,
            category=product.category,
            tag_ids=sorted(product.tags.values_list("pk", flat=True)),
            image_ids=list(product.images.filter(is_live=True).values_list("pk", flat=True)),
            submitted_by=actor,
        )
    return revision


@transaction.atomic
def product_update(*, product: Product, actor, **changes) -> Product:
    """Change title, description, category or tags.

    Unpublished: applied at once (a submitted product goes back to draft). Published: kept
    in the pending revision; the approved version stays on sale until it is approved.
    """
    unknown = set(changes) - {"title", "description", "category", "tag_ids"}
    if unknown:
        raise CatalogError("unknown_fields", _("Unknown product fields."), {"fields": sorted(unknown)})
    locked = _lock(product)
    _merchant_can_list(locked.merchant)
    if "title" in changes:
        changes["title"] = _clean_text(changes["title"])
    if "category" in changes:
        _check_category(locked.merchant, changes["category"])
    tags = _tags(changes["tag_ids"]) if "tag_ids" in changes else None

    if locked.is_published:
        revision = _pending_revision(locked, actor)
        for field in ("title", "description", "category"):
            if field in changes:
                setattr(revision, field, changes[field])
        if tags is not None:
            revision.tag_ids = sorted(t.pk for t in tags)
        revision.submitted_by = actor
        revision.submitted_at = timezone.now()
        revision.save()
        audit_record(
            action="catalog.product_revision_submitted", actor=actor, obj=locked, data={"revision": revision.pk}
        )
        return locked

    edits = {field: changes[field] for field in ("title", "description", "category") if field in changes}
    if LISTING_TRANSITIONS.can("revise", locked):
        # What the reviewer was looking at changed: back to draft, in the same UPDATE.
        locked = transition(locked, "revise", table=LISTING_TRANSITIONS, lock=False, changes=edits)
    else:
        for field, value in edits.items():
            setattr(locked, field, value)
        locked.save()
    if tags is not None:
        locked.tags.set(tags)
    refresh_product_derived(locked)
    return locked


def _move(product: Product, action: str, *, actor, reason: str = "", audit: str, **changes) -> Product:
    """Moderate the listing (locked by the caller, whose other checks come first) by `action`
    and write its audit row."""

    def record(locked: Product, previous: str) -> None:
        audit_record(action=audit, actor=actor, obj=locked, reason=reason)
        products_pages_invalidate([locked.pk])

    return transition(
        product,
        action,
        table=LISTING_TRANSITIONS,
        lock=False,
        changes={"review_reason": reason, **changes},
        record=record,
    )


@transaction.atomic
def product_submit(*, product: Product, actor) -> Product:
    """Send a draft (or rejected) listing to the reviewers: it needs an active SKU and a picture."""
    locked = _lock(product)
    _merchant_can_list(locked.merchant)
    missing = []
    if not locked.skus.filter(is_active=True).exists():
        missing.append("sku")
    if not locked.images.exists():
        missing.append("image")
    if missing:
        raise CatalogError(
            "listing_incomplete",
            _("Add at least one active SKU and one picture before submitting."),
            {"missing": missing},
        )
    return _move(locked, "submit", actor=actor, audit="catalog.product_submitted", submitted_at=timezone.now())


@transaction.atomic
def product_approve(*, product: Product, actor, reason: str = "") -> Product:
    """Approve a submitted listing: it is published and its pictures are shown."""
    locked = _lock(product)
    locked = _move(
        locked,
        "approve",
        actor=actor,
        reason=reason,
        audit="catalog.product_approved",
        published_at=locked.published_at or timezone.now(),
        withdrawn_at=None,
    )
    locked.images.update(is_live=True)
    return locked


@transaction.atomic
def product_set_featured(*, product: Product, featured: bool, actor) -> Product:
    """Feature a product on the home page, or stop featuring it; audited when it changes,
    idempotent otherwise. Only a product on sale can be featured (409 `not_on_sale`);
    one taken off sale stops being shown there by itself (the home page lists only products
    on sale) and can always be unfeatured."""
    locked = _lock(product)
    if featured and not locked.is_published:
        raise CatalogConflict("not_on_sale", _("Only a product on sale can be featured on the home page."))
    if locked.is_featured != featured:
        locked.is_featured = featured
        locked.save(update_fields=["is_featured", "updated_at"])
        audit_record(
            action="catalog.product_featured" if featured else "catalog.product_unfeatured", actor=actor, obj=locked
        )
        products_pages_invalidate([locked.pk], home=True)
    return locked


@transaction.atomic
def product_reject(*, product: Product, actor, reason: str) -> Product:
    """Reject a submitted listing with the reason the merchant will see."""
    if not (reason or "").strip():
        raise CatalogError("reason_required", _("Give a reason: the merchant will see it."))
    return _move(_lock(product), "reject", actor=actor, reason=reason.strip(), audit="catalog.product_rejected")


@transaction.atomic
def revision_approve(*, revision: ProductRevision, actor) -> Product:
    """Apply a pending revision to its published product."""
    locked_revision = ProductRevision.objects.select_for_update().get(pk=revision.pk)
    REVISION_TRANSITIONS.check(locked_revision, "approve")
    product = _lock(locked_revision.product)
    # Its old category's pages list it no more (after commit, its new one is looked up).
    products_pages_invalidate([product.pk], category_ids=[product.category_id])
    product.title = locked_revision.title
    product.description = locked_revision.description
    product.category = locked_revision.category
    product.save()
    product.tags.set(Tag.objects.filter(pk__in=locked_revision.tag_ids))
    keep = list(locked_revision.image_ids)
    for position, image_id in enumerate(keep):
        ProductImage.objects.filter(product=product, pk=image_id).update(is_live=True, position=position)
    for image in product.images.exclude(pk__in=keep):
        _delete_image_files(image)
        image.delete()
    transition(
        locked_revision,
        "approve",
        table=REVISION_TRANSITIONS,
        lock=False,
        changes={"reviewed_by": actor, "reviewed_at": timezone.now()},
    )
    refresh_product_derived(product)
    audit_record(action="catalog.product_revision_approved", actor=actor, obj=product, data={"revision": revision.pk})
    return product


@transaction.atomic
def revision_reject(*, revision: ProductRevision, actor, reason: str) -> ProductRevision:
    """Refuse a pending revision; the published version stays; pictures it added are dropped."""
    if not (reason or "").strip():
        raise CatalogError("reason_required", _("Give a reason: the merchant will see it."))
    locked = ProductRevision.objects.select_for_update().get(pk=revision.pk)
    REVISION_TRANSITIONS.check(locked, "reject")
    for image in locked.product.images.filter(is_live=False):
        _delete_image_files(image)
        image.delete()
    transition(
        locked,
        "reject",
        table=REVISION_TRANSITIONS,
        lock=False,
        changes={"reason": reason.strip(), "reviewed_by": actor, "reviewed_at": timezone.now()},
    )
    audit_record(action="catalog.product_revision_rejected", actor=actor, obj=locked.product, reason=locked.reason)
    return locked


@transaction.atomic
def product_withdraw(*, product: Product, actor) -> Product:
    """Take a published product off sale (the merchant can resubmit it later)."""

    def record(locked: Product, previous: str) -> None:
        audit_record(action="catalog.product_withdrawn", actor=actor, obj=locked)
        products_pages_invalidate([locked.pk])

    return transition(
        _lock(product),
        "withdraw",
        table=LISTING_TRANSITIONS,
        lock=False,
        changes={"withdrawn_at": timezone.now()},
        record=record,
    )


# --- Pictures ----------------------------------------------------------------------------


def _delete_image_files(image: ProductImage) -> None:
    names = [f.name for f in (image.image, image.thumb_small, image.thumb_medium) if f]
    storage = image.image.storage
    transaction.on_commit(lambda: [storage.delete(n) for n in names])


@transaction.atomic
def product_image_add(*, product: Product, actor, uploaded) -> ProductImage:
    """Add a validated picture. On a published product it waits in the pending revision."""
    clean = clean_product_image(uploaded)
    locked = _lock(product)
    _merchant_can_list(locked.merchant)
    if locked.images.filter(sha256=clean.sha256).exists():
        raise CatalogConflict("duplicate_image", _("This picture is already on the product."))
    image = ProductImage(
        product=locked,
        sha256=clean.sha256,
        width=clean.width,
        height=clean.height,
        position=locked.images.count(),
        is_live=False,
    )
    image.image.save(".jpg", ContentFile(clean.content), save=False)
    image.thumb_small.save("-s.jpg", ContentFile(clean.thumbnails["small"]), save=False)
    image.thumb_medium.save("-m.jpg", ContentFile(clean.thumbnails["medium"]), save=False)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError as exc:  # the same picture added concurrently
        raise CatalogConflict("duplicate_image", _("This picture is already on the product.")) from exc
    if locked.is_published:
        revision = _pending_revision(locked, actor)
        if image.pk not in revision.image_ids:
            revision.image_ids = [*revision.image_ids, image.pk]
            revision.save(update_fields=["image_ids"])
    return image


@transaction.atomic
def product_image_remove(*, image: ProductImage, actor) -> None:
    """Remove a picture; on a published product the removal waits in the pending revision."""
    product = _lock(image.product)
    if product.is_published and image.is_live:
        revision = _pending_revision(product, actor)
        revision.image_ids = [i for i in revision.image_ids if i != image.pk]
        revision.save(update_fields=["image_ids"])
        return
    _delete_image_files(image)
    image.delete()


# --- SKUs -------------------------------------------------------------------------------


@transaction.atomic
def sku_create(*, product: Product, actor, data: dict) -> SKU:
    """Add a SKU; its code must be unique among the merchant's SKUs."""
    cleaned = _clean_sku(data)
    for required in ("code", "price"):
        if required not in cleaned:
            raise CatalogError("sku_incomplete", _("A SKU needs a code and a price."), {"missing": [required]})
    try:
        with transaction.atomic():
            sku = SKU.objects.create(product=product, merchant_id=product.merchant_id, **cleaned)
    except IntegrityError as exc:
        raise CatalogConflict(
            "sku_code_taken", _("You already have a SKU with the code “%(code)s”.") % {"code": cleaned["code"]}
        ) from exc
    refresh_product_derived(product)
    products_pages_invalidate([product.pk])
    return sku


@transaction.atomic
def sku_update(*, sku: SKU, actor, data: dict) -> SKU:
    """Change a SKU (price changes apply at once; orders freeze the price they were placed at)."""
    cleaned = _clean_sku(data)
    locked = SKU.objects.select_for_update().get(pk=sku.pk)
    for field, value in cleaned.items():
        setattr(locked, field, value)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError as exc:
        raise CatalogConflict(
            "sku_code_taken", _("You already have a SKU with the code “%(code)s”.") % {"code": locked.code}
        ) from exc
    refresh_product_derived(locked.product)
    products_pages_invalidate([locked.product_id])
    return locked
