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


class StatementSubsidySerializer(serializers.Serializer):
    """The figures behind the logistics-subsidy lines (issue #14)."""

    due = _money(help_text="What the rule gave the orders the statement settles.")
    cut = _money(help_text="What the merchant's yearly cap took off.")
    paid = _money(help_text="The logistics subsidy line: due − cut.")
    clawed_back = _money(help_text="Paid earlier, taken back here: the orders were fully refunded since.")
    orders = serializers.IntegerField(read_only=True, help_text="Orders with an accrual paid here.")


class StatementDetailSerializer(StatementSerializer):
    lines = serializers.SerializerMethodField()
    subsidy = serializers.SerializerMethodField()
    frozen_orders = StatementFrozenOrderSerializer(many=True, read_only=True)
    adjustments = StatementAdjustmentSerializer(many=True, read_only=True)

    class Meta:
        ref_name = "SettlementStatementDetail"

    @extend_schema_field(StatementLineSerializer(many=True))
    def get_lines(self, statement):
        return StatementLineSerializer(selectors.statement_lines(statement), many=True).data

    @extend_schema_field(StatementSubsidySerializer)
    def get_subsidy(self, statement):
        return StatementSubsidySerializer(selectors.statement_subsidy_summary(statement)).data


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


# --- The merchant's subsidies, penalties and service fees (issue #14) ----------------------

from ..choices import BillingCycle, FeeKind, GrantDocumentKind, GrantStatus, PenaltyKind, PenaltyStatus, ProgrammeKind  # noqa: E402

ProgrammeKindField = _enum(ProgrammeKind, "SubsidyProgrammeKind")
GrantStatusField = _enum(GrantStatus, "GrantStatus")
GrantDocumentKindField = _enum(GrantDocumentKind, "GrantDocumentKind")
PenaltyKindField = _enum(PenaltyKind, "PenaltyKind")
PenaltyStatusField = _enum(PenaltyStatus, "PenaltyStatus")
FeeKindField = _enum(FeeKind, "FeeKind")
BillingCycleField = _enum(BillingCycle, "BillingCycle")


class _StatementRef(serializers.Serializer):
    """The statement that paid or deducted a row, when the merchant may see it."""

    id = serializers.IntegerField(read_only=True)
    period = serializers.CharField(read_only=True)


def _visible_statement(statement):
    if statement is None or statement.status not in selectors.MERCHANT_VISIBLE:
        return None
    return _StatementRef(statement).data


class SubsidyAccrualSerializer(serializers.Serializer):
    programme = serializers.CharField(source="programme.name", read_only=True)
    merchant_order = serializers.IntegerField(source="merchant_order_id", read_only=True)
    number = serializers.CharField(source="merchant_order.number", read_only=True)
    carrier = serializers.CharField(source="merchant_order.shipped_carrier", read_only=True)
    completed_at = serializers.DateTimeField(read_only=True)
    due = _money(help_text="What the rule gives.")
    cut = _money(help_text="What the merchant's yearly cap took off.")
    amount = _money(help_text="Paid: due − cut.")
    period = serializers.CharField(source="statement.period", read_only=True, help_text="The statement that paid it.")
    clawed_back_period = serializers.SerializerMethodField(
        help_text="The statement that clawed it back (the order was fully refunded), if any."
    )

    def get_clawed_back_period(self, accrual) -> str | None:
        statement = accrual.clawed_back_in
        return statement.period if statement and statement.status in selectors.MERCHANT_VISIBLE else None


class GrantProgrammeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = ProgrammeKindField()
    valid_from = serializers.DateField(read_only=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)


class GrantDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = GrantDocumentKindField()
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Size in bytes.")
    original_name = serializers.CharField(read_only=True)
    uploaded_at = serializers.DateTimeField(read_only=True)


class GrantApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    programme = GrantProgrammeSerializer(read_only=True)
    project = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    invoiced_amount = _money(help_text="Invoices attached; for the tax rebate, the local contribution.")
    requested_amount = _money(allow_null=True)
    tax_year = serializers.IntegerField(read_only=True, allow_null=True)
    certification_region = serializers.CharField(read_only=True, help_text="Brand incubation: who certified the brand.")
    status = GrantStatusField()
    approved_amount = _money(allow_null=True)
    refusal_reason = serializers.CharField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    statement = serializers.SerializerMethodField(help_text="The statement that paid it, once visible.")

    @extend_schema_field(_StatementRef(allow_null=True))
    def get_statement(self, application):
        return _visible_statement(application.statement)


