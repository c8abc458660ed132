"""Public catalog API: categories and the products buyers may see. Anyone may read it.

Products come from `catalog.selectors` (published, not withdrawn, of a live merchant);
any other product is not found. The list takes the same filters as the storefront pages
(`catalog.filters.ProductFilter`).

JSON reads of products without an API token (anonymous, or with a session cookie: the answer
is the same for every caller) come from the page cache (`marketplace.pagecache`), as the
storefront pages do, invalidated by the catalog services (`catalog.pagecache`). A hit is
answered before DRF runs: it is not counted by the rate throttles.
"""

from __future__ import annotations

import functools

from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny

from marketplace.api import DefaultPagination
from marketplace.pagecache import SAME, cached_page
from marketplace.schema import ErrorSerializer, codes
from marketplace.shortcuts import found_or_404

from .. import selectors
from ..filters import ProductFilter, ProductPaginator
from ..pagecache import LIST, product_generation
from .public_list import RowsPaginator, unfiltered_page
from .serializers_public import CategorySerializer, ProductDetailSerializer, ProductListSerializer

TAGS = ["catalog"]


class ProductPagination(DefaultPagination):
    """Pages of products; `count` is exact up to a bound (ProductPaginator): counting every
    match of a large catalogue on every page cost more than reading the page."""

    django_paginator_class = ProductPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = self.page.paginator.count_exact
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        bound = ProductPaginator.count_bound
        schema["properties"]["count"]["description"] = (
            f"The number of matching products, counted up to {bound} (or to the end of the page "
            f"asked for, when it lies further): when `count_exact` is false there are more than `count`."
        )
        schema["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when there are more matching products than `count`.",
        }
        schema["required"] = [*schema.get("required", []), "count_exact"]
        return schema


def _json_only(request) -> str | None:
    """Cache what a program reads (JSON, DRF's first renderer), not the browsable API's HTML
    page (it embeds a form and the request's own headers)."""
    return None if "text/html" in request.META.get("HTTP_ACCEPT", "") else "json"


def _product_generations(request, *args, pk=None, **kwargs) -> list[str]:
    return [LIST] if pk is None else [product_generation(pk)]


@extend_schema_view(
    list=extend_schema(
        summary="List categories",
        description="Every active category, flat, ordered by position then name; `parent` is the id "
        "of the category above (null at the top of the tree).",
    ),
)
@extend_schema(tags=TAGS)
class PublicCategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    serializer_class = CategorySerializer
    pagination_class = None  # a few hundred rows at most, read whole to build menus
    filter_backends = []

    def get_queryset(self):
        return selectors.category_list().order_by("position", "name", "id")


@extend_schema_view(
    list=extend_schema(
        summary="List products",
        description="Products on sale, a page at a time. Filters: `category` (and the categories "
        "below it), `merchant`, `price_min`/`price_max` (on the lowest SKU price), `tag` (slug or "
        "id, repeatable: a product must carry every one), `in_stock`, `q` (keywords, Chinese or "
        "other languages). `ordering`: `relevance` (the default with `q`), `price`, `-price`, "
        "`newest` (the default otherwise); new shops' products come first in every ordering. "
        + codes("validation_error"),
        responses={200: ProductListSerializer(many=True), 400: ErrorSerializer},
    ),
    retrieve=extend_schema(
        summary="Get a product",
        description="A product on sale with its pictures, tags and SKUs. Products that are not on "
        "sale (draft, in review, rejected, withdrawn, or of a shop that is not live) are not found. "
        + codes("not_found"),
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: ProductDetailSerializer, 404: ErrorSerializer},
    ),
)
@extend_schema(tags=TAGS)
@method_decorator(
    cached_page(
        _product_generations,
        params=frozenset(ProductFilter.base_filters) | {"page", "page_size"},
        variant=_json_only,
        # Built from public data only (the serializers read the request for its host alone):
        # a caller with a session gets the answer anonymous callers get.
        sessions=SAME,
    ),
    name="dispatch",
)
class PublicProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    filterset_class = ProductFilter
    pagination_class = ProductPagination

    def get_queryset(self):
        return selectors.product_list_public()

    def get_serializer_class(self):
        return ProductDetailSerializer if self.action == "retrieve" else ProductListSerializer

    #: JSON pages through catalog.api.public_list's compiled reads (tests turn it off to
    #: compare with DRF's generic path).
    compiled_reads = True

    def list(self, request, *args, **kwargs):
        # A JSON page: without filters, statements compiled once (unfiltered_page); with
        # filters, the generic count and ids, then the rows by id, compiled once and built from
        # plain values (RowsPaginator). The browsable API: DRF's generic path. The same answer.
        if not (self.compiled_reads and request.accepted_renderer.format == "json"):
            return super().list(request, *args, **kwargs)
        pagination = self.paginator
        rows = unfiltered_page(pagination, request)
        if rows is None:
            pagination.django_paginator_class = functools.partial(RowsPaginator, request=request)
            rows = pagination.paginate_queryset(self.filter_queryset(self.get_queryset()), request, view=self)
        return pagination.get_paginated_response(rows)

    def get_object(self):
        return found_or_404(selectors.product_get_public_page(int(self.kwargs["pk"])))
