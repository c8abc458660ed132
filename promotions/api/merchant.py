"""Merchant promotions API (/api/v1/promotions/merchant/): the caller's shop promotions.

Only members whose role covers promotions (owner, catalog) reach it; anyone else signed in
gets 404, as does another shop's id, so ids cannot be probed. Each view shapes input and
output and calls one service; refusals come from the services as a `DomainError` (stable
codes) and leave the data unchanged.
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
from ..choices import PromotionLevel
from ..models import Promotion
from .serializers import MerchantPromotionInputSerializer, MerchantPromotionSerializer

TAGS = ["promotions (merchant)"]
PROMOTION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Promotion id.")
ACCESS = "For the owner and catalog members of a merchant; other signed-in users get 404, as does another shop's id. "
#: The codes `promotion_create`/`promotion_update` refuse settings with.
SETTING_ERRORS = (
    "name_required",
    "invalid_amount",
    "invalid_limit",
    "invalid_channel",
    "invalid_window",
    "invalid_platform_share",
    "invalid_benefit",
    "invalid_percent",
    "steps_required",
    "steps_not_increasing",
    "step_exceeds_threshold",
    "invalid_gift",
    "invalid_scope",
    "scope_empty",
    "scope_not_own_shop",
)


class IsPromotionsMember(IsSectionMember):
    """Signed in (else 401) and a member whose role sees promotions (else 404, not 403)."""

    section = PortalSection.PROMOTIONS


def _current(promotion) -> dict:
    # The settings a PATCH leaves out keep their current values.
    data = {name: getattr(promotion, name) for name in services.PROMOTION_FIELDS}
    data["steps"] = [{"threshold": s.threshold, "amount": s.amount} for s in promotion.steps.all()]
    data["product_ids"] = [p.pk for p in promotion.products.all()]
    data["category_ids"] = [c.pk for c in promotion.categories.all()]
    return data


def _command(summary: str, description: str, *error_codes: str):
    return extend_schema(
        summary=summary,
        description=ACCESS + description + " " + codes("not_authenticated", "not_found", *error_codes),
        request=None,
        parameters=[PROMOTION_ID],
        responses={200: MerchantPromotionSerializer, **errors(400, 401, 404, 409)},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List my promotions",
        description=ACCESS + "Newest first, every status. " + codes("not_authenticated", "not_found"),
        responses={200: MerchantPromotionSerializer(many=True), **errors(401, 404)},
    ),
    retrieve=extend_schema(
        summary="Get one of my promotions",
        description=ACCESS + codes("not_authenticated", "not_found"),
        parameters=[PROMOTION_ID],
        responses={200: MerchantPromotionSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class MerchantPromotionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's shop promotions: list, create, change (draft or rejected), put live, pause,
    resume, end."""

    permission_classes = [IsPromotionsMember]
    serializer_class = MerchantPromotionSerializer
    # For the schema generator only: every request goes through the selectors.
    queryset = Promotion.objects.none()
    filter_backends: list = []
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @cached_property
    def merchant(self):
        return self.request.member.merchant

    def get_queryset(self):
        return selectors.promotion_list_for_merchant(self.merchant).prefetch_related("steps", "products", "categories")

    def get_object(self):
        return found_or_404(selectors.promotion_get_for_merchant(self.merchant, int(self.kwargs["pk"])))

    def _answer(self, promotion, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=promotion.pk)
        return Response(MerchantPromotionSerializer(fresh).data, status=status_code)

    def _input(self, data) -> dict:
        serializer = MerchantPromotionInputSerializer(data=data, context={"merchant": self.merchant})
        serializer.is_valid(raise_exception=True)
        return serializer.service_data()

    @extend_schema(
        summary="Create a promotion",
        description=ACCESS
        + "Creates a draft of the caller's shop; put it live with `publish`. "
        + codes("not_authenticated", "not_found", "validation_error", *SETTING_ERRORS),
        request=MerchantPromotionInputSerializer,
        responses={201: MerchantPromotionSerializer, **errors(400, 401, 404)},
    )
    def create(self, request):
        data = self._input(request.data)
        promotion = services.promotion_create(
            actor=request.user, level=PromotionLevel.SHOP, merchant=self.merchant, data=data
        )
        return self._answer(promotion, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a promotion",
        description=ACCESS
        + "Only in draft or rejected (else 409 `promotion_not_editable`); the settings left out keep "
        "their values, lists (`steps`, `product_ids`, `category_ids`) are replaced whole. "
        + codes("not_authenticated", "not_found", "validation_error", "promotion_not_editable", *SETTING_ERRORS),
        request=MerchantPromotionInputSerializer,
        parameters=[PROMOTION_ID],
        responses={200: MerchantPromotionSerializer, **errors(400, 401, 404, 409)},
    )
    def partial_update(self, request, pk=None):
        promotion = self.get_object()
        data = self._input({**_current(promotion), **request.data})
        promotion = services.promotion_update(promotion=promotion, actor=request.user, data=data)
        return self._answer(promotion)

    @_command(
        "Put a promotion live",
        "A draft without a platform share becomes active; with one, it waits for operations' approval.",
        "invalid_transition",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._answer(services.promotion_publish(promotion=self.get_object(), actor=request.user))

    @_command("Pause a promotion", "Active → paused: carts stop getting it at once.", "invalid_transition")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._answer(services.promotion_pause(promotion=self.get_object(), actor=request.user))

    @_command("Resume a promotion", "Paused → active.", "invalid_transition")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(services.promotion_resume(promotion=self.get_object(), actor=request.user))

    @_command("End a promotion", "Active or paused → ended, for good.", "invalid_transition")
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._answer(services.promotion_end(promotion=self.get_object(), actor=request.user))
