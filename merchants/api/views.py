"""Merchants API: applications and their review, the caller's merchant, public shops.

Views only check who is asking, shape input and output, and call `merchants.services`
(and, for approval, `catalog.services`). Every refusal comes from a service as a
`DomainError` and leaves the data unchanged.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import services as catalog_services
from marketplace.api import HasStaffAction, StaffActionOrScoped
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import permissions, selectors, services
from ..choices import PortalSection
from ..filters import MerchantFilter
from ..models import Merchant
from .permissions import IsApplicant
from .serializers import (
    ApplicationInputSerializer,
    ApplicationSerializer,
    ApproveSerializer,
    BankChangeInputSerializer,
    BankChangeSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    MyMerchantSerializer,
    PublicShopSerializer,
    ReasonSerializer,
)

TAGS = ["merchants"]


STAFF = (
    "For staff whose role allows this action (its declaration in `merchants.permissions`, which the "
    "admin's merchant page checks too: reviewers and operations); anyone else gets 403. "
)
DOC_ID = OpenApiParameter("doc_id", OpenApiTypes.INT, OpenApiParameter.PATH)
DOCUMENT_ERRORS = (
    "document_expired",
    "file_too_large",
    "file_empty",
    "file_type_not_allowed",
    "file_corrupt",
    "image_too_large",
)


@extend_schema_view(
    list=extend_schema(
        summary="List applications",
        description="The caller's own application (at most one), or for staff allowed to view merchants "
        "(`merchants.merchant_view`; other staff get 403) every application, oldest submission first, "
        "filterable by `status`. " + codes("not_authenticated", "permission_denied", "validation_error"),
        responses={200: ApplicationSerializer(many=True), **errors(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get an application",
        description="Another merchant's application is not found; staff need `merchants.merchant_view` (403). "
        + codes("not_authenticated", "permission_denied", "not_found"),
        responses={200: ApplicationSerializer, **errors(401, 403, 404)},
    ),
)
@extend_schema(tags=TAGS)
class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Merchant applications: the applicant fills and submits them, staff review them."""

    serializer_class = ApplicationSerializer
    filterset_class = MerchantFilter

    applicant_actions = frozenset({"partial_update", "submit", "documents", "document_remove"})
    #: What staff may do here, each declared once in merchants.permissions (the admin's
    #: merchant page uses the same declarations). Reads are shared with the applicant.
    staff_actions = {
        "list": permissions.MERCHANT_VIEW,
        "retrieve": permissions.MERCHANT_VIEW,
        "start_review": permissions.APPLICATION_START_REVIEW,
        "approve": permissions.APPLICATION_APPROVE,
        "reject": permissions.APPLICATION_REJECT,
        "request_changes": permissions.APPLICATION_REQUEST_CHANGES,
    }
    shared_reads = frozenset({"list", "retrieve"})

    def get_queryset(self):
        return selectors.application_list(self.request.user)

    def get_permissions(self):
        if self.action in self.shared_reads:
            return [StaffActionOrScoped()]
        if self.action in self.staff_actions:
            return [HasStaffAction()]
        if self.action in self.applicant_actions:
            return [IsApplicant()]
        return [IsAuthenticated()]

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, merchant: Merchant, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(ApplicationSerializer(merchant).data, status=status_code)

    @extend_schema(
        summary="Start an application",
        description="Creates the caller's draft application; the caller becomes its owner. "
        + codes("not_authenticated", "validation_error", "invalid_application", "already_member"),
        request=ApplicationInputSerializer,
        responses={201: ApplicationSerializer, **errors(400, 401, 409)},
    )
    def create(self, request):
        merchant = services.application_create(owner=request.user, data=self._input(ApplicationInputSerializer))
        return self._answer(merchant, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an application",
        description="Only while it is a draft or has changes requested. "
        + codes(
            "not_authenticated",
            "permission_denied",
            "not_found",
            "validation_error",
            "invalid_application",
            "application_locked",
        ),
        request=ApplicationInputSerializer,
        responses={200: ApplicationSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def partial_update(self, request, pk=None):
        merchant = services.application_update(
            merchant=self.get_object(), actor=request.user, data=self._input(ApplicationInputSerializer)
        )
        return self._answer(merchant)

    @extend_schema(
        summary="Submit an application for review",
        description="`application_incomplete` lists what is missing in `extra` "
        '(`{"fields": [...], "documents": [...]}`). '
        + codes(
            "not_authenticated",
            "permission_denied",
            "not_found",
            "application_incomplete",
            "company_already_registered",
            "invalid_transition",
        ),
        request=None,
        responses={200: ApplicationSerializer, **errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._answer(services.application_submit(merchant=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Upload a document",
        description="PDF, PNG or JPEG, recognised from its bytes, not its name. "
        + codes(
            "not_authenticated",
            "permission_denied",
            "not_found",
            "validation_error",
            "unsupported_media_type",
            *DOCUMENT_ERRORS,
            "application_locked",
        ),
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        merchant = self.get_object()
        data = self._input(DocumentUploadSerializer)
        document = services.document_add(
            merchant=merchant,
            actor=request.user,
            kind=data["kind"],
            uploaded=data["file"],
            expires_on=data.get("expires_on"),
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a document",
        description=codes("not_authenticated", "permission_denied", "not_found", "application_locked"),
        parameters=[DOC_ID],
        request=None,
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["delete"], url_path="documents/<int:doc_id>")
    def document_remove(self, request, pk=None, doc_id=None):
        document = get_object_or_404(selectors.document_list_for_merchant(self.get_object()), pk=doc_id)
        services.document_remove(document=document, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- Review (staff) ---------------------------------------------------------------

    @extend_schema(
        summary="Start reviewing an application (staff)",
        description=STAFF + codes("not_authenticated", "permission_denied", "not_found", "invalid_transition"),
        request=None,
        responses={200: ApplicationSerializer, **errors(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        return self._answer(services.application_start_review(merchant=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Approve an application (staff)",
        description=STAFF
        + "Approves with a tier, offers the contract and grants its categories, all or nothing. "
        + codes(
            "not_authenticated",
            "permission_denied",
            "not_found",
            "validation_error",
            "revenue_share_rate_required",
            "franchise_fee_required",
            "invalid_revenue_share_rate",
            "unknown_categories",
            "invalid_transition",
        ),
        request=ApproveSerializer,
        responses={200: ApplicationSerializer, **errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        merchant = self.get_object()
        data = self._input(ApproveSerializer)
        approval = catalog_services.merchant_approve_with_grants(merchant=merchant, actor=request.user, **data)
        return self._answer(approval.merchant)

    @extend_schema(
        summary="Reject an application (staff)",
        description=STAFF
        + codes("not_authenticated", "permission_denied", "not_found", "reason_required", "invalid_transition"),
        request=ReasonSerializer,
        responses={200: ApplicationSerializer, **errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        merchant = self.get_object()
        reason = self._input(ReasonSerializer)["reason"]
        return self._answer(services.application_reject(merchant=merchant, actor=request.user, reason=reason))

    @extend_schema(
        summary="Send an application back for changes (staff)",
        description=STAFF
        + codes("not_authenticated", "permission_denied", "not_found", "reason_required", "invalid_transition"),
        request=ReasonSerializer,
        responses={200: ApplicationSerializer, **errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        merchant = self.get_object()
        reason = self._input(ReasonSerializer)["reason"]
        return self._answer(services.application_request_changes(merchant=merchant, actor=request.user, reason=reason))


class MyMerchantView(APIView):
    """The merchant the caller belongs to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The caller's merchant",
        description="Deposit and contract are null for roles that may not see them. "
        + codes("not_authenticated", "not_found"),
        responses={200: MyMerchantSerializer, **errors(401, 404)},
        tags=TAGS,
    )
    def get(self, request):
        member = selectors.membership_for_user(request.user)
        if member is None:
            raise Http404("No merchant for this user.")
        return Response(MyMerchantSerializer(member.merchant, context={"member": member}).data)


class MyBankChangesView(APIView):
    """The caller's merchant's bank account changes: the owner and finance members ask for a
    new payout account, which finance verifies before payouts use it."""

    permission_classes = [IsAuthenticated]

    def _merchant(self, request):
        # Members whose role does not cover the bank account, buyers and staff: 404.
        merchant = selectors.merchant_for_member(request.user, section=PortalSection.BANK_ACCOUNT)
        if merchant is None:
            raise Http404("No merchant bank account for this user.")
        return merchant

    @extend_schema(
        summary="The caller's bank account changes",
        description="Newest first; the numbers masked. Members whose role does not cover the bank account "
        "(owner and finance do) get 404. " + codes("not_authenticated", "not_found"),
        responses={200: BankChangeSerializer(many=True), **errors(401, 404)},
        tags=TAGS,
    )
    def get(self, request):
        changes = selectors.bank_change_list(self._merchant(request))[:50]
        return Response(BankChangeSerializer(changes, many=True).data)

    @extend_schema(
        summary="Ask for a new bank account",
        description="The change waits for finance; payouts keep using the verified account until it is "
        "approved. "
        + codes(
            "not_authenticated",
            "not_found",
            "validation_error",
            "invalid_bank_account",
            "bank_account_unchanged",
            "bank_change_pending",
            "merchant_not_active",
        ),
        request=BankChangeInputSerializer,
        responses={201: BankChangeSerializer, **errors(400, 401, 404, 409)},
        tags=TAGS,
    )
    def post(self, request):
        merchant = self._merchant(request)
        serializer = BankChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = services.bank_change_request(merchant=merchant, actor=request.user, **serializer.validated_data)
        return Response(BankChangeSerializer(change).data, status=status.HTTP_201_CREATED)


class PublicShopView(APIView):
    """A live shop's public page; anyone may read it."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="A live shop",
        description="Shops that are not live are not found. " + codes("not_found"),
        responses={200: PublicShopSerializer, **errors(404)},
        tags=TAGS,
    )
    def get(self, request, slug):
        return Response(PublicShopSerializer(found_or_404(selectors.merchant_public_get(slug))).data)
