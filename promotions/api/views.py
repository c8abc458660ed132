"""Group buy API under /api/v1/promotions/group-buys/.

Anyone reads the campaigns open for new groups and a group's page (masked names); a signed-in
buyer (not staff: 404) opens or joins a group, which places an order at the first step's
price (`orders.services.group_buy_join`, the use case across both apps); the merchant's
catalog members list, create, pause, resume and end their campaigns (another merchant's id:
404). Every refusal comes from a service as a `DomainError` with a stable code.
"""

from __future__ import annotations

from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404
from orders import selectors as order_selectors
from orders import services as order_services

from .. import selectors, services
from ..errors import GroupBuyError
from ..models import GroupBuyCampaign, GroupBuyGroup
from .permissions import IsBuyer, IsGroupBuyMember
from .serializers_group_buys import (
    CampaignCreateSerializer,
    CampaignSerializer,
    GroupSerializer,
    JoinAnswerSerializer,
    JoinSerializer,
    MerchantCampaignSerializer,
)

TAGS = ["promotions (group buys)"]
ACCESS = ("not_authenticated", "not_found")
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Group buy id.")
MERCHANT = "For the owner and catalog members of the campaign's merchant; anyone else gets 404. "


@extend_schema_view(
    list=extend_schema(summary="Group buys open now", description="Public. Newest first, with their ladder."),
    retrieve=extend_schema(
        summary="One group buy", parameters=[ID], responses={200: CampaignSerializer, **errors(404)}
    ),
)
@extend_schema(tags=TAGS)
class GroupBuyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    serializer_class = CampaignSerializer
    queryset = GroupBuyCampaign.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.group_buy_list_public()

    def retrieve(self, request, pk=None):
        return Response(CampaignSerializer(found_or_404(selectors.group_buy_get_public(pk))).data)

    @extend_schema(
        summary="Open or join a group",
        description="For signed-in buyers (staff get 404). Without `group`, opens a new group (it closes "
        "24 hours later); with it, joins that group. Places an order for the campaign's SKU at the first "
        "step's price, to be paid like any order: only paid participants count. When the group closes, "
        "each participant is refunded the difference to the step reached, or everything below the first "
        "step. "
        + codes(
            *ACCESS,
            "validation_error",
            "invalid_address",
            "invalid_quantity",
            "group_buy_not_active",
            "group_closed",
            "already_joined",
            "sku_unavailable",
            "insufficient_stock",
        ),
        parameters=[ID],
        request=JoinSerializer,
        responses={201: JoinAnswerSerializer, **errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsBuyer])
    def join(self, request, pk=None):
        data = validated(JoinSerializer, request.data)
        address = order_selectors.address_list(request.user).filter(pk=data["address"]).first()
        if address is None:
            raise GroupBuyError("invalid_address", _("Choose one of your saved addresses."))
        participant, order = order_services.group_buy_join(
            buyer=request.user, address=address, campaign_id=int(pk), group_id=data["group"], quantity=data["quantity"]
        )
        answer = {
            "participant": participant.pk,
            "group": participant.group_id,
            "order_number": order.number,
            "payable_total": order.payable_total,
        }
        return Response(JoinAnswerSerializer(answer).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(
        summary="A group's page",
        description="Public (shareable): the step reached by paid participants, the next step and how many "
        "more it needs, the participants with masked names, and when it closes. " + codes("not_found"),
        responses={200: GroupSerializer, **errors(404)},
    )
)
@extend_schema(tags=TAGS)
class GroupViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    serializer_class = GroupSerializer
    queryset = GroupBuyGroup.objects.none()

    def retrieve(self, request, pk=None):
        return Response(GroupSerializer(found_or_404(selectors.group_get_public(pk))).data)


@extend_schema_view(
    list=extend_schema(
        summary="My group buys",
        description=MERCHANT
        + "With their figures: groups, groups that succeeded, paid participants. "
        + codes(*ACCESS),
        responses={200: MerchantCampaignSerializer(many=True), **errors(401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my group buys",
        description=MERCHANT + codes(*ACCESS),
        parameters=[ID],
        responses={200: MerchantCampaignSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MerchantGroupBuyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsGroupBuyMember]
    serializer_class = MerchantCampaignSerializer
    queryset = GroupBuyCampaign.objects.none()

    @cached_property
    def merchant(self):
        return self.request.member.merchant

    def get_queryset(self):
        return selectors.group_buy_list_for_merchant(self.merchant)

    def retrieve(self, request, pk=None):
        campaign = found_or_404(selectors.group_buy_get_for_merchant(self.merchant, pk))
        return Response(MerchantCampaignSerializer(campaign).data)

    @extend_schema(
        summary="Create a group buy",
        description=MERCHANT
        + "One of the merchant's SKUs with a ladder of steps (participants and percent off, both strictly "
        "increasing, percent below 100), funded by the merchant. "
        + codes(
            *ACCESS,
            "validation_error",
            "invalid_steps",
            "invalid_percent",
            "steps_not_increasing",
            "invalid_window",
            "invalid_quantity",
            "name_required",
        ),
        request=CampaignCreateSerializer,
        responses={201: MerchantCampaignSerializer, **errors(400, 401, 404)},
    )
    def create(self, request):
        data = validated(CampaignCreateSerializer, request.data)
        campaign = services.group_buy_create(
            merchant=self.merchant,
            actor=request.user,
            sku_id=data["sku"],
            name=data["name"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            steps=[(s["participants"], s["percent"]) for s in data["steps"]],
            max_quantity=data["max_quantity"],
            window_hours=data["window_hours"],
        )
        answer = selectors.group_buy_get_for_merchant(self.merchant, campaign.pk)
        return Response(MerchantCampaignSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The groups of one of my group buys",
        description=MERCHANT + codes(*ACCESS),
        parameters=[ID],
        responses={200: GroupSerializer(many=True), **errors(401, 404)},
    )
    @action(detail=True, methods=["get"])
    def groups(self, request, pk=None):
        campaign = found_or_404(selectors.group_buy_get_for_merchant(self.merchant, pk))
        groups = list(selectors.group_list_for_campaign(campaign)[:200])
        for group in groups:
            group.campaign = campaign
        return Response(GroupSerializer(groups, many=True).data)

    def _move(self, pk, transition: str) -> Response:
        campaign = found_or_404(selectors.group_buy_get_for_merchant(self.merchant, pk))
        services.group_buy_transition(campaign=campaign, action=transition, actor=self.request.user)
        return Response(MerchantCampaignSerializer(selectors.group_buy_get_for_merchant(self.merchant, pk)).data)

    @extend_schema(
        summary="Pause a group buy",
        description=MERCHANT
        + "No new group opens; open groups run to their end. "
        + codes(*ACCESS, "invalid_transition"),
        parameters=[ID],
        request=None,
        responses={200: MerchantCampaignSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._move(pk, "pause")

    @extend_schema(
        summary="Resume a group buy",
        description=MERCHANT + codes(*ACCESS, "invalid_transition"),
        parameters=[ID],
        request=None,
        responses={200: MerchantCampaignSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._move(pk, "resume")

    @extend_schema(
        summary="End a group buy",
        description=MERCHANT + "For good; open groups run to their end. " + codes(*ACCESS, "invalid_transition"),
        parameters=[ID],
        request=None,
        responses={200: MerchantCampaignSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._move(pk, "end")
