"""Flash-sale API (/api/v1/promotions/flash-sales/): the sales buyers may see, and admission.

Admission is the hot path of a flash sale: a burst of buyers answered by one Redis script
(`promotions.services.flash`). So that a refusal costs no database query, the caller's API
token is authenticated from memory or the cache (`CachedTokenAuthentication`: the token table is read
once per FLASH_SALE_TOKEN_CACHE_SECONDS per token); a session works too (one query, the page's
button). The admission has no rate throttle (it would cost more than the admission). Staff
are not buyers: 404, as in the orders API. In production an admission with a token is served
by `admit_with_token` through the lean handler (marketplace/lean.py), with the same answers.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import OperationalError
from django.http import HttpResponse
from django.urls import resolve
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.authentication import TokenScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.authentication import TokenAuthentication
from marketplace.errors import DomainError
from marketplace.middleware import RETRY_AFTER_SECONDS, SERVER_BUSY_CODE, SERVER_BUSY_MESSAGE, is_server_busy
from marketplace.schema import codes, errors

from .. import selectors
from ..errors import FlashSaleConflict
from ..models import FlashSale
from ..services import flash
from . import flash_tokens

TAGS = ["promotions"]
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


class CachedTokenAuthentication(TokenAuthentication):
    """The API's token authentication (DRF's, its statement compiled once), the token's user
    (id, staff flag) remembered for FLASH_SALE_TOKEN_CACHE_SECONDS in this process and in the
    shared cache: a burst of admissions reads the token table once per buyer, and a buyer's
    retries in the same worker ask not even Redis. The user it gives is not loaded from the database (only `pk`,
    `is_active`, `is_staff` are set): enough for admission, which needs nothing else, and for
    the lean add-to-cart (`orders.api.lean`), which needs the id.

    A revoked token is refused at once: deleting a token (revoking or rotating it, deleting
    its user), deactivating its user or making them staff revokes both entries after commit,
    in every process (`flash_tokens`)."""

    def authenticate_credentials(self, key):
        if "\x00" in key:  # PostgreSQL refuses NUL in text: the lookup would be a 500
            raise AuthenticationFailed(_("Invalid token."))
        digest = flash_tokens.token_digest(key)
        flash_tokens.local.ensure_listening()
        known = flash_tokens.local.get(digest)
        if known is not None:
            return self._user(known), None
        epoch = flash_tokens.local.epoch
        cache_key = flash_tokens.token_cache_key(key)
        known = cache.get(cache_key)
        if known is not None and known != flash_tokens.REVOKED:
            flash_tokens.local.put(digest, known, epoch)
            return self._user(known), None
        user, token = super().authenticate_credentials(key)  # raises for a bad or inactive one
        known = (user.pk, user.is_staff)
        # `add`, not `set`: a revocation that committed since the token was read left its mark,
        # which this must not overwrite with what was read before it.
        cache.add(cache_key, known, settings.FLASH_SALE_TOKEN_CACHE_SECONDS)
        flash_tokens.local.put(digest, known, epoch)
        return user, token

    @staticmethod
    def _user(known):
        user_id, is_staff = known
        return get_user_model()(pk=user_id, is_active=True, is_staff=is_staff)


class CachedTokenScheme(TokenScheme):
    """In the schema: the same `Authorization: Token <token>` header as everywhere."""

    target_class = CachedTokenAuthentication
    name = "flashTokenAuth"
    priority = 1


class IsFlashBuyer(IsAuthenticated):
    """Any signed-in user but staff (404 for staff: they use the admin)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.is_staff:
            raise NotFound()
        return True


class FlashSaleSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="sku.product_id", help_text="Product id.")
    title = serializers.CharField(source="sku.product.title")
    sku = serializers.IntegerField(source="sku_id")
    sku_label = serializers.CharField(source="sku.label")
    price = serializers.DecimalField(source="sku.price", max_digits=14, decimal_places=2)
    shop = serializers.CharField(source="merchant.display_name")
    remaining = serializers.IntegerField(
        source="remaining_units", help_text="Units neither held nor sold (the database's count)."
    )
    state = serializers.SerializerMethodField(help_text="upcoming, live, sold_out, paused or ended.")

    class Meta:
        model = FlashSale
        fields = [
            "id",
            "product",
            "title",
            "sku",
            "sku_label",
            "shop",
            "price",
            "special_price",
            "quantity",
            "remaining",
            "per_buyer_limit",
            "starts_at",
            "ends_at",
            "state",
        ]
        read_only_fields = fields

    def get_state(self, sale) -> str:
        return selectors.flash_sale_state(sale)


class AdmitSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        default=1, min_value=1, max_value=flash.MAX_UNITS_PER_ADMISSION, help_text="Units to hold (default 1)."
    )


class ReservationSerializer(serializers.Serializer):
    reservation = serializers.IntegerField(source="pk")
    sale = serializers.IntegerField(source="sale_id")
    sku = serializers.IntegerField(source="sale.sku_id")
    units = serializers.IntegerField()
    expires_at = serializers.DateTimeField(help_text="Check out before this to get the special price.")


