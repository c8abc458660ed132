"""Serializers of the promotions API: what buyers see of a live promotion, and the merchant's
own promotions (output and input). Input is checked for shape here; the rules are the
services'."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from catalog.forms import merchant_category_choices

from ..choices import BenefitType, PromotionChannel, PromotionStatus, ScopeKind
from ..selectors import promotion_label


def _values(choices) -> str:
    # Plain strings rather than enums in the schema: several apps name a field `status` or
    # `scope`, and their enums would collide by name.
    return "One of: " + ", ".join(f"`{value}`" for value in choices.values) + "."


class StepSerializer(serializers.Serializer):
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))


class PromotionShopSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    slug = serializers.CharField(allow_null=True)


class PromotionSerializer(serializers.Serializer):
    """A live promotion as buyers see it."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    level = serializers.CharField()
    shop = PromotionShopSerializer(source="merchant", allow_null=True)
    label = serializers.SerializerMethodField(help_text="What it gives, in a few words (满200减20, 8.5折…).")
    benefit_type = serializers.CharField(help_text=_values(BenefitType))
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    steps = StepSerializer(many=True)
    min_spend = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    min_quantity = serializers.IntegerField(allow_null=True)
    scope = serializers.CharField(help_text=_values(ScopeKind))
    product_ids = serializers.SerializerMethodField()
    category_ids = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    priority = serializers.IntegerField()

    def get_label(self, promotion) -> str:
        return promotion_label(promotion)

    def get_product_ids(self, promotion) -> list[int]:
        return [p.pk for p in promotion.products.all()]

    def get_category_ids(self, promotion) -> list[int]:
        return [c.pk for c in promotion.categories.all()]


class MerchantPromotionSerializer(PromotionSerializer):
    """One of the caller's promotions, with its state, funding, budget and counters."""

    shop = None
    status = serializers.CharField(help_text=_values(PromotionStatus))
    status_reason = serializers.CharField(help_text="Why operations refused the platform share, when they did.")
    channel = serializers.CharField(help_text=_values(PromotionChannel))
    gift_sku_id = serializers.IntegerField(allow_null=True)
    platform_share = serializers.DecimalField(max_digits=5, decimal_places=4)
    approved_at = serializers.DateTimeField(allow_null=True)
    budget_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    budget_spent = serializers.DecimalField(max_digits=14, decimal_places=2)
    max_uses = serializers.IntegerField(allow_null=True)
    uses_count = serializers.IntegerField()
    per_buyer_limit = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MerchantPromotionInputSerializer(serializers.Serializer):
    """A shop promotion's settings (create: all required ones; change: any of them)."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=PromotionChannel.choices, default=PromotionChannel.AUTOMATIC)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, default=0)
    min_spend = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    min_quantity = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    scope = serializers.ChoiceField(choices=[c for c in ScopeKind.choices if c[0] != ScopeKind.PLATFORM])
    product_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    category_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    benefit_type = serializers.ChoiceField(choices=BenefitType.choices)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    steps = StepSerializer(many=True, required=False, default=list)
    gift_sku_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    platform_share = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        default=Decimal("0"),
        help_text="0: the shop pays; above 0: operations must approve the platform's share first.",
    )
    budget_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    max_uses = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    per_buyer_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    def validate_category_ids(self, value):
        # Only the categories of the shop's contract (and those below them), as the portal offers.
        allowed = {pk for pk, _label in merchant_category_choices(self.context["merchant"])}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise serializers.ValidationError(f"Not categories of your contract: {unknown}.")
        return value

    def service_data(self) -> dict:
        data = dict(self.validated_data)
        data["steps"] = [(step["threshold"], step["amount"]) for step in data.get("steps") or []]
        return data
