"""The merchant's subsidies, penalties and service fees in the settlements API
(/api/v1/settlements/merchant/…), what the portal's finance pages show and do.

Only members whose role covers the portal's finance section (owner, finance) reach it, as
the portal's pages (`portal_view(PortalSection.FINANCE)`); anyone else signed in, platform
staff included (they use the admin), gets 404, as does another merchant's id. Every read goes
through a selector given the caller's merchant; every change calls one service, whose
`DomainError`s are the answers' stable codes. Uploads are checked by the services as the
portal's are (content, size, count) before anything is written.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import selectors, services
from ..models import (
    FeeCharge,
    GrantApplication,
    Penalty,
    Subscription,
    SubscriptionPlan,
    SubsidyAccrual,
    SubsidyProgramme,
    ValueAddedService,
)
from ..services import subsidies
from .filters import SubsidyAccrualFilter
from .permissions import IsFinanceMember
from .serializers import (
    FeeChargeSerializer,
    GrantApplicationDetailSerializer,
    GrantApplicationSerializer,
    GrantApplySerializer,
    GrantProgrammeSerializer,
    PenaltyAppealSerializer,
    PenaltyDetailSerializer,
    PenaltySerializer,
    PurchaseSerializer,
    SubscribeSerializer,
    SubscriptionPlanSerializer,
    SubscriptionSerializer,
    SubsidyAccrualSerializer,
    ValueAddedServiceSerializer,
)

TAGS = ["settlements (merchant)"]
MERCHANT = (
    "For members whose role covers the finance section (owner, finance); anyone else signed in, staff "
    "included, gets 404, as does another merchant's id. "
)
ACCESS = ("not_authenticated", "not_found")
FILE_ERRORS = ("file_too_large", "file_empty", "file_type_not_allowed", "file_corrupt", "image_too_large")


def _id(description: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=description)


def _input(serializer_class, request, files: str) -> dict:
    """The multipart form's fields checked by `serializer_class` (an empty field is a missing
    one), with every upload of the field `files`."""
    data = {}
    for name in serializer_class().fields:
        value = request.data.get(name)
        if name != files and value not in (None, ""):
            data[name] = value
    getlist = getattr(request.FILES, "getlist", None)
    data[files] = getlist(files) if getlist else []
    return validated(serializer_class, data)


class MerchantViewSet(viewsets.GenericViewSet):
    permission_classes = [IsFinanceMember]

    @cached_property
    def merchant(self):
        return self.request.member.merchant


# --- Subsidies ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="My logistics subsidy accruals",
        description=MERCHANT
        + "One row per shipped order a statement you can see paid a subsidy for: what the rule gave, what "
        "the yearly cap cut and what was paid, and the period that clawed it back if the order was fully "
        "refunded. Newest first; filter by `period` (the paying statement's, e.g. 2026-10) and `state` "
        "(`paid`: not clawed back, `clawed_back`). " + codes(*ACCESS, "validation_error"),
        responses={200: SubsidyAccrualSerializer(many=True), **errors(400, 401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class SubsidyAccrualViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = SubsidyAccrualSerializer
    filterset_class = SubsidyAccrualFilter
    queryset = SubsidyAccrual.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.subsidy_accruals_for_merchant(self.merchant)


@extend_schema_view(
    list=extend_schema(
        summary="Grant programmes open for applications",
        description=MERCHANT + "The programmes an application may name today. " + codes(*ACCESS),
        responses={200: GrantProgrammeSerializer(many=True), **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class GrantProgrammeViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = GrantProgrammeSerializer
    queryset = SubsidyProgramme.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.grant_programmes_open(timezone.localdate())


GRANT_APPLY_ERRORS = (
    "programme_not_applicable",
    "programme_closed",
    "project_required",
    "invalid_invoiced_amount",
    "invalid_requested_amount",
    "invalid_tax_year",
    "tax_year_not_ended",
    "tax_year_before_live",
    "tax_rebate_years_over",
    "tax_rebate_below_threshold",
    "tax_rebate_already_applied",
    "documents_required",
    "too_many_documents",
    "certification_region_required",
    "certification_region_too_long",
    "certification_required",
    *FILE_ERRORS,
)


@extend_schema_view(
    list=extend_schema(
        summary="My grant applications",
        description=MERCHANT + "Newest first, with the decision and the statement that paid each. " + codes(*ACCESS),
        responses={200: GrantApplicationSerializer(many=True), **errors(401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my grant applications",
        description=MERCHANT + "With its documents. " + codes(*ACCESS),
        parameters=[_id("Application id.")],
        responses={200: GrantApplicationDetailSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class GrantApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MerchantViewSet):
    serializer_class = GrantApplicationSerializer
    parser_classes = [MultiPartParser, FormParser]  # the application's files
    queryset = GrantApplication.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.grant_applications_for(self.merchant)

    def retrieve(self, request, pk=None):
        application = found_or_404(selectors.grant_application_get(merchant=self.merchant, pk=pk))
        return Response(GrantApplicationDetailSerializer(application).data)

    @extend_schema(
        summary="Apply for a grant",
        description=MERCHANT
        + "Multipart, as the portal's form: the programme, the project, the invoiced amount (fit-out, "
        "equipment, training; the tax year's local contribution for the tax rebate), the amount requested "
        "(brand incubation, with the brand's regional `certification` file and the `certification_region` "
        "that issued it), the tax year (tax rebate) and one `documents` part per file (at least one; "
        "PDF, PNG or JPEG recognised from its bytes). Every file is checked before anything is written; "
        "the platform reviews the application. "
        + codes(*ACCESS, "validation_error", "unsupported_media_type", *GRANT_APPLY_ERRORS),
        request={"multipart/form-data": GrantApplySerializer},
        responses={201: GrantApplicationDetailSerializer, **errors(400, 401, 404, 409, 415)},
    )
    def create(self, request):
        data = _input(GrantApplySerializer, request, "documents")
        programme = selectors.grant_programmes_open(timezone.localdate()).filter(pk=data["programme"]).first()
        if programme is None:
            raise ValidationError({"programme": [_("Choose a grant programme open for applications.")]})
        application = subsidies.grant_apply(
            merchant=self.merchant,
            programme=programme,
            actor=request.user,
            project=data["project"],
            description=data.get("description", ""),
            invoiced_amount=data.get("invoiced_amount"),
            requested_amount=data.get("requested_amount"),
            tax_year=data.get("tax_year"),
            documents=data["documents"],
            certification=data.get("certification"),
            certification_region=data["certification_region"],
        )
        application = selectors.grant_application_get(merchant=self.merchant, pk=application.pk)
        return Response(GrantApplicationDetailSerializer(application).data, status=status.HTTP_201_CREATED)


# --- Penalties ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="My penalties",
        description=MERCHANT + "Newest first, with the statement that deducted each. " + codes(*ACCESS),
        responses={200: PenaltySerializer(many=True), **errors(401, 404)},
    ),
    retrieve=extend_schema(
        summary="One of my penalties",
        description=MERCHANT + "With the platform's evidence files and your appeal's. " + codes(*ACCESS),
        parameters=[_id("Penalty id.")],
        responses={200: PenaltyDetailSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class PenaltyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MerchantViewSet):
    serializer_class = PenaltySerializer
    queryset = Penalty.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.penalty_list_for_merchant(self.merchant)

    def _answer(self, penalty_id) -> Response:
        return Response(
            PenaltyDetailSerializer(found_or_404(selectors.penalty_get_for_merchant(self.merchant, penalty_id))).data
        )

    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        summary="Appeal a penalty",
        description=MERCHANT
        + "Multipart: your `statement` and up to 10 `files` parts (PDF, PNG or JPEG). Only an open penalty, "
        "within its appeal window (409 `appeal_window_closed` after it; 409 `invalid_transition` once "
        "appealed or decided); the platform decides. "
        + codes(
            *ACCESS,
            "validation_error",
            "unsupported_media_type",
            "statement_required",
            "too_many_files",
            *FILE_ERRORS,
            "appeal_window_closed",
            "invalid_transition",
        ),
        parameters=[_id("Penalty id.")],
        request={"multipart/form-data": PenaltyAppealSerializer},
        responses={200: PenaltyDetailSerializer, **errors(400, 401, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def appeal(self, request, pk=None):
        penalty = found_or_404(selectors.penalty_get_for_merchant(self.merchant, pk))  # 404 before any 400
        data = _input(PenaltyAppealSerializer, request, "files")
        services.penalty_appeal(
            penalty=penalty,
            merchant=self.merchant,
            actor=request.user,
            statement=data["statement"],
            files=data["files"],
        )
        return self._answer(penalty.pk)


# --- Service fees -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="My service fee charges",
        description=MERCHANT
        + "Technical service and franchise fees, subscription cycles and value-added services bought, newest "
        "first, each with its relief and the statement that deducted it. " + codes(*ACCESS),
        responses={200: FeeChargeSerializer(many=True), **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class FeeChargeViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = FeeChargeSerializer
    queryset = FeeCharge.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.fee_charges_for_merchant(self.merchant)


@extend_schema_view(
    list=extend_schema(
        summary="Subscription plans offered",
        description=MERCHANT + "With their monthly and yearly prices and benefits. " + codes(*ACCESS),
        responses={200: SubscriptionPlanSerializer(many=True), **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class SubscriptionPlanViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = SubscriptionPlanSerializer
    queryset = SubscriptionPlan.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.subscription_plans_offered()


@extend_schema_view(
    list=extend_schema(
        summary="My subscriptions",
        description=MERCHANT + "The current one (not ended) first. " + codes(*ACCESS),
        responses={200: SubscriptionSerializer(many=True), **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class SubscriptionViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.subscriptions_for_merchant(self.merchant)

    @extend_schema(
        summary="Subscribe to a plan",
        description=MERCHANT
        + "Billed monthly or yearly from today; the first cycle is billed at once and deducted in the next "
        "statement. One subscription at a time (409 `already_subscribed`). "
        + codes(*ACCESS, "validation_error", "invalid_cycle", "plan_not_offered", "already_subscribed"),
        request=SubscribeSerializer,
        responses={201: SubscriptionSerializer, **errors(400, 401, 404, 409)},
    )
    def create(self, request):
        data = validated(SubscribeSerializer, request.data)
        plan = selectors.subscription_plans_offered().filter(pk=data["plan"]).first()
        if plan is None:
            raise ValidationError({"plan": [_("This plan is no longer offered.")]})
        subscription = services.subscription_start(
            merchant=self.merchant, plan=plan, cycle=data["cycle"], actor=request.user
        )
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="End a subscription",
        description=MERCHANT
        + "No cycle after today is billed; the current one, billed already, stays. "
        + codes(*ACCESS, "subscription_ended"),
        parameters=[_id("Subscription id.")],
        request=None,
        responses={200: SubscriptionSerializer, **errors(401, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        subscription = found_or_404(selectors.subscription_get_for_merchant(self.merchant, pk))
        subscription = services.subscription_end(subscription=subscription, merchant=self.merchant, actor=request.user)
        return Response(SubscriptionSerializer(subscription).data)


@extend_schema_view(
    list=extend_schema(
        summary="Value-added services offered",
        description=MERCHANT
        + "Keyword bidding, home-page slots and shop decoration, at their prices. "
        + codes(*ACCESS),
        responses={200: ValueAddedServiceSerializer(many=True), **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class ValueAddedServiceViewSet(mixins.ListModelMixin, MerchantViewSet):
    serializer_class = ValueAddedServiceSerializer
    queryset = ValueAddedService.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.value_added_services_offered()

    @extend_schema(
        summary="Buy a value-added service",
        description=MERCHANT
        + "One charge at its price, billed today and deducted in the next statement. Sending the same "
        "`reference` again bills once and answers the same charge. A service no longer offered is not found. "
        + codes(*ACCESS, "validation_error", "reference_required", "service_not_offered"),
        parameters=[_id("Value-added service id.")],
        request=PurchaseSerializer,
        responses={201: FeeChargeSerializer, **errors(400, 401, 404)},
    )
    @action(detail=True, methods=["post"])
    def purchase(self, request, pk=None):
        service = found_or_404(selectors.value_added_service_offered_get(pk))
        data = validated(PurchaseSerializer, request.data)
        charge = services.value_added_purchase(
            merchant=self.merchant, service=service, actor=request.user, reference=data["reference"]
        )
        return Response(FeeChargeSerializer(charge).data, status=status.HTTP_201_CREATED)
