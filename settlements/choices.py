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
    PENALTIES = "penalties", _("Penalties")
    SERVICE_FEES = "service_fees", _("Service fees")
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
    # Every money movement in the ledger (README "The ledger"): the buyers' money while the
    # gateway holds it, what the platform keeps of a deposit, and payouts the bank has not
    # confirmed yet.
    GATEWAY_FUNDS = "gateway_funds", _("Funds at the payment gateway")
    DEPOSIT_DEDUCTIONS = "deposit_deductions", _("Deposit deductions (income)")
    PAYOUTS_IN_TRANSIT = "payouts_in_transit", _("Payouts sent to the bank")
    PENALTY_INCOME = "penalty_income", _("Penalty income")
    SERVICE_FEE_REVENUE = "service_fee_revenue", _("Service fee revenue")
    SUBSIDY_EXPENSE = "subsidy_expense", _("Subsidy expense")


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Sent to the bank")
    PAID = "paid", pgettext_lazy("payout", "Paid")
    FAILED = "failed", _("Failed")


class JournalEntryKind(models.TextChoices):
    """What moved money, by the prefix of the entry's natural key (`<kind>:<source id>`)."""

    STATEMENT = "statement", _("Statement approved")
    PAYMENT = "payment", _("Buyer payment captured")
    REFUND = "refund", _("Refund returned to the buyer")
    DEPOSIT = "deposit", _("Deposit movement")
    PAYOUT_SENT = "payout-sent", _("Payout sent to the bank")
    PAYOUT = "payout", _("Payout paid")
    PAYOUT_FAILED = "payout-failed", _("Payout failed")


# --- Penalties and service fees (issue #14) -------------------------------------------------


class PenaltyKind(models.TextChoices):
    LATE_SHIPMENT = "late_shipment", _("Late shipment")
    FAKE_SHIPMENT = "fake_shipment", _("Fake shipment")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    BREACH_OF_CONTRACT = "breach_of_contract", _("Breach of contract (liquidated damages)")


class PenaltyStatus(models.TextChoices):
    OPEN = "open", _("Open for appeal")
    APPEALED = "appealed", _("Appealed")
    CANCELLED = "cancelled", _("Cancelled (appeal upheld)")
    STANDS = "stands", _("Stands")
    DEDUCTED = "deducted", _("Deducted")


class PenaltySettlement(models.TextChoices):
    STATEMENT = "statement", _("Statement")
    DEPOSIT = "deposit", _("Deposit")


class FeeKind(models.TextChoices):
    TECHNICAL_SERVICE = "technical_service", _("Yearly technical service fee")
    FRANCHISE = "franchise", _("Yearly franchise fee")
    SUBSCRIPTION = "subscription", _("Subscription plan")
    KEYWORD_BIDDING = "keyword_bidding", _("Keyword bidding")
    HOMEPAGE_SLOT = "homepage_slot", _("Home-page slot rental")
    SHOP_DECORATION = "shop_decoration", _("Shop decoration")


#: The value-added services a merchant buys in the portal or staff record (domain.md lists
#: keyword bidding, home-page slots and shop decoration).
VALUE_ADDED_KINDS = (FeeKind.KEYWORD_BIDDING, FeeKind.HOMEPAGE_SLOT, FeeKind.SHOP_DECORATION)


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


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
        ProgrammeKind.TAX_REBATE,
    }
)


class GrantDocumentKind(models.TextChoices):
    SUPPORTING = "supporting", _("Invoice or document")
    # Brand incubation is for regionally certified brands (domain.md): the certificate.
    BRAND_CERTIFICATION = "brand_certification", _("Regional brand certification")


class GrantStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for review")
    APPROVED = "approved", pgettext_lazy("grant", "Approved")
    REFUSED = "refused", _("Refused")
    PAID = "paid", pgettext_lazy("grant", "Paid")


class PayoutHoldStatus(models.TextChoices):
    OPEN = "open", _("Holding payouts")
    RELEASED = "released", _("Released")
