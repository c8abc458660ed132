"""Flash-sale API (/api/v1/promotions/flash-sales/): the sales buyers may see, and admission.

Admission is the hot path of a flash sale: a burst of buyers answered by one Redis script
(`promotions.services.flash`). So that a refusal costs no database query, the caller's API
token is authenticated from memory or the cache (`CachedTokenAuthentication`: the token table is read
once per FLASH_SALE_TOKEN_CACHE_SECONDS per token); a session works too (one query, the page's
button). The admission has no rate throttle (it would cost more than the admission). Staff
are not buyers: 404, as in the orders API.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from drf_spectacular.authentication import TokenScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from marketplace.api import validated
from marketplace.schema import codes, errors

from .. import selectors
from ..errors import FlashSaleConflict
from ..models import FlashSale
from ..services import flash

TAGS = ["promotions"]
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


#: Tokens this process authenticated lately: digest → (valid until, (user id, is staff)).
_known: dict[str, tuple[float, tuple[int, bool]]] = {}
KNOWN_MAX = 10_000


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, the token's user (id, staff flag) remembered for
    FLASH_SALE_TOKEN_CACHE_SECONDS in this process and in the shared cache: a burst of
    admissions reads the token table once per buyer, and a buyer's retries in the same worker
    ask not even Redis. The user it gives is not loaded from the database (only `pk`,
    `is_active`, `is_staff` are set): enough for admission, which needs nothing else. A
    deleted token or a deactivated user is refused at the latest when the entry expires."""

    def authenticate_credentials(self, key):
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        hit = _known.get(digest)
        if hit is not None and hit[0] > now:
            user_id, is_staff = hit[1]
            return get_user_model()(pk=user_id, is_active=True, is_staff=is_staff), None
        ttl = settings.FLASH_SALE_TOKEN_CACHE_SECONDS
        known = cache.get(f"flash:token:{digest}")
        user = token = None
        if known is None:
            user, token = super().authenticate_credentials(key)  # raises for a bad or inactive one
            known = (user.pk, user.is_staff)
            cache.set(f"flash:token:{digest}", known, ttl)
        if len(_known) >= KNOWN_MAX:
            _known.clear()  # bounded: a full table starts again (each entry costs one cache read)
        _known[digest] = (now + ttl, tuple(known))
        if user is None:
            user_id, is_staff = known
            user = get_user_model()(pk=user_id, is_active=True, is_staff=is_staff)
        return user, token


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
