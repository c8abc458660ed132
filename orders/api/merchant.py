"""Merchant orders API (/api/v1/orders/merchant/orders/): the caller's merchant orders, each
with only its own lines, and shipping.

Only members whose role covers orders (owner, orders) reach it; anyone else signed in gets
404, as does another merchant's id. The list takes `MerchantOrderFilter`, the same filters
as the portal's order list.
"""

from __future__ import annotations

from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404
from merchants.selectors import member_list

from .. import selectors, services
from ..filters import MerchantOrderFilter
from ..models import MerchantOrder
from .permissions import IsOrdersMember
from .serializers import MerchantOrderListSerializer, MerchantOrderSerializer, ShipSerializer
from .views import ACCESS_ERRORS, MERCHANT

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Merchant order id.")


@extend_schema_view(
    list=extend_schema(
        summary="My merchant orders",
        description=MERCHANT
        + "Newest first; filter by `status`, `placed_from`/`placed_to` (dates, both included), `number` (any "
        "part of the merchant or buyer order number), `is_frozen` and `after_sales_open`. "
        + codes(*ACCESS_ERRORS, "validation_error"),
        responses={200: MerchantOrderListSerializer(many=True), **errors(400, 401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my merchant orders",
        description=MERCHANT
        + "Only this merchant's lines (frozen prices, discounts and commission), the delivery address "
        "snapshot, the parcels with their warehouse (a merged parcel lists every order in it) and the "
        "timeline. " + codes(*ACCESS_ERRORS),
        parameters=[ID],
        responses={200: MerchantOrderSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=["orders (merchant)"])
class MerchantOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsOrdersMember]
    serializer_class = MerchantOrderListSerializer
    filterset_class = MerchantOrderFilter
    queryset = MerchantOrder.objects.none()  # for the schema generator: requests use the selectors

    @cached_property
    def merchant(self):
        return self.request.member.merchant

    def get_queryset(self):
        return selectors.merchant_order_list_for_merchant(self.merchant)

    def _answer(self, order_id) -> Response:
        order = found_or_404(selectors.merchant_order_get_for_merchant(self.merchant, order_id))
        order.parcels = selectors.merchant_order_shipments(order)
        order.timeline = list(selectors.merchant_order_events(order))
        context = {
            "buyer_id": order.buyer_order.buyer_id,
            "team_ids": {m.user_id for m in member_list(self.merchant)},
        }
        return Response(MerchantOrderSerializer(order, context=context).data)

    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        summary="Ship an order",
        description=MERCHANT
        + "A paid order leaves with a carrier and tracking number; its reserved stock leaves the warehouse. "
        "Orders merged into the same parcel ship with it. "
        + codes(
            *ACCESS_ERRORS,
            "validation_error",
            "tracking_required",
            "carrier_too_long",
            "tracking_number_too_long",
            "invalid_transition",
        ),
        parameters=[ID],
        request=ShipSerializer,
        responses={200: MerchantOrderSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        order = found_or_404(selectors.merchant_order_get_for_merchant(self.merchant, pk))  # 404 before any 400
        data = validated(ShipSerializer, request.data)
        services.merchant_order_ship_parcel(
            order=order,
            merchant=self.merchant,
            actor=request.user,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
        )
        return self._answer(order.pk)
