"""Every write of the settlements app. See each module's docstring for its guarantees."""

from .computation import compute_statements, ladder_rebate
from .dryruns import dry_run_compute, dry_run_start
from .fees import (
    fee_charge_record,
    fees_bill_due,
    price_row_save,
    subscription_end,
    subscription_start,
    value_added_purchase,
)
from .holds import payout_hold_place, payout_hold_release
from .ledger import account_for, journal_post, statement_postings
from .ledger_sources import LedgerPostResult, ledger_post_pending
from .payouts import (
    RESULT_MAX_BYTES,
    invoice_issue,
    payout_batch_create,
    payout_batch_csv,
    payout_mark_failed,
    payout_mark_paid,
    payout_results_import,
)
from .penalties import (
    late_shipment_penalties_raise,
    penalties_lapse,
    penalty_appeal,
    penalty_decide,
    penalty_deduct_from_deposit,
    penalty_raise,
)
from .runs import (
    SettlementConflict,
    SettlementError,
    parse_period,
    record_batch_failure,
    run_preview,
    run_start,
    settle_batch,
)
from .statements import (
    ApproveAllResult,
    adjustment_create,
    statement_approve,
    statement_approve_all,
)

__all__ = [
    "RESULT_MAX_BYTES",
    "ApproveAllResult",
    "LedgerPostResult",
    "SettlementConflict",
    "SettlementError",
    "account_for",
    "adjustment_create",
    "compute_statements",
    "dry_run_compute",
    "dry_run_start",
    "fee_charge_record",
    "fees_bill_due",
    "invoice_issue",
    "journal_post",
    "ladder_rebate",
    "late_shipment_penalties_raise",
    "ledger_post_pending",
    "parse_period",
    "payout_batch_create",
    "payout_batch_csv",
    "payout_hold_place",
    "payout_hold_release",
    "payout_mark_failed",
    "payout_mark_paid",
    "payout_results_import",
    "penalties_lapse",
    "penalty_appeal",
    "penalty_decide",
    "penalty_deduct_from_deposit",
    "penalty_raise",
    "price_row_save",
    "record_batch_failure",
    "run_preview",
    "run_start",
    "settle_batch",
    "statement_approve",
    "statement_approve_all",
    "statement_postings",
    "subscription_end",
    "subscription_start",
    "value_added_purchase",
]
