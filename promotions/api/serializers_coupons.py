"""Input and output of the coupon API."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import CouponState
from ..models import Coupon, Promotion
from ..selectors import coupon_display_state, promotion_claimed_by, promotion_coupons_left
from .serializers import StepSerializer


class CouponPromotionSerializer(serializers.ModelSerializer):
    """What a coupon gives and when it may be used (its promotion)."""

    shop = serializers.SerializerMethodField(help_text=_("The shop's name; null for a platform coupon."))
    steps = StepSerializer(many=True, read_only=True)
    left = serializers.SerializerMethodField(help_text=_("Coupons left to claim; null when unlimited."))

    class Meta:
        model = Promotion
        fields = [
            "id",
            "name",
            "description",
            "level",
            "shop",
            "benefit_type",
            "amount",
            "percent",
            "steps",
            "min_spend",
            "min_quantity",
            "scope",
            "starts_at",
            "ends_at",
            "per_buyer_limit",
            "left",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_shop(self, promotion) -> str | None:
        return str(promotion.merchant) if promotion.merchant_id else None

    @extend_schema_field(OpenApiTypes.INT)
    def get_left(self, promotion) -> int | None:
        return promotion_coupons_left(promotion)


class ClaimableSerializer(CouponPromotionSerializer):
    """A promotion of the coupon centre, with how many of its coupons the caller holds."""

    claimed = serializers.SerializerMethodField(help_text=_("How many of these coupons you hold (0 signed out)."))
    can_claim = serializers.SerializerMethodField(help_text=_("Whether you may claim one more now."))

    class Meta(CouponPromotionSerializer.Meta):
        fields = [*CouponPromotionSerializer.Meta.fields, "claimed", "can_claim"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_claimed(self, promotion) -> int:
        return promotion_claimed_by(promotion)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_can_claim(self, promotion) -> bool:
        left = self.get_left(promotion)
        if left == 0:
            return False
        limit = promotion.per_buyer_limit
        return limit is None or promotion_claimed_by(promotion) < limit


class CouponSerializer(serializers.ModelSerializer):
    """One of the caller's coupons."""

    state = serializers.SerializerMethodField(help_text=_("available, used or expired (computed at the request)."))
    promotion = CouponPromotionSerializer(read_only=True)

    class Meta:
        model = Coupon
        fields = ["id", "code", "state", "claimed_at", "used_at", "order_number", "promotion"]

    @extend_schema_field(serializers.ChoiceField(choices=CouponState.choices))
    def get_state(self, coupon) -> str:
        return coupon_display_state(coupon, now=self.context.get("now") or timezone.now())


class ClaimCodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text=_("A public coupon code (any case)."))