class GrantApplicationDetailSerializer(GrantApplicationSerializer):
    documents = GrantDocumentSerializer(many=True, read_only=True)


class GrantApplySerializer(serializers.Serializer):
    """The portal form's fields; the service checks the rules and the files' content."""

    programme = serializers.IntegerField(min_value=1, help_text="An open grant programme (id).")
    project = serializers.CharField(max_length=200, required=False, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    invoiced_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    requested_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    tax_year = serializers.IntegerField(required=False, allow_null=True, min_value=2000, max_value=9999)
    documents = serializers.ListField(
        # Empty files reach the service, which answers with its own code (file_empty).
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="Invoices and documents: PDF, PNG or JPEG, at most 10 MB each.",
    )
    certification = serializers.FileField(
        required=False,
        allow_empty_file=True,
        use_url=False,
        help_text="Brand incubation (required): the brand's regional certification, PDF, PNG or JPEG.",
    )
    certification_region = serializers.CharField(
        required=False, default="", max_length=100, help_text="Brand incubation (required): the certifying region."
    )


class PenaltyFileSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    side = serializers.CharField(read_only=True, help_text="evidence (the platform's) or appeal (yours).")
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Size in bytes.")
    original_name = serializers.CharField(read_only=True)
    uploaded_at = serializers.DateTimeField(read_only=True)


class PenaltySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = PenaltyKindField()
    status = PenaltyStatusField()
    amount = _money(help_text="Deducted in a statement or from the deposit once it stands.")
    reason = serializers.CharField(read_only=True)
    merchant_order = serializers.IntegerField(source="merchant_order_id", read_only=True, allow_null=True)
    raised_at = serializers.DateTimeField(read_only=True)
    appeal_until = serializers.DateTimeField(read_only=True)
    appealed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_reason = serializers.CharField(read_only=True)
    settled_via = serializers.CharField(read_only=True, help_text="statement or deposit, once deducted.")
    statement = serializers.SerializerMethodField(help_text="The statement that deducted it, once visible.")

    @extend_schema_field(_StatementRef(allow_null=True))
    def get_statement(self, penalty):
        return _visible_statement(penalty.statement)


class PenaltyDetailSerializer(PenaltySerializer):
    appeal_statement = serializers.CharField(read_only=True)
    files = PenaltyFileSerializer(many=True, read_only=True)


class PenaltyAppealSerializer(serializers.Serializer):
    statement = serializers.CharField(
        max_length=4000, required=False, default="", help_text="Why it should be cancelled."
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="PDF, PNG or JPEG, up to 10 files of 10 MB each.",
    )


class FeeChargeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = FeeKindField()
    key = serializers.CharField(read_only=True, help_text="The billed cycle or the purchase's reference.")
    description = serializers.CharField(read_only=True)
    billed_on = serializers.DateField(read_only=True)
    gross = _money(help_text="Before relief.")
    relief = _money()
    amount = _money(help_text="Deducted: gross − relief.")
    statement = serializers.SerializerMethodField(help_text="The statement that deducted it, once visible.")

    @extend_schema_field(_StatementRef(allow_null=True))
    def get_statement(self, charge):
        return _visible_statement(charge.statement)


class SubscriptionPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    monthly_price = _money()
    yearly_price = _money()
    benefits = serializers.SerializerMethodField()

    def get_benefits(self, plan) -> list[str]:
        return [line.strip() for line in plan.benefits.splitlines() if line.strip()]


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    plan = SubscriptionPlanSerializer(read_only=True)
    cycle = BillingCycleField()
    starts_on = serializers.DateField(read_only=True)
    ended_on = serializers.DateField(read_only=True, allow_null=True)


class SubscribeSerializer(serializers.Serializer):
    plan = serializers.IntegerField(min_value=1, help_text="An offered plan (id).")
    cycle = serializers.CharField(max_length=10, help_text="monthly or yearly.")


class ValueAddedServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = FeeKindField()
    name = serializers.CharField(read_only=True)
    price = _money()


class PurchaseSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=60,
        help_text="Your unique token for this purchase: sending it again bills once (the same charge is returned).",
    )
