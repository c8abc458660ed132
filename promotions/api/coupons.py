"""Coupon API under /api/v1/promotions/coupons/: the coupon centre (claimable coupons,
public), claiming, and the caller's own coupons.

Views check who is asking (permissions.py) and the shape of input (serializers.py), and
call one service each; every refusal comes from a service as a `DomainError` with a stable
code and leaves the data unchanged. A buyer's coupons come from selectors given the buyer,
so another buyer's coupon id answers 404.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import selectors, services
from ..choices import CouponState
from ..models import Coupon, Promotion
from .permissions import IsBuyer
from .serializers_coupons import ClaimableSerializer, ClaimCodeSerializer, CouponSerializer

TAGS = ["promotions (coupons)"]
BUYER = "For signed-in buyers (staff get 404): only the caller's own coupons; another buyer's id is not found. "
CLAIM_ERRORS = (
    "coupon_used_up",
    "coupon_limit_reached",
    "coupon_not_claimable",
    "coupon_not_started",
    "coupon_expired",
)


@extend_schema_view(
    list=extend_schema(
        summary="Claimable coupons (the coupon centre)",
        description="Open to everyone. Active coupon promotions in their window that are claimed here (those with "
        "a public code are claimed by entering it), ending soonest first; signed in, each says how many you hold "
        "and whether you may claim another.",
        responses={200: ClaimableSerializer(many=True)},
    ),
)
@extend_schema(tags=TAGS)
class CouponCentreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    serializer_class = ClaimableSerializer
    queryset = Promotion.objects.none()  # for the schema generator: requests use the selectors
    filter_backends: list = []

    def get_permissions(self):
        if self.action in ("claim", "claim_code"):
            return [IsBuyer()]
        return super().get_permissions()

    def get_queryset(self):
        return selectors.coupon_promotion_list_claimable(buyer=self.request.user)

    @extend_schema(
        summary="Claim a coupon",
        description=BUYER + "Gives you one coupon of this promotion, within its total count and the per-buyer "
        "limit however many claim at once. " + codes("not_authenticated", "not_found", *CLAIM_ERRORS),
        request=None,
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Promotion id.")],
        responses={201: CouponSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        promotion = found_or_404(selectors.coupon_promotion_list_claimable().filter(pk=pk).first())
        coupon = services.coupon_claim(promotion=promotion, buyer=request.user)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Claim a coupon by its public code",
        description=BUYER
        + "Claims a coupon of the promotion whose public code this is (any case), within its limits. "
        + codes("not_authenticated", "not_found", "validation_error", "coupon_code_unknown", *CLAIM_ERRORS),
        request=ClaimCodeSerializer,
        responses={201: CouponSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=False, methods=["post"], url_path="claim-code")
    def claim_code(self, request):
        data = validated(ClaimCodeSerializer, request.data)
        coupon = services.coupon_claim_code(buyer=request.user, code=data["code"])
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="My coupons",
        description=BUYER + "One tab at a time (`state`, default available): available ones ending soonest first, "
        "used and expired ones newest first. " + codes("not_authenticated", "not_found", "validation_error"),
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=list(selectors.COUPON_TABS))],
        responses={200: CouponSerializer(many=True), **errors(400, 401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my coupons",
        description=BUYER + codes("not_authenticated", "not_found"),
        responses={200: CouponSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MyCouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsBuyer]
    serializer_class = CouponSerializer
    queryset = Coupon.objects.none()  # for the schema generator: requests use the selectors
    filter_backends: list = []

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self):
        tab = self.request.query_params.get("state", CouponState.AVAILABLE)
        if tab not in selectors.COUPON_TABS:
            raise ValidationError({"state": [_("Unknown state.")]})
        return selectors.coupon_list_for_buyer(buyer=self.request.user, tab=tab)

    def retrieve(self, request, pk=None):
        coupon = found_or_404(selectors.coupon_get_for_buyer(buyer=request.user, coupon_id=pk))
        return Response(CouponSerializer(coupon, context=self.get_serializer_context()).data)
