"""Input and output shapes of the merchant catalog API. Rules live in catalog.services.

Inputs are plain serializers (no writable nested serializers): the views hand their
validated data to one service each.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..choices import ListingStatus, RevisionStatus
from ..models import MAX_SKU_PRICE, SKU, Product, ProductImage, ProductRevision, Stock

MAX_INT = 2_147_483_647


@extend_schema_field({"type": "string", "enum": ListingStatus.values}, component_name="ListingStatus")
class ListingStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(ListingStatus.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": RevisionStatus.values}, component_name="RevisionStatus")
class RevisionStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(RevisionStatus.choices, **kwargs)


# --- Input ---------------------------------------------------------------------------------


class MerchantSKUInputSerializer(serializers.Serializer):
    """A SKU's fields; `code` and `price` are required when creating one."""

    code = serializers.CharField(max_length=64)
    attributes = serializers.DictField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text=_('Attribute names and values, e.g. {"colour": "white", "size": "M"}.'),
    )
    price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_SKU_PRICE
    )
    barcode = serializers.CharField(max_length=32, required=False, allow_blank=True)
    weight_grams = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    reorder_point = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    safety_stock = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)


class CategoryIdField(serializers.IntegerField):
    """A category id; unknown ids are refused here, grants are checked by the services."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("Id of a category your contract covers (or one below it)."))
        super().__init__(min_value=1, **kwargs)

    def run_validation(self, data=serializers.empty):
        pk = super().run_validation(data)  # an integer ≥ 1, checked by the validators
        if pk is None:
            return None
        category = selectors.category_list(active_only=False).filter(pk=pk).first()
        if category is None:
            raise serializers.ValidationError(_("No category with this id."))
        return category


class MerchantProductCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    category = CategoryIdField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tag_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    skus = MerchantSKUInputSerializer(many=True, allow_empty=False, help_text=_("At least one SKU."))

    def validate_skus(self, value):
        codes = [sku["code"].strip() for sku in value]
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError(_("Two SKUs have the same code."))
        if len(value) > 50:
            raise serializers.ValidationError(_("At most 50 SKUs at once."))
        return value


class MerchantProductUpdateSerializer(serializers.Serializer):
    """Only the fields given are changed."""

    title = serializers.CharField(max_length=200, required=False)
    category = CategoryIdField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    tag_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)


class MerchantProductFilterSerializer(serializers.Serializer):
    """Query parameters of the product list."""

    status = ListingStatusField(required=False)
    category = serializers.IntegerField(
        min_value=1, required=False, help_text=_("A category id; its subcategories are included.")
    )
    q = serializers.CharField(max_length=200, required=False, help_text=_("Part of the title."))
    pending_revision = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=_("Whether an edit waits for review.")
    )


class MerchantStockFilterSerializer(serializers.Serializer):
    """Query parameters of the stock list."""

    sku = serializers.IntegerField(min_value=1, required=False)
    product = serializers.IntegerField(min_value=1, required=False)
    warehouse = serializers.IntegerField(min_value=1, required=False)
    q = serializers.CharField(max_length=200, required=False, help_text=_("Part of a SKU code or product title."))
    low = serializers.BooleanField(required=False, default=False, help_text=_("Only below the reorder point."))


class MerchantReceiptSerializer(serializers.Serializer):
    sku = serializers.IntegerField(min_value=1, help_text=_("Id of one of your SKUs."))
    warehouse = serializers.IntegerField(min_value=1, help_text=_("Id of a platform warehouse or one of yours."))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class MerchantAdjustmentSerializer(serializers.Serializer):
    sku = serializers.IntegerField(min_value=1, help_text=_("Id of one of your SKUs."))
    warehouse = serializers.IntegerField(min_value=1, help_text=_("Id of a platform warehouse or one of yours."))
    on_hand = serializers.IntegerField(min_value=0, max_value=MAX_INT, help_text=_("The units counted."))
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


# --- Output --------------------------------------------------------------------------------


class MerchantSKUSerializer(serializers.ModelSerializer):
    class Meta:
        model = SKU
        fields = [
            "id",
            "code",
            "attributes",
            "price",
            "barcode",
            "weight_grams",
            "reorder_point",
            "lead_time_days",
            "safety_stock",
            "is_active",
        ]
        read_only_fields = fields


class MerchantImageSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField(help_text=_("Portal address of the small thumbnail."))

    class Meta:
        model = ProductImage
        fields = ["id", "position", "is_live", "width", "height", "thumbnail_url"]
        read_only_fields = fields

    def get_thumbnail_url(self, obj) -> str:
        return reverse("portal_catalog:image", args=[obj.pk, "small"])


class MerchantRevisionSerializer(serializers.ModelSerializer):
    status = RevisionStatusField(read_only=True)

    class Meta:
        model = ProductRevision
        fields = ["id", "status", "title", "description", "category", "tag_ids", "image_ids", "submitted_at", "reason"]
        read_only_fields = fields


class MerchantProductListSerializer(serializers.ModelSerializer):
    status = ListingStatusField(read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    is_published = serializers.BooleanField(read_only=True)
    pending_revision = serializers.BooleanField(read_only=True, help_text=_("An edit waits for review."))
    sku_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "title",
            "category",
            "category_name",
            "status",
            "review_reason",
            "min_price",
            "is_published",
            "published_at",
            "withdrawn_at",
            "pending_revision",
            "sku_count",
            "updated_at",
        ]
        read_only_fields = fields


class MerchantProductSerializer(serializers.ModelSerializer):
    """A product as the merchant sees it: the approved content, and any edit waiting for review."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    status = ListingStatusField(read_only=True)
    is_published = serializers.BooleanField(read_only=True)
    tag_ids = serializers.SerializerMethodField()
    skus = MerchantSKUSerializer(many=True, read_only=True)
    images = MerchantImageSerializer(many=True, read_only=True)
    pending_revision = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "title",
            "description",
            "category",
            "category_name",
            "tag_ids",
            "status",
            "review_reason",
            "min_price",
            "is_published",
            "submitted_at",
            "published_at",
            "withdrawn_at",
            "created_at",
            "updated_at",
            "skus",
            "images",
            "pending_revision",
        ]
        read_only_fields = fields

    def get_tag_ids(self, obj) -> list[int]:
        return sorted(t.pk for t in obj.tags.all())

    @extend_schema_field(MerchantRevisionSerializer(allow_null=True))
    def get_pending_revision(self, obj):
        revision = selectors.product_pending_revision(obj)
        return MerchantRevisionSerializer(revision).data if revision else None


class MerchantStockSerializer(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    product = serializers.IntegerField(source="sku.product_id", read_only=True)
    product_title = serializers.CharField(source="sku.product.title", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Stock
        fields = ["id", "sku", "sku_code", "product", "product_title", "warehouse", "warehouse_code"]
        fields += ["on_hand", "reserved", "available"]
        read_only_fields = fields
