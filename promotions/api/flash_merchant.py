"""Merchant flash-sale API (/api/v1/promotions/merchant/flash-sales/): the caller's own flash
sales — list, create, retrieve, pause, resume.

The portal's catalog section decides who reaches it (the owner and catalog members, as the
portal's flash-sale pages); anyone else signed in, staff included (they use the admin), gets
404, as does another shop's sale, so ids cannot be probed. Each view shapes input and output
and calls one service (`flash_sale_create`, `flash_sale_set_paused`); refusals come from the
services with their stable codes and leave the data unchanged. Merchants fund their sales;
operations fund them by the platform in the admin.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.selectors import sku_get_for_merchant
from marketplace.api import validated
from marketplace.parsers import JSONParser
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404
from merchants.api.permissions import IsSectionMember
from merchants.choices import PortalSection

from .. import selectors
from ..choices import FlashFunding, FlashSaleState
from ..models import FlashSale
from ..services import flash
from .permissions import IsBuyer

TAGS = ["promotions (merchant)"]
SALE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Flash sale id.")
ACCESS = (
    "For the owner and catalog members of a merchant; other signed-in users (staff too) get 404, "
    "as does another shop's sale. "
)
#: The codes `flash_sale_create` refuses terms with.
CREATE_ERRORS = (
    "sku_not_on_sale",
    "invalid_special_price",
    "window_in_past",
    "invalid_window",
    "quantity_exceeds_stock",
    "invalid_limit",
    "flash_sale_overlaps",
)


class IsFlashSaleMember(IsBuyer, IsSectionMember):
    """Signed in (else 401), not staff, a member whose role covers the catalog (else 404); the
    membership is kept on `request.member`."""

    section = PortalSection.CATALOG


class MerchantFlashSaleSerializer(serializers.ModelSerializer):
    """One of the merchant's flash sales, with its counters and its state now."""

    sku = serializers.IntegerField(source="sku_id")
    sku_code = serializers.CharField(source="sku.code")
    title = serializers.CharField(source="sku.product.title")
    price = serializers.DecimalField(
        source="sku.price", max_digits=14, decimal_places=2, help_text="The SKU's normal price."
    )
    funding = serializers.ChoiceField(choices=FlashFunding.choices)
    sold = serializers.IntegerField(source="sold_units", help_text="Units in orders not cancelled.")
    reserved = serializers.IntegerField(source="reserved_units", help_text="Units held by buyers, not checked out.")
    remaining = serializers.IntegerField(source="remaining_units", help_text="Units neither held nor sold.")
    state = serializers.ChoiceField(
        source="current_state", choices=FlashSaleState.choices, help_text="What buyers see of it now."
    )

    class Meta:
        model = FlashSale
        fields = [
            "id",
            "sku",
            "sku_code",
            "title",
            "price",
            "special_price",
            "quantity",
            "per_buyer_limit",
            "starts_at",
            "ends_at",
            "funding",
            "platform_share",
            "is_paused",
            "sold",
            "reserved",
            "remaining",
            "state",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        instance.current_state = selectors.flash_sale_state(instance, self.context.get("now"))
        return super().to_representation(instance)


class MerchantFlashSaleInputSerializer(serializers.Serializer):
    """The terms of a new flash sale of one of the caller's SKUs (funded by the merchant)."""

    sku = serializers.IntegerField(help_text="Id of one of the caller's SKUs, on sale.")
    special_price = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Below the SKU's price.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, help_text="At most the units available now.")
    per_buyer_limit = serializers.IntegerField(min_value=1, max_value=flash.MAX_UNITS_PER_ADMISSION, default=1)
    starts_at = serializers.DateTimeField(help_text="In the future.")
    ends_at = serializers.DateTimeField(help_text="After the start.")


def _command(summary: str, description: str):
    return extend_schema(
        summary=summary,
        description=ACCESS + description + " " + codes("not_authenticated", "not_found"),
        request=None,
        parameters=[SALE_ID],
        responses={200: MerchantFlashSaleSerializer, **errors(401, 404)},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List my flash sales",
        description=ACCESS + "Newest window first, every state. " + codes("not_authenticated", "not_found"),
        responses={200: MerchantFlashSaleSerializer(many=True), **errors(401, 404)},
    ),
    retrieve=extend_schema(
        summary="Get one of my flash sales",
        description=ACCESS + codes("not_authenticated", "not_found"),
        parameters=[SALE_ID],
        responses={200: MerchantFlashSaleSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MerchantFlashSaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's flash sales: list, create, retrieve, pause, resume."""

    permission_classes = [IsFlashSaleMember]
    serializer_class = MerchantFlashSaleSerializer
    # For the schema generator only: every request goes through the selectors.
    queryset = FlashSale.objects.none()
    filter_backends: list = []
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "head", "options"]

    @cached_property
    def merchant(self):
        return self.request.member.merchant

    def get_queryset(self):
        return selectors.flash_sale_list_for_merchant(self.merchant)

    def get_object(self):
        return found_or_404(selectors.flash_sale_get_for_merchant(self.merchant, int(self.kwargs["pk"])))

    def get_serializer_context(self):
        # One `now` for every sale of a page: their states agree with each other.
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _answer(self, sale, status_code=status.HTTP_200_OK) -> Response:
        fresh = selectors.flash_sale_get_for_merchant(self.merchant, sale.pk)
        return Response(MerchantFlashSaleSerializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Create a flash sale",
        description=ACCESS
        + "Schedules a sale of one of the caller's SKUs, funded by the merchant: a special price below "
        "the SKU's, a quantity at most the units available now, a limit per buyer, a window in the future "
        "that overlaps no other sale of the SKU (409 `flash_sale_overlaps`). "
        + codes("not_authenticated", "not_found", "validation_error", *CREATE_ERRORS),
        request=MerchantFlashSaleInputSerializer,
        responses={201: MerchantFlashSaleSerializer, **errors(400, 401, 404, 409)},
    )
    def create(self, request):
        data = validated(MerchantFlashSaleInputSerializer, request.data)
        sale = flash.flash_sale_create(
            merchant=self.merchant,
            actor=request.user,
            sku=sku_get_for_merchant(self.merchant, data["sku"]),
            special_price=data["special_price"],
            quantity=data["quantity"],
            per_buyer_limit=data["per_buyer_limit"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )
        return self._answer(sale, status.HTTP_201_CREATED)

    @_command("Pause a flash sale", "Admissions are refused (`paused`); units already held stay valid.")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._pause(paused=True)

    @_command("Resume a flash sale", "Admissions are answered again.")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._pause(paused=False)

    def _pause(self, *, paused: bool) -> Response:
        sale = flash.flash_sale_set_paused(
            sale=self.get_object(), paused=paused, actor=self.request.user, merchant=self.merchant
        )
        return self._answer(sale)
