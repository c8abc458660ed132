"""Settlements API (/api/v1/settlements/): runs, statements and payout batches.

Finance staff (platform staff whom each action's declaration in `settlements.permissions`
allows, the declarations the admin uses too) start runs,
read and approve every statement and create payout batches. A merchant member whose role
covers the portal's finance section (owner, finance) reads their own merchant's statements
only, once approved. Views check who is asking (permissions.py) and the shape of input (serializers.py)
and call one service each; refusals are the services' `DomainError`s with stable codes.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import permissions, selectors, services
from ..models import PayoutBatch, SettlementRun, Statement
from .filters import StatementFilter
from .permissions import FinancePermission, StatementReader
from .serializers import (
    PayoutBatchCreateSerializer,
    PayoutBatchDetailSerializer,
    PayoutBatchSerializer,
    RunStartSerializer,
    SettlementRunSerializer,
    StatementDetailSerializer,
    StatementSerializer,
)

TAGS = ["settlements"]
FINANCE = (
    "For finance staff: platform staff holding the finance permissions (other staff get 403, "
    "anyone else signed in 404). "
)
READERS = (
    "Finance staff see every statement; a merchant member whose role covers statements (owner, finance) "
    "sees only their own merchant's approved and paid ones (drafts are internal to finance; another "
    "merchant's id is not found); other staff get 403, anyone else signed in 404. "
)
ACCESS = ("not_authenticated", "permission_denied", "not_found")


def _id(description: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=description)


# --- Runs ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Settlement runs",
        description=FINANCE + "Newest first, with their progress. " + codes(*ACCESS),
        responses={200: SettlementRunSerializer(many=True), **errors(401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="One settlement run",
        description=FINANCE
        + "Status and progress: batches and merchants done of the total, statements created, failed "
        "batches. " + codes(*ACCESS),
        parameters=[_id("Run id.")],
        responses={200: SettlementRunSerializer, **errors(401, 403, 404)},
    ),
)
@extend_schema(tags=TAGS)
class SettlementRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [FinancePermission]
    staff_actions = {
        "list": permissions.RUN_VIEW,
        "retrieve": permissions.RUN_VIEW,
        "create": permissions.RUN_START,
    }
    serializer_class = SettlementRunSerializer
    queryset = SettlementRun.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.run_list()

    @extend_schema(
        summary="Start a settlement run",
        description=FINANCE
        + "Settles every merchant without a statement for the period, in batches run by the workers after "
        "the answer (202); follow the run's progress at its URL. A period that has not ended is refused "
        "(409 `period_not_ended`). Starting again later settles only the merchants left. "
        + codes(*ACCESS, "validation_error", "invalid_period", "period_not_ended"),
        request=RunStartSerializer,
        responses={202: SettlementRunSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def create(self, request):
        data = validated(RunStartSerializer, request.data)
        run = services.run_start(period=data["period"], actor=request.user)
        return Response(SettlementRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


# --- Statements ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Statements",
        description=READERS
        + "Newest period first; filter by `period` (e.g. 2026-10), `merchant` (id) and `status`. "
        + codes(*ACCESS, "validation_error"),
        responses={200: StatementSerializer(many=True), **errors(400, 401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="One statement",
        description=READERS
        + "With its lines in the order of the statement table, its frozen orders (held by an open dispute, "
        "not paid) and the manual adjustments settled in it. " + codes(*ACCESS),
        parameters=[_id("Statement id.")],
        responses={200: StatementDetailSerializer, **errors(401, 403, 404)},
    ),
)
@extend_schema(tags=TAGS)
class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [StatementReader]
    staff_actions = {
        "list": permissions.STATEMENT_VIEW,
        "retrieve": permissions.STATEMENT_VIEW,
        "approve": permissions.STATEMENT_APPROVE,
    }
    serializer_class = StatementSerializer
    filterset_class = StatementFilter
    queryset = Statement.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.statement_list_for_user(self.request.user)

    def _answer(self, statement_id) -> Response:
        statement = found_or_404(selectors.statement_get_for_user(self.request.user, statement_id))
        return Response(StatementDetailSerializer(statement).data)

    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        summary="Approve a statement",
        description="Finance staff only (a merchant member gets 403 on a statement they can read, 404 on any "
        "other). "
        "The statement becomes payable and its journal entry is posted, once; only a statement to review "
        "can be approved (409 `invalid_transition`). " + codes(*ACCESS, "invalid_transition"),
        parameters=[_id("Statement id.")],
        request=None,
        responses={200: StatementDetailSerializer, **errors(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        statement = found_or_404(selectors.statement_get_for_user(request.user, pk))  # 404 before 403
        if not request.user.is_staff:
            raise PermissionDenied()
        services.statement_approve(statement=statement, actor=request.user)
        return self._answer(statement.pk)


# --- Payout batches -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Payout batches",
        description=FINANCE + "Newest first, with their payouts' count and total. " + codes(*ACCESS),
        responses={200: PayoutBatchSerializer(many=True), **errors(401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="One payout batch",
        description=FINANCE + "With each payout's status (sent to the bank, paid, failed). " + codes(*ACCESS),
        parameters=[_id("Payout batch id.")],
        responses={200: PayoutBatchDetailSerializer, **errors(401, 403, 404)},
    ),
)
@extend_schema(tags=TAGS)
class PayoutBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [FinancePermission]
    staff_actions = {
        "list": permissions.PAYOUT_BATCH_VIEW,
        "retrieve": permissions.PAYOUT_BATCH_VIEW,
        "create": permissions.PAYOUT_BATCH_CREATE,
    }
    serializer_class = PayoutBatchSerializer
    queryset = PayoutBatch.objects.none()  # for the schema generator: requests use the selectors

    def get_queryset(self):
        return selectors.payout_batch_list()

    def _answer(self, batch_id, status_code=status.HTTP_200_OK) -> Response:
        return Response(
            PayoutBatchDetailSerializer(found_or_404(selectors.payout_batch_get(batch_id))).data, status=status_code
        )

    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        summary="Create a payout batch",
        description=FINANCE
        + "Puts every (or each listed) approved statement with a positive payable and no payout sent or paid "
        "in one batch; a statement whose payout failed is owed and goes in again. 409 `nothing_to_pay` "
        "when there is none. " + codes(*ACCESS, "validation_error", "nothing_to_pay"),
        request=PayoutBatchCreateSerializer,
        responses={201: PayoutBatchDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def create(self, request):
        data = validated(PayoutBatchCreateSerializer, request.data)
        batch = services.payout_batch_create(actor=request.user, statement_ids=data.get("statements"))
        return self._answer(batch.pk, status.HTTP_201_CREATED)
