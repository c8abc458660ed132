"""Public promotions API (/api/v1/promotions/): the promotions live now. Anyone may read it.

Promotions come from `promotions.selectors` (active, automatic, inside their window, with
budget left); any other id is not found.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import AllowAny

from marketplace.schema import ErrorSerializer, codes
from marketplace.shortcuts import found_or_404

from .. import selectors
from .serializers import PromotionSerializer

TAGS = ["promotions"]


class PromotionFilterSerializer(serializers.Serializer):
    shop = serializers.IntegerField(min_value=1, required=False, help_text="A shop's (merchant's) id.")
    category = serializers.IntegerField(
        min_value=1, required=False, help_text="A category id: the promotions that may apply to its products."
    )


@extend_schema_view(
    list=extend_schema(
        summary="List live promotions",
        description="The promotions buyers get now, highest priority first. `shop`: one shop's; "
        "`category`: those whose scope covers the category (chosen categories including it or one "
        "above it, a whole shop, the whole platform). " + codes("validation_error"),
        parameters=[PromotionFilterSerializer],
        responses={200: PromotionSerializer(many=True), 400: ErrorSerializer},
    ),
    retrieve=extend_schema(
        summary="Get a live promotion",
        description="A promotion buyers get now; any other (draft, paused, ended, coupon-only) is not "
        "found. " + codes("not_found"),
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: PromotionSerializer, 404: ErrorSerializer},
    ),
)
@extend_schema(tags=TAGS)
class PublicPromotionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    serializer_class = PromotionSerializer
    filter_backends: list = []

    def get_queryset(self):
        filters = PromotionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.promotion_list_live(
            merchant_id=filters.validated_data.get("shop"), category_id=filters.validated_data.get("category")
        )

    def get_object(self):
        return found_or_404(selectors.promotion_get_live(int(self.kwargs["pk"])))
