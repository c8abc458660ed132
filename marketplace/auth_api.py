"""Account API: token login and the caller's own account."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .errors import DomainError
from .schema import ErrorSerializer


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenObtainView(APIView):
    """Exchange email and password for an API token (`Authorization: Token <token>`).

    Failed attempts count towards the same lockout as the login page (django-axes).
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        tags=["auth"],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise DomainError(
                "account_locked",
                _("Too many failed attempts. Try again later or reset your password."),
            ).with_status(status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None or not user.is_active:
            raise DomainError("invalid_credentials", _("Email or password is incorrect."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    is_staff = serializers.BooleanField()
    groups = serializers.SerializerMethodField()

    def get_groups(self, user) -> list[str]:
        return sorted(g.name for g in user.groups.all())


class MeView(APIView):
    """The signed-in user's own account."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: MeSerializer, 401: ErrorSerializer}, tags=["auth"])
    def get(self, request):
        return Response(MeSerializer(request.user).data)
