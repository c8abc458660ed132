"""Output serializers of the public catalog API: what any visitor may read."""

from __future__ import annotations

import copy
import functools

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.ratings import rating_average

from ..models import SKU, Category, Product, Tag
from ..selectors import LOW_STOCK_THRESHOLD

STOCK_LEVELS = [
    ("in_stock", "In stock"),
    ("low", f"Only a few left (at most {LOW_STOCK_THRESHOLD}): `left` gives the number"),
    ("out_of_stock", "Out of stock"),
]


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="Parent category id.")

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "position"]
        read_only_fields = fields


class CategoryBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ShopBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField(source="display_name")


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]
        read_only_fields = fields


def image_urls(image_id: int, request) -> dict:
    # One reverse() per picture, not three: the sizes differ only in the last path segment.
    base = reverse("product_image", args=[image_id, "full"]).removesuffix("full/")
    if request is not None:
        base = request.build_absolute_uri(base)
    return {"id": image_id, "small": f"{base}small/", "medium": f"{base}medium/", "full": f"{base}full/"}


#: An image id no picture has, replaced in one reversed URL by each picture's id.
_IMAGE_ID_MARKER = 7300000501


def image_urls_maker(request):
    """`image_urls` for many pictures of one request: the URL reversed and made absolute once,
    each picture's id put in its place (reverse() writes an id as its digits, and making a
    URL absolute leaves digits as they are: the same strings)."""
    head, tail = image_urls(_IMAGE_ID_MARKER, request)["full"].removesuffix("full/").split(str(_IMAGE_ID_MARKER))

    def urls(image_id: int) -> dict:
        base = f"{head}{image_id}{tail}"
        return {"id": image_id, "small": f"{base}small/", "medium": f"{base}medium/", "full": f"{base}full/"}

    return urls


class ImageSerializer(serializers.Serializer):
    """Absolute URLs of a live picture in its three sizes."""

    id = serializers.IntegerField()
    small = serializers.URLField()
    medium = serializers.URLField()
    full = serializers.URLField()

    def to_representation(self, instance):
        return image_urls(instance.pk, self.context.get("request"))


class ProductListSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(
        source="min_price", max_digits=14, decimal_places=2, read_only=True, help_text="Lowest price of its SKUs."
    )
    in_stock = serializers.BooleanField(read_only=True)
    shop = ShopBriefSerializer(source="merchant", read_only=True)
    category = CategoryBriefSerializer(read_only=True)
    image = serializers.SerializerMethodField(help_text="The first picture, or null.")
    rating_average = serializers.DecimalField(
        max_digits=2,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text="Average stars of its shown reviews, to one decimal (half up, as the pages show it); "
        "null without a review.",
    )
    rating_count = serializers.IntegerField(read_only=True, help_text="How many shown reviews it has.")

    class Meta:
        model = Product
        fields = [
            "id",
            "title",
            "price",
            "in_stock",
            "shop",
            "category",
            "image",
            "rating_average",
            "rating_count",
            "published_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_image(self, product):
        # A list row carries its first picture's id (selectors.product_list_public); the
        # detail its live pictures.
        image_id = getattr(product, "first_image_id", None)
        if image_id is None and getattr(product, "live_images", None):
            image_id = product.live_images[0].pk
        return image_urls(image_id, self.context.get("request")) if image_id is not None else None

    def to_representation(self, product):
        """The same dict as DRF's field-by-field path, built directly (issue #12): for a page
        of 24 rows that path (attribute lookups, a nested serializer per shop and category)
        was a large part of the API list's own time. The price and date go through their
        fields, as there, for the same decimal and time zone formatting; a test compares the
        JSON byte for byte."""
        fields = self.fields
        price, published_at = product.min_price, product.published_at
        # From the row's counters (marketplace.ratings), read with it: no query per row.
        average = product.rating_average
        merchant, category = product.merchant, product.category
        return {
            "id": product.pk,
            "title": product.title,
            "price": None if price is None else fields["price"].to_representation(price),
            "in_stock": fields["in_stock"].to_representation(product.in_stock),
            "shop": None if merchant is None else {"slug": merchant.slug, "name": merchant.display_name},
            "category": None if category is None else {"id": category.pk, "name": category.name, "slug": category.slug},
            "image": self.get_image(product),
            "rating_average": None if average is None else fields["rating_average"].to_representation(average),
            "rating_count": product.rating_count,
            "published_at": None if published_at is None else fields["published_at"].to_representation(published_at),
        }


@functools.cache
def _list_fields() -> tuple:
    # Built once: a serializer instance deep-copies its declared fields. Their formatting reads
    # the settings and the active time zone at each call, not at construction.
    fields = ProductListSerializer().fields
    return fields["price"], fields["rating_average"], fields["published_at"]


def product_list_rows(rows, request) -> list[dict]:
    """`ProductListSerializer`'s dicts built from plain rows of the listing columns (in the
    order of `catalog.api.public_list.ROW_COLUMNS`) instead of model instances: the API
    list's compiled path (issue #12). The price, the rating and the date go through the
    serializer's own fields, for the same decimal and time zone formatting; a test compares
    the JSON with DRF's field-by-field path byte for byte."""
    price_field, rating_field, date_field = _list_fields()
    # The active time zone read once a page: the field's default asks for it at every row.
    date_field = copy.copy(date_field)
    date_field.timezone = date_field.default_timezone()
    image = image_urls_maker(request)
    return [
        {
            "id": pk,
            "title": title,
            "price": None if price is None else price_field.to_representation(price),
            "in_stock": bool(in_stock),
            "shop": {"slug": shop_slug, "name": shop_name or company_name},
            "category": None if category_id is None else {"id": category_id, "name": category, "slug": category_slug},
            "image": None if image_id is None else image(image_id),
            "rating_average": None
            if not rating_count
            else rating_field.to_representation(rating_average(rating_count, rating_total)),
            "rating_count": rating_count,
            "published_at": None if published_at is None else date_field.to_representation(published_at),
        }
        for (
            pk,
            title,
            price,
            in_stock,
            shop_slug,
            shop_name,
            company_name,
            category_id,
            category,
            category_slug,
            image_id,
            rating_count,
            rating_total,
            published_at,
        ) in rows
    ]


class SKUSerializer(serializers.ModelSerializer):
    attributes = serializers.DictField(child=serializers.CharField(), read_only=True, help_text="e.g. colour: white.")
    available = serializers.SerializerMethodField(help_text="True when at least one unit can be ordered.")
    stock = serializers.ChoiceField(source="stock_level", choices=STOCK_LEVELS, read_only=True)
    left = serializers.SerializerMethodField(help_text="Units left when `stock` is `low`, else null.")

    class Meta:
        model = SKU
        fields = ["id", "attributes", "price", "available", "stock", "left"]
        read_only_fields = fields

    def get_available(self, sku) -> bool:
        return sku.available > 0

    def get_left(self, sku) -> int | None:
        return sku.available if sku.stock_level == "low" else None


class ProductDetailSerializer(ProductListSerializer):
    price_max = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="Highest price of its SKUs."
    )
    tags = TagSerializer(many=True, read_only=True)
    images = ImageSerializer(source="live_images", many=True, read_only=True)
    skus = SKUSerializer(source="active_skus", many=True, read_only=True)

    # Its fields are more than the list's: DRF's field-by-field path.
    to_representation = serializers.ModelSerializer.to_representation

    class Meta(ProductListSerializer.Meta):
        fields = [
            "id",
            "title",
            "description",
            "price",
            "price_max",
            "in_stock",
            "shop",
            "category",
            "tags",
            "images",
            "skus",
            "rating_average",
            "rating_count",
            "published_at",
        ]
        read_only_fields = fields
