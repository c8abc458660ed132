"""Staff screens of listing moderation: the product queue with its read-only product page
and the revision queue with a side-by-side comparison, each with its action buttons."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, Sum
from django.http import FileResponse, Http404, HttpResponse
from django.template.defaultfilters import linebreaks_filter
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ObjectActionsMixin, QueueOrderingMixin, badge, colour_class, table, when
from marketplace.money import format_cny

from .. import permissions, selectors
from ..choices import ListingStatus, RevisionStatus
from ..models import SKU, Product, ProductImage, ProductRevision, Tag
from .actions import PRODUCT_ACTIONS, REVISION_ACTIONS
from .base import category_paths

LISTING_COLOURS = {
    ListingStatus.DRAFT: "#6c757d",
    ListingStatus.SUBMITTED: "#0d6efd",
    ListingStatus.APPROVED: "#198754",
    ListingStatus.REJECTED: "#dc3545",
}
REVISION_COLOURS = {
    RevisionStatus.PENDING: "#0d6efd",
    RevisionStatus.APPROVED: "#198754",
    RevisionStatus.REJECTED: "#dc3545",
    RevisionStatus.SUPERSEDED: "#6c757d",
}
HISTORY_LABELS = {
    "catalog.product_created": _("Created"),
    "catalog.product_submitted": _("Submitted for review"),
    "catalog.product_approved": _("Approved"),
    "catalog.product_rejected": _("Rejected"),
    "catalog.product_withdrawn": _("Withdrawn from sale"),
    "catalog.product_revision_submitted": _("Changes submitted"),
    "catalog.product_revision_approved": _("Changes approved"),
    "catalog.product_revision_rejected": _("Changes rejected"),
}
# The moderation queues: what waits for a reviewer first, oldest submission first.
# (QueueOrderingMixin: the waiting status first, then these.)
LISTING_QUEUE_THEN = [F("submitted_at").asc(nulls_last=True), "id"]
REVISION_QUEUE_THEN = ["submitted_at", "id"]


def _thumbnail_url(image: ProductImage, size: str = "small") -> str:
    return reverse("admin:catalog_product_image", args=[image.product_id, image.pk, size])


def _picture(image: ProductImage, *, outline: str = "#ddd", caption: str = "") -> str:
    """A thumbnail linking to the medium picture, served by the staff-only image view."""
    return format_html(
        '<figure class="mp-thumb">'
        '<a href="{}" target="_blank"><img src="{}" alt="{}" width="120" height="120" class="{}"></a>'
        "<figcaption>{}</figcaption></figure>",
        _thumbnail_url(image, "medium"),
        _thumbnail_url(image, "small"),
        f"#{image.pk}",
        colour_class(outline),
        caption,
    )


def _pictures(images, *, marks: dict[int, tuple[str, str]] | None = None) -> str:
    marks = marks or {}
    if not images:
        return "—"
    return format_html_join(
        "",
        "{}",
        (
            (
                _picture(
                    image,
                    outline=marks.get(image.pk, ("#ddd", ""))[0],
                    caption=marks.get(image.pk, ("", ""))[1] or f"{image.width}×{image.height}",
                ),
            )
            for image in images
        ),
    )


# --- Listing moderation ------------------------------------------------------------------


class CategoryTreeFilter(admin.SimpleListFilter):
    """A category and everything below it."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [(str(pk), label) for pk, label in selectors.category_choices(active_only=False)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            category_id = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(category_id__in=selectors.category_descendant_ids([category_id]))


class OnSaleFilter(admin.SimpleListFilter):
    title = _("on sale")
    parameter_name = "on_sale"

    def lookups(self, request, model_admin):
        return [("published", _("Published")), ("withdrawn", _("Withdrawn")), ("never", _("Never published"))]

    def queryset(self, request, queryset):
        if self.value() == "published":
            return queryset.filter(published_at__isnull=False, withdrawn_at__isnull=True)
        if self.value() == "withdrawn":
            return queryset.filter(withdrawn_at__isnull=False)
        if self.value() == "never":
            return queryset.filter(published_at__isnull=True)
        return queryset


class ProductChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        paths = category_paths()
        for product in self.result_list:
            product.category_path = paths.get(product.category_id, product.category.name)


