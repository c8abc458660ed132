"""Merchant catalog API (/api/v1/catalog/merchant/): the caller's products, SKUs and stock.

Only members whose role covers the catalog (owner, catalog) reach it; anyone else signed
in gets 404, as does any id of another merchant, so ids cannot be probed. Views shape
input and output and call one service each; refusals come from the services as a
`DomainError` and leave the data unchanged.
"""

from __future__ import annotations

from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.parsers import JSONParser
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404
from merchants.api.permissions import IsSectionMember
from merchants.choices import PortalSection

from .. import selectors, services
from ..models import Product, Stock
from .serializers_merchant import (
    MerchantAdjustmentSerializer,
    MerchantProductCreateSerializer,
    MerchantProductFilterSerializer,
    MerchantProductListSerializer,
    MerchantProductSerializer,
    MerchantProductUpdateSerializer,
    MerchantReceiptSerializer,
    MerchantSKUInputSerializer,
    MerchantSKUSerializer,
    MerchantStockFilterSerializer,
    MerchantStockSerializer,
)

TAGS = ["catalog (merchant)"]
PRODUCT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Product id.")
ACCESS = (
    "For the owner and catalog members of a merchant; other signed-in users get 404, as does another merchant's id. "
)
SKU_ERRORS = ("sku_code_required", "sku_code_taken", "invalid_price", "invalid_attributes", "invalid_number")
PRODUCT_ERRORS = ("merchant_cannot_list", "category_inactive", "category_not_granted", "title_required")
STOCK_ERRORS = ("invalid_quantity", "warehouse_not_yours", "warehouse_inactive", "stock_busy")


class IsCatalogMember(IsSectionMember):
    """Signed in (else 401) and a member whose role sees the catalog (else 404, not 403)."""

    section = PortalSection.CATALOG


