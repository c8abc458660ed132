"""Input and output shapes of the settlements API. Rules live in settlements.services.

Inputs check shape only; the views hand them to one service each. Outputs are read-only:
money as decimal strings with two places, statuses as named enums.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..choices import LineKind, PayoutStatus, RunStatus, StatementStatus


def _money(**kwargs):
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


def _enum(choices, name: str):
    """A read-only choice field whose enum is one named schema component (no name clashes)."""

    @extend_schema_field({"type": "string", "enum": choices.values}, component_name=name)
    class EnumField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices.choices, read_only=True, **kwargs)

    return EnumField


RunStatusField = _enum(RunStatus, "SettlementRunStatus")
StatementStatusField = _enum(StatementStatus, "SettlementStatementStatus")
LineKindField = _enum(LineKind, "SettlementLineKind")
PayoutStatusField = _enum(PayoutStatus, "PayoutStatus")


# --- Input --------------------------------------------------------------------------------


class RunStartSerializer(serializers.Serializer):
    period = serializers.CharField(max_length=7, help_text="The month to settle, e.g. 2026-10; it must have ended.")


class PayoutBatchCreateSerializer(serializers.Serializer):
    statements = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=10000,
        help_text="Only these statements (ids); by default every approved positive statement not yet paid.",
    )


# --- Output -------------------------------------------------------------------------------


class RunFailureSerializer(serializers.Serializer):
    merchants = serializers.ListField(
        child=serializers.IntegerField(), help_text="First and last merchant id of the failed batch."
    )
    error = serializers.CharField()


class SettlementRunSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    period = serializers.CharField(read_only=True)
    status = RunStatusField()
    started_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    merchants_total = serializers.IntegerField(read_only=True)
    merchants_done = serializers.IntegerField(read_only=True)
    batches_total = serializers.IntegerField(read_only=True)
    batches_done = serializers.IntegerField(read_only=True)
    statements_created = serializers.IntegerField(read_only=True)
    progress = serializers.SerializerMethodField(help_text="Batches done, in percent (100 when there is none).")
    failures = RunFailureSerializer(many=True, read_only=True)

    def get_progress(self, run) -> int:
        if not run.batches_total:
            return 100
        return min(100, int(100 * run.batches_done / run.batches_total))


class StatementLineSerializer(serializers.Serializer):
    kind = LineKindField()
    label = serializers.CharField(source="get_kind_display", read_only=True)
    amount = _money(help_text="Signed: + owed to the merchant, − owed to the platform.")
    count = serializers.IntegerField(read_only=True, help_text="Source records summed.")


class StatementFrozenOrderSerializer(serializers.Serializer):
    merchant_order = serializers.IntegerField(source="merchant_order_id", read_only=True)
    number = serializers.CharField(source="merchant_order.number", read_only=True)
    amount = _money(help_text="Held, not paid, while the dispute is open.")
    reason = serializers.CharField(read_only=True)


class StatementAdjustmentSerializer(serializers.Serializer):
    period = serializers.CharField(read_only=True)
    amount = _money()
    reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class StatementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    merchant = serializers.IntegerField(source="merchant_id", read_only=True)
    merchant_name = serializers.CharField(source="merchant", read_only=True)
    period = serializers.CharField(read_only=True)
    status = StatementStatusField()
    payable = _money(help_text="Negative: carried forward to the next statement.")
    run = serializers.IntegerField(source="run_id", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    approved_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        ref_name = "SettlementStatement"


class StatementDetailSerializer(StatementSerializer):
    lines = serializers.SerializerMethodField()
    frozen_orders = StatementFrozenOrderSerializer(many=True, read_only=True)
    adjustments = StatementAdjustmentSerializer(many=True, read_only=True)

    class Meta:
        ref_name = "SettlementStatementDetail"

    @extend_schema_field(StatementLineSerializer(many=True))
    def get_lines(self, statement):
        return StatementLineSerializer(selectors.statement_lines(statement), many=True).data


class PayoutSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    statement = serializers.IntegerField(source="statement_id", read_only=True)
    merchant = serializers.IntegerField(source="statement.merchant_id", read_only=True)
    period = serializers.CharField(source="statement.period", read_only=True)
    amount = _money()
    status = PayoutStatusField()
    bank_reference = serializers.CharField(read_only=True)
    failure_reason = serializers.CharField(read_only=True)
    marked_at = serializers.DateTimeField(read_only=True, allow_null=True)


class PayoutBatchSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    exported_at = serializers.DateTimeField(read_only=True, allow_null=True)
    payout_count = serializers.IntegerField(read_only=True)
    pending_count = serializers.IntegerField(read_only=True, help_text="Payouts still at the bank.")
    total = _money()


class PayoutBatchDetailSerializer(PayoutBatchSerializer):
    payouts = serializers.SerializerMethodField()

    @extend_schema_field(PayoutSerializer(many=True))
    def get_payouts(self, batch):
        return PayoutSerializer(selectors.batch_payouts(batch), many=True).data