@admin.register(Product)
class ProductAdmin(QueueOrderingMixin, ObjectActionsMixin, admin.ModelAdmin):
    """The moderation queue and the product page. Read-only: decisions go through the actions."""

    object_actions = PRODUCT_ACTIONS
    list_display = ["title", "merchant", "category_path", "lowest_price", "status_badge", "submitted_at", "on_sale"]
    list_filter = ["status", ("merchant", admin.RelatedOnlyFieldListFilter), CategoryTreeFilter, OnSaleFilter]
    list_select_related = ["merchant", "category"]
    search_fields = ["title", "merchant__shop_name", "merchant__company_name", "skus__code"]
    queue_first = ("status", ListingStatus.SUBMITTED)
    queue_then = LISTING_QUEUE_THEN
    readonly_fields = [
        "category_path",
        "tags_display",
        "status_badge",
        "lowest_price",
        "pending_revision",
        "pictures",
        "sku_table",
        "history",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            _("Listing"),
            {"fields": ["title", "merchant", "category_path", "tags_display", "description", "is_featured"]},
        ),
        (
            _("Moderation"),
            {
                "fields": [
                    "status_badge",
                    "review_reason",
                    ("created_at", "submitted_at"),
                    ("published_at", "withdrawn_at", "updated_at"),
                    "pending_revision",
                ]
            },
        ),
        (_("Pictures"), {"fields": ["pictures"]}),
        (_("SKUs"), {"fields": ["lowest_price", "sku_table"]}),
        (_("History"), {"fields": ["history"]}),
    ]

    def get_changelist(self, request, **kwargs):
        return ProductChangeList

    def page_urls(self):
        return [
            self.staff_page(
                "<path:object_id>/images/<int:image_id>/<str:size>/",
                self.image_view,
                "image",
                permissions.PRODUCT_VIEW,
            )
        ]

    def has_add_permission(self, request):
        return False  # merchants create listings in the portal

    def has_change_permission(self, request, obj=None):
        return False  # the page is read-only; see the actions

    def has_delete_permission(self, request, obj=None):
        return False

    def image_view(self, request, object_id, image_id: int, size: str) -> HttpResponse:
        """A product picture's thumbnail, for staff who may view the product (pictures are
        not served publicly until the listing is live)."""
        product = self.get_object(request, unquote(object_id))
        if product is None:
            raise Http404
        image = ProductImage.objects.filter(product=product, pk=image_id).first()
        fields = {"small": "thumb_small", "medium": "thumb_medium"}
        if image is None or size not in fields:
            raise Http404
        file = getattr(image, fields[size])
        try:
            handle = file.storage.open(file.name, "rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    # Display columns and fields.

    @admin.display(description=_("category"), ordering="category__name")
    def category_path(self, product):
        if hasattr(product, "category_path"):
            return product.category_path
        return category_paths().get(product.category_id, product.category.name)

    @admin.display(description=_("tags"))
    def tags_display(self, product):
        return ", ".join(t.name for t in product.tags.all()) or "—"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, product):
        return badge(LISTING_COLOURS.get(product.status, "#6c757d"), product.get_status_display())

    @admin.display(description=_("lowest price"), ordering="min_price")
    def lowest_price(self, product):
        return format_cny(product.min_price) if product.min_price is not None else "—"

    @admin.display(description=_("on sale"), boolean=True)
    def on_sale(self, product):
        return product.is_published

    @admin.display(description=_("pending changes"))
    def pending_revision(self, product):
        revision = product.revisions.filter(status=RevisionStatus.PENDING).first()
        if revision is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:catalog_productrevision_change", args=[revision.pk]),
            gettext("Changes submitted %(when)s: review them") % {"when": when(revision.submitted_at)},
        )

    @admin.display(description=_("pictures"))
    def pictures(self, product):
        images = list(product.images.all())
        marks = {image.pk: ("#fd7e14", gettext("waiting for review")) for image in images if not image.is_live}
        return _pictures(images, marks=marks)

    @admin.display(description=_("SKUs"))
    def sku_table(self, product):
        skus = SKU.objects.filter(product=product).annotate(
            units_on_hand=Sum("stock__on_hand", default=0), units_reserved=Sum("stock__reserved", default=0)
        )
        if not skus:
            return "—"
        return table(
            [
                gettext("code"),
                gettext("variant"),
                gettext("price"),
                gettext("barcode"),
                gettext("weight (g)"),
                gettext("reorder point"),
                gettext("on hand"),
                gettext("reserved"),
                gettext("available"),
                gettext("active"),
            ],
            (
                (
                    sku.code,
                    sku.label,
                    format_cny(sku.price),
                    sku.barcode or "—",
                    sku.weight_grams,
                    sku.reorder_point,
                    sku.units_on_hand,
                    sku.units_reserved,
                    sku.units_on_hand - sku.units_reserved,
                    gettext("yes") if sku.is_active else gettext("no"),
                )
                for sku in skus
            ),
        )

    @admin.display(description=_("history"))
    def history(self, product):
        entries = list(selectors.product_history(product))
        if not entries:
            return "—"
        return table(
            [gettext("time"), gettext("actor"), gettext("action"), gettext("note")],
            (
                (when(e.created_at), e.actor or gettext("system"), HISTORY_LABELS.get(e.action, e.action), e.reason)
                for e in entries
            ),
        )

    # The confirmation pages show what is decided on.

    def action_summary(self, request, product):
        return [
            (gettext("Product"), product.title),
            (gettext("Merchant"), str(product.merchant)),
            (gettext("Category"), self.category_path(product)),
            (gettext("Status"), self.status_badge(product)),
            (gettext("Lowest price"), self.lowest_price(product)),
        ]

    def action_preview(self, request, product, action):
        return self.pictures(product)