class MerchantCatalogMixin:
    permission_classes = [IsCatalogMember]

    @cached_property
    def merchant(self):
        return self.request.member.merchant

    def _input(self, serializer_class, data=None, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="List my products",
        description=ACCESS + "Newest change first. " + codes("not_authenticated", "not_found", "validation_error"),
        parameters=[MerchantProductFilterSerializer],
        responses={200: MerchantProductListSerializer(many=True), **errors(400, 401, 404)},
    ),
    retrieve=extend_schema(
        summary="Get one of my products",
        description=ACCESS
        + "`pending_revision` is the edit waiting for review, if any. "
        + codes("not_authenticated", "not_found"),
        parameters=[PRODUCT_ID],
        responses={200: MerchantProductSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MerchantProductViewSet(
    MerchantCatalogMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's products: list, create with SKUs, change, submit for review, add SKUs."""

    serializer_class = MerchantProductSerializer
    # For the schema generator only: every request goes through get_queryset's selectors.
    queryset = Product.objects.none()
    filter_backends: list = []
    # Nested SKU lists only make sense as JSON.
    parser_classes = [JSONParser]

    def get_queryset(self):
        if self.action != "list":
            return selectors.product_list_for_merchant(self.merchant)
        filters = self._input(MerchantProductFilterSerializer, data=self.request.query_params)
        kwargs = {"q": filters.get("q", ""), "status": filters.get("status", "")}
        if filters.get("category"):
            kwargs["category_ids"] = selectors.category_descendant_ids([filters["category"]])
        if filters.get("pending_revision") is not None:
            kwargs["pending_revision"] = filters["pending_revision"]
        return selectors.product_search_for_merchant(self.merchant, **kwargs)

    def get_serializer_class(self):
        return MerchantProductListSerializer if self.action == "list" else MerchantProductSerializer

    def get_object(self):
        return found_or_404(selectors.product_get_for_merchant(self.merchant, self.kwargs["pk"]))

    def _answer(self, product, status_code=status.HTTP_200_OK) -> Response:
        fresh = found_or_404(selectors.product_get_for_merchant(self.merchant, product.pk))
        return Response(MerchantProductSerializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Create a product with its SKUs",
        description=ACCESS
        + "Creates a draft; add a picture in the portal, then submit it. All or nothing. "
        + codes("not_authenticated", "not_found", "validation_error", "unknown_tags", *PRODUCT_ERRORS, *SKU_ERRORS),
        request=MerchantProductCreateSerializer,
        responses={201: MerchantProductSerializer, **errors(400, 401, 404, 409)},
    )
    def create(self, request):
        data = self._input(MerchantProductCreateSerializer)
        product = services.product_create(
            merchant=self.merchant,
            actor=request.user,
            title=data["title"],
            category=data["category"],
            description=data["description"],
            tag_ids=data["tag_ids"],
            skus=[dict(sku) for sku in data["skus"]],
        )
        return self._answer(product, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change one of my products",
        description=ACCESS + "Only the fields given change. On a product that is on sale the change waits for review "
        "in `pending_revision` while buyers keep seeing the approved version. "
        + codes("not_authenticated", "not_found", "validation_error", "unknown_tags", *PRODUCT_ERRORS),
        parameters=[PRODUCT_ID],
        request=MerchantProductUpdateSerializer,
        responses={200: MerchantProductSerializer, **errors(400, 401, 404, 409)},
    )
    def partial_update(self, request, pk=None):
        product = self.get_object()
        changes = dict(self._input(MerchantProductUpdateSerializer))
        if changes:
            product = services.product_update(product=product, actor=request.user, **changes)
        return self._answer(product)

    @extend_schema(
        summary="Submit one of my products for review",
        description=ACCESS
        + "`listing_incomplete` lists what is missing in `extra.missing` (`sku`, `image`). "
        + codes("not_authenticated", "not_found", "merchant_cannot_list", "listing_incomplete", "invalid_transition"),
        parameters=[PRODUCT_ID],
        request=None,
        responses={200: MerchantProductSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._answer(services.product_submit(product=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Add a SKU to one of my products",
        description=ACCESS + codes("not_authenticated", "not_found", "validation_error", *SKU_ERRORS),
        parameters=[PRODUCT_ID],
        request=MerchantSKUInputSerializer,
        responses={201: MerchantSKUSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def skus(self, request, pk=None):
        product = self.get_object()
        data = self._input(MerchantSKUInputSerializer)
        sku = services.sku_create(product=product, actor=request.user, data=dict(data))
        return Response(MerchantSKUSerializer(sku).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List my stock levels",
        description=ACCESS
        + "One row per SKU and warehouse; available = on hand − reserved. "
        + codes("not_authenticated", "not_found", "validation_error"),
        parameters=[MerchantStockFilterSerializer],
        responses={200: MerchantStockSerializer(many=True), **errors(400, 401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MerchantStockViewSet(MerchantCatalogMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's stock levels, receipts and counted adjustments."""

    serializer_class = MerchantStockSerializer
    queryset = Stock.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        filters = self._input(MerchantStockFilterSerializer, data=self.request.query_params)
        return selectors.stock_search_for_merchant(
            self.merchant,
            q=filters.get("q", ""),
            warehouse_id=filters.get("warehouse"),
            product_id=filters.get("product"),
            sku_id=filters.get("sku"),
            low_only=filters["low"],
        )

    def _targets(self, data):
        # Another merchant's SKU (or warehouse) answers 404, like any id of theirs.
        return (
            found_or_404(selectors.sku_get_for_merchant(self.merchant, data["sku"])),
            found_or_404(selectors.warehouse_get_for_merchant(self.merchant, data["warehouse"])),
        )

    def _answer(self, level, status_code=status.HTTP_200_OK) -> Response:
        return Response(
            MerchantStockSerializer(found_or_404(selectors.stock_get_for_merchant(self.merchant, level.pk))).data,
            status_code,
        )

    @extend_schema(
        summary="Record a receipt",
        description=ACCESS
        + "Goods arrived: on hand grows by `quantity`; a movement is written. "
        + codes("not_authenticated", "not_found", "validation_error", *STOCK_ERRORS),
        request=MerchantReceiptSerializer,
        responses={201: MerchantStockSerializer, **errors(400, 401, 404, 409)},
    )
    def create(self, request):
        data = self._input(MerchantReceiptSerializer)
        sku, warehouse = self._targets(data)
        level = services.stock_receive(
            merchant=self.merchant,
            sku=sku,
            warehouse=warehouse,
            quantity=data["quantity"],
            actor=request.user,
            reference=data["reference"],
        )
        return self._answer(level, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Adjust a stock level to a counted figure",
        description=ACCESS + "Sets on hand (stocktake, damage); never below the units reserved for orders "
        "(`below_reserved`, with `extra.reserved`). "
        + codes(
            "not_authenticated", "not_found", "validation_error", "reason_required", "below_reserved", *STOCK_ERRORS
        ),
        request=MerchantAdjustmentSerializer,
        responses={200: MerchantStockSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=False, methods=["post"])
    def adjust(self, request):
        data = self._input(MerchantAdjustmentSerializer)
        sku, warehouse = self._targets(data)
        level = services.stock_adjust(
            merchant=self.merchant,
            sku=sku,
            warehouse=warehouse,
            on_hand=data["on_hand"],
            actor=request.user,
            reason=data["reason"],
            reference=data["reference"],
        )
        return self._answer(level)
