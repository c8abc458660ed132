"""Settlements' enumerations: run, batch, statement and payout states, statement line kinds
and ledger account kinds. Other apps import these without importing settlements' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("To settle")
    DONE = "done", _("Settled")
    FAILED = "failed", _("Failed")


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("To review")
    APPROVED = "approved", pgettext_lazy("statement", "Approved")
    PAID = "paid", pgettext_lazy("statement", "Paid")


class LineKind(models.TextChoices):
    GOODS = "goods", _("Goods paid by buyers")
    PLATFORM_DISCOUNTS = "platform_discounts", _("Platform discounts reimbursed")
    SHIPPING = "shipping", _("Shipping fees")
    COMMISSION = "commission", _("Commission")
    REFUNDS = "refunds", _("Refunds")
    SHIPPING_REFUNDS = "shipping_refunds", _("Shipping refunds")
    DISCOUNTS_TAKEN_BACK = "discounts_taken_back", _("Platform discounts taken back")
    COMMISSION_RETURNED = "commission_returned", _("Commission returned")
    LADDER_REBATE = "ladder_rebate", _("Ladder rebate")
    LOGISTICS_SUBSIDY = "logistics_subsidy", _("Logistics subsidy")
    LOGISTICS_SUBSIDY_CLAWBACK = "logistics_subsidy_clawback", _("Logistics subsidy clawed back")
    GRANT_SUBSIDY = "grant_subsidy", _("Subsidy grants")
    ADJUSTMENTS = "adjustments", _("Manual adjustments")
    CARRY_FORWARD = "carry_forward", _("Carried forward from the previous statement")


#: The order lines appear on a statement (the subsidies issue adds its kinds here).
LINE_ORDER = list(LineKind.values)


class AccountKind(models.TextChoices):
    MERCHANT_PAYABLE = "merchant_payable", _("Merchant payable")
    COMMISSION_REVENUE = "commission_revenue", _("Commission revenue")
    PROMOTION_EXPENSE = "promotion_expense", _("Promotion expense")
    REBATE_EXPENSE = "rebate_expense", _("Ladder rebate expense")
    ADJUSTMENT_EXPENSE = "adjustment_expense", _("Manual adjustments")
    GATEWAY_CLEARING = "gateway_clearing", _("Gateway clearing")
    BANK = "bank", _("Bank")
    DEPOSITS_HELD = "deposits_held", _("Deposits held")
    SUBSIDY_EXPENSE = "subsidy_expense", _("Subsidy expense")


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Sent to the bank")
    PAID = "paid", pgettext_lazy("payout", "Paid")
    FAILED = "failed", _("Failed")


# --- Incentive subsidies (domain.md "Incentive subsidies") -------------------------------


class ProgrammeKind(models.TextChoices):
    LOGISTICS = "logistics", _("Logistics subsidy")
    BRAND_INCUBATION = "brand_incubation", _("Brand incubation fund")
    FIT_OUT = "fit_out", _("Fit-out subsidy")
    EQUIPMENT = "equipment", _("Equipment subsidy")
    TRAINING = "training", _("Training reimbursement")
    TAX_REBATE = "tax_rebate", _("Tax rebate")


#: Programmes paid per shipped order (accrued by the settlement run), not applied for.
ACCRUAL_KINDS = frozenset({ProgrammeKind.LOGISTICS})
#: Programmes a merchant applies for with documents; staff approve an amount.
GRANT_KINDS = frozenset(
    {
        ProgrammeKind.BRAND_INCUBATION,
        ProgrammeKind.FIT_OUT,
        ProgrammeKind.EQUIPMENT,
        ProgrammeKind.TRAINING,
    }
)


class GrantStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for review")
    APPROVED = "approved", pgettext_lazy("grant", "Approved")
    REFUSED = "refused", _("Refused")
    PAID = "paid", pgettext_lazy("grant", "Paid")
