"""Input and output shapes of the group buy API."""

from __future__ import annotations

from rest_framework import serializers

from marketplace.money import quantize

from ..selectors import group_ladder, mask_name


def _money():
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)


class GroupBuyStepSerializer(serializers.Serializer):
    participants = serializers.IntegerField(min_value=2)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2)


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    sku = serializers.IntegerField(source="sku_id", read_only=True)
    product_title = serializers.CharField(source="sku.product.title", read_only=True)
    unit_price = _money()
    first_step_price = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)
    window_hours = serializers.IntegerField(read_only=True)
    max_quantity = serializers.IntegerField(read_only=True)
    steps = GroupBuyStepSerializer(many=True, read_only=True)

    def to_representation(self, instance):
        instance.unit_price = instance.sku.price
        return super().to_representation(instance)

    def get_first_step_price(self, obj) -> str:
        steps = list(obj.steps.all())
        if not steps:
            return str(obj.sku.price)
        return str(obj.sku.price - quantize(obj.sku.price * steps[0].percent / 100))


class MerchantCampaignSerializer(CampaignSerializer):
    platform_share = serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True)
    group_count = serializers.IntegerField(read_only=True)
    succeeded_count = serializers.IntegerField(read_only=True)
    paid_participants = serializers.IntegerField(read_only=True)


class CampaignCreateSerializer(serializers.Serializer):
    sku = serializers.IntegerField()
    name = serializers.CharField(max_length=120)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    steps = GroupBuyStepSerializer(many=True)
    max_quantity = serializers.IntegerField(default=1)
    window_hours = serializers.IntegerField(default=24)


class MemberSerializer(serializers.Serializer):
    """A participant as others see it: a masked name, when it joined, whether it paid."""

    name = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField(read_only=True)
    paid = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return mask_name(obj.buyer)

    def get_paid(self, obj) -> bool:
        return obj.paid_at is not None


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    campaign = serializers.IntegerField(source="campaign_id", read_only=True)
    status = serializers.CharField(read_only=True)
    opened_at = serializers.DateTimeField(read_only=True)
    closes_at = serializers.DateTimeField(read_only=True)
    paid_count = serializers.IntegerField(read_only=True)
    final_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True, allow_null=True)
    current_percent = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()
    needed = serializers.SerializerMethodField()
    members = MemberSerializer(many=True, read_only=True)

    def _ladder(self, obj) -> dict:
        if not hasattr(obj, "_ladder"):
            obj._ladder = group_ladder(obj)
        return obj._ladder

    def get_current_percent(self, obj) -> str | None:
        current = self._ladder(obj)["current"]
        return str(current.percent) if current else None

    def get_next_step(self, obj) -> dict | None:
        step = self._ladder(obj)["next"]
        return {"participants": step.participants, "percent": str(step.percent)} if step else None

    def get_needed(self, obj) -> int:
        return self._ladder(obj)["needed"]


class JoinSerializer(serializers.Serializer):
    address = serializers.IntegerField()
    quantity = serializers.IntegerField(default=1, min_value=1)
    group = serializers.IntegerField(required=False, allow_null=True, default=None)


class JoinAnswerSerializer(serializers.Serializer):
    participant = serializers.IntegerField()
    group = serializers.IntegerField()
    order_number = serializers.CharField()
    payable_total = serializers.DecimalField(max_digits=14, decimal_places=2)
