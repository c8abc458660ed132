"""Notifications API: the caller's own notifications only (another user's id is 404), the
unread count for the header, and marking read."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from marketplace.schema import codes, errors
from marketplace.shortcuts import found_or_404

from .. import selectors, services
from ..models import Notification
from .serializers import MarkedSerializer, NotificationSerializer, UnreadCountSerializer

TAGS = ["notifications"]
UNREAD = OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread notifications.")


@extend_schema_view(
    list=extend_schema(
        summary="List my notifications",
        description="Newest first, paginated; `?unread=true` for the unread ones. "
        + codes("not_authenticated", "validation_error"),
        parameters=[UNREAD],
        responses={200: NotificationSerializer(many=True), **errors(400, 401)},
    ),
    retrieve=extend_schema(
        summary="Get one of my notifications",
        description="Another user's is not found. " + codes("not_authenticated", "not_found"),
        responses={200: NotificationSerializer, **errors(401, 404)},
    ),
)
@extend_schema(tags=TAGS)
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Notification.objects.none()
        unread = self.request.query_params.get("unread", "").lower() in ("1", "true")
        return selectors.notification_list(self.request.user, unread=unread)

    def get_object(self):
        return found_or_404(selectors.notification_get(self.request.user, self.kwargs["pk"]))

    @extend_schema(
        summary="Count my unread notifications",
        description="What the header shows. " + codes("not_authenticated"),
        responses={200: UnreadCountSerializer, **errors(401)},
    )
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": selectors.unread_count(request.user)})

    @extend_schema(
        summary="Mark one of my notifications read",
        description="Marking it again changes nothing. " + codes("not_authenticated", "not_found"),
        request=None,
        responses={200: NotificationSerializer, **errors(401, 404)},
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(notification=self.get_object(), user=request.user)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Mark all my notifications read",
        description="Returns how many were unread. " + codes("not_authenticated"),
        request=None,
        responses={200: MarkedSerializer, **errors(401)},
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})