@extend_schema(tags=TAGS)
class FlashSaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Flash sales on now or to come, of SKUs on sale (anyone may read them)."""

    permission_classes = [AllowAny]
    serializer_class = FlashSaleSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.flash_sale_list_public()

    @extend_schema(summary="List flash sales", description="Sales not ended, the ones on now first.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A flash sale", parameters=[ID], responses={200: FlashSaleSerializer, **errors(404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Join a flash sale (admission)",
        description="For signed-in buyers (staff get 404). Decided at once, atomically: 201 with a "
        "reservation of `quantity` units held until `expires_at` — then add the SKU to the cart and "
        "check out as usual, those units are priced at the special price — or 409 with why: "
        "`not_started`, `ended`, `paused`, `sold_out`, `limit_reached` (`extra.left`: units the buyer "
        "may still take, or left in the sale). "
        + codes("not_authenticated", "not_found", "validation_error", "invalid_quantity", "not_started", "ended")
        + " "
        + codes("paused", "sold_out", "limit_reached", "try_again"),
        parameters=[ID],
        request=AdmitSerializer,
        responses={201: ReservationSerializer, **errors(400, 401, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsFlashBuyer],
        authentication_classes=[CachedTokenAuthentication, SessionAuthentication],
        # No rate throttle here: it would cost two cache round trips per admission, twice the
        # admission itself (one Redis script); the sale's per-buyer limit bounds what a buyer gets.
        throttle_classes=[],
    )
    def admit(self, request, pk=None):
        data = validated(AdmitSerializer, request.data)
        try:
            reservation = flash.flash_sale_admit(sale_id=int(pk), buyer_id=request.user.pk, units=data["quantity"])
        except FlashSaleConflict as refusal:
            # The same body as the API's exception handler gives; not logged as a warning: a
            # burst answers thousands of refusals, the expected answer of a flash sale.
            response = Response(refusal.as_dict(), status=refusal.status_code)
            response._has_been_logged = True
            return response
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)


# --- The lean path (marketplace/lean.py, promotions/api/lean_urls.py) -----------------------------

#: A body longer than this is not the plain `{"quantity": n}` the lean path reads itself.
PLAIN_BODY_MAX = 64
_renderer = JSONRenderer()


def _plain_units(request) -> int | None:
    """The units of a plain admission body (none, or a JSON object with at most a whole
    `quantity` from 1 to MAX_UNITS_PER_ADMISSION); None for anything else, which the API
    view parses and answers (400 with its code, form bodies, numbers as strings…)."""
    body = request.body
    if not body:
        return 1
    if len(body) > PLAIN_BODY_MAX or request.content_type != "application/json":
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= {"quantity"}:
        return None
    units = data.get("quantity", 1)
    if type(units) is not int or not 1 <= units <= flash.MAX_UNITS_PER_ADMISSION:
        return None
    return units


def _answer(body: dict, status_code: int, headers: dict | None = None) -> HttpResponse:
    """As the API view's answer: DRF's JSON rendering, `Allow` and `Vary: Accept`."""
    response = HttpResponse(_renderer.render(body), status=status_code, content_type="application/json")
    response["Allow"] = "POST, OPTIONS"
    for name, value in (headers or {}).items():
        response[name] = value
    patch_vary_headers(response, ("Accept",))
    return response


def _api_view(request, pk):
    """The API's own view of the admission (DRF, as the project's URLs route it)."""
    match = resolve(request.path_info, urlconf=settings.ROOT_URLCONF)
    return match.func(request, *match.args, **match.kwargs)


@csrf_exempt  # token authentication only: no cookie, nothing to forge
def admit_with_token(request, pk: int):
    """`POST /api/v1/promotions/flash-sales/<id>/admit/` with an API token, through the lean
    handler: the same answers as `FlashSaleViewSet.admit` (tests compare them), for a tenth of
    the work. The common requests (a plain body, a valid token of a buyer) are answered here:
    201 with the reservation, 409 with the refusal's code, the service's other errors (404 no
    such sale) and 503 `server_busy` as the API's exception handler gives them. Anything else
    (a bad token: 401; staff: 404; a body to validate: 400) goes to the API view itself."""
    units = _plain_units(request)
    if units is None:
        return _api_view(request, pk)
    try:
        authenticated = CachedTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        authenticated = None
    if authenticated is None or authenticated[0].is_staff:
        return _api_view(request, pk)
    try:
        reservation = flash.flash_sale_admit(sale_id=pk, buyer_id=authenticated[0].pk, units=units)
    except DomainError as error:
        response = _answer(error.as_dict(), error.status_code)
        if isinstance(error, FlashSaleConflict):
            response._has_been_logged = True  # as the API view: the expected answer of a burst
        return response
    except OperationalError as error:
        if not is_server_busy(error):
            raise
        body = {
            "code": SERVER_BUSY_CODE,
            "message": str(SERVER_BUSY_MESSAGE),
            "extra": {"retry_after_seconds": RETRY_AFTER_SECONDS},
        }
        return _answer(body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return _answer(ReservationSerializer(reservation).data, status.HTTP_201_CREATED)