# --- Revisions --------------------------------------------------------------------------


def _revision_diff(revision: ProductRevision) -> list[dict]:
    """Rows {label, published, revision, changed} comparing the product buyers see with the
    revision waiting for review."""
    product = revision.product
    paths = category_paths()
    published_tags = sorted(product.tags.all(), key=lambda t: t.name)
    revision_tags = sorted(Tag.objects.filter(pk__in=revision.tag_ids), key=lambda t: t.name)
    images = {image.pk: image for image in product.images.all()}
    live = [image for image in images.values() if image.is_live]
    proposed = [images[i] for i in revision.image_ids if i in images]
    live_ids = [image.pk for image in live]
    proposed_ids = [image.pk for image in proposed]
    removed = {pk: ("#dc3545", gettext("removed")) for pk in live_ids if pk not in proposed_ids}
    added = {pk: ("#198754", gettext("added")) for pk in proposed_ids if pk not in live_ids}
    return [
        {
            "label": gettext("Title"),
            "published": product.title,
            "revision": revision.title,
            "changed": product.title != revision.title,
        },
        {
            "label": gettext("Description"),
            "published": linebreaks_filter(product.description) if product.description else "—",
            "revision": linebreaks_filter(revision.description) if revision.description else "—",
            "changed": product.description != revision.description,
        },
        {
            "label": gettext("Category"),
            "published": paths.get(product.category_id, ""),
            "revision": paths.get(revision.category_id, ""),
            "changed": product.category_id != revision.category_id,
        },
        {
            "label": gettext("Tags"),
            "published": ", ".join(t.name for t in published_tags) or "—",
            "revision": ", ".join(t.name for t in revision_tags) or "—",
            "changed": [t.pk for t in published_tags] != [t.pk for t in revision_tags],
        },
        {
            "label": gettext("Pictures"),
            "published": _pictures(live, marks=removed),
            "revision": _pictures(proposed, marks=added),
            "changed": live_ids != proposed_ids,
        },
    ]


def _diff_table(revision: ProductRevision) -> str:
    rows = format_html_join(
        "",
        "<tr{}><th>{}</th><td>{}</td><td>{}</td></tr>",
        (
            (
                mark_safe(' class="mp-changed"') if row["changed"] else "",
                row["label"],
                row["published"],
                row["revision"],
            )
            for row in _revision_diff(revision)
        ),
    )
    return format_html(
        '<table class="mp-diff"><thead><tr><th></th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
        gettext("Published (what buyers see)"),
        gettext("Revision (waiting for review)"),
        rows,
    )


def _changed_fields(revision: ProductRevision) -> str:
    return ", ".join(row["label"] for row in _revision_diff(revision) if row["changed"]) or "—"


@admin.register(ProductRevision)
class ProductRevisionAdmin(QueueOrderingMixin, ObjectActionsMixin, admin.ModelAdmin):
    """The revision queue: edits of published products. Read-only: decisions go through the actions."""

    object_actions = REVISION_ACTIONS
    list_display = [
        "product_link",
        "merchant",
        "status_badge",
        "changes",
        "submitted_by",
        "submitted_at",
        "reviewed_by",
    ]
    list_filter = ["status", ("product__merchant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["product", "product__merchant", "submitted_by", "reviewed_by"]
    search_fields = ["title", "product__title", "product__merchant__shop_name"]
    queue_first = ("status", RevisionStatus.PENDING)
    queue_then = REVISION_QUEUE_THEN
    readonly_fields = ["product_link", "merchant", "status_badge", "diff"]
    fieldsets = [
        (
            _("Revision"),
            {
                "fields": [
                    "product_link",
                    "merchant",
                    "status_badge",
                    ("submitted_by", "submitted_at"),
                    ("reviewed_by", "reviewed_at"),
                    "reason",
                ]
            },
        ),
        (_("Changes"), {"fields": ["diff"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("product__tags", "product__images")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("product"), ordering="product__title")
    def product_link(self, revision):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:catalog_product_change", args=[revision.product_id]), revision.product
        )

    @admin.display(description=_("merchant"))
    def merchant(self, revision):
        return revision.product.merchant

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, revision):
        return badge(REVISION_COLOURS.get(revision.status, "#6c757d"), revision.get_status_display())

    @admin.display(description=_("changes"))
    def changes(self, revision):
        if revision.status != RevisionStatus.PENDING:
            return "—"
        return _changed_fields(revision)

    @admin.display(description=_("changes"))
    def diff(self, revision):
        if revision.status != RevisionStatus.PENDING:
            return gettext("Decided: the product shows the outcome.")
        return _diff_table(revision)

    def action_summary(self, request, revision):
        return [
            (gettext("Product"), str(revision.product)),
            (gettext("Merchant"), str(revision.product.merchant)),
            (gettext("Submitted"), f"{when(revision.submitted_at)} · {revision.submitted_by}"),
        ]

    def action_preview(self, request, revision, action):
        return _diff_table(revision)
