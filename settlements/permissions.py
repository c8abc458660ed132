"""The settlements app's staff actions and the permissions each needs (see
`marketplace.staff_actions`). Finance holds them; the admin's screens and the settlements
API both take their permission from here."""

from __future__ import annotations

from marketplace.staff_actions import declare

RUN_VIEW = declare("settlements.run_view", "settlements.view_settlementrun")
#: Starting a run, and its dry run (the same computation, rolled back).
RUN_START = declare("settlements.run_start", "settlements.view_settlementrun", "settlements.add_settlementrun")

STATEMENT_VIEW = declare("settlements.statement_view", "settlements.view_statement")
#: One statement, or every draft of a run or period.
STATEMENT_APPROVE = declare(
    "settlements.statement_approve", "settlements.view_statement", "settlements.change_statement"
)
RECONCILE = declare("settlements.reconcile", "settlements.view_statement", "settlements.view_journalentry")
#: Finance's exports of a period (statements, reconciliation, ledger journal; issue #16).
PERIOD_EXPORT = declare("settlements.period_export", "settlements.view_statement", "settlements.view_journalentry")
INVOICE_ISSUE = declare("settlements.invoice_issue", "settlements.view_statement", "settlements.add_invoice")
INVOICE_DOWNLOAD = declare("settlements.invoice_download", "settlements.view_statement", "settlements.view_invoice")

ADJUSTMENT_CREATE = declare(
    "settlements.adjustment_create", "settlements.view_manualadjustment", "settlements.add_manualadjustment"
)

PAYOUT_BATCH_VIEW = declare("settlements.payout_batch_view", "settlements.view_payoutbatch")
PAYOUT_BATCH_CREATE = declare(
    "settlements.payout_batch_create", "settlements.view_payoutbatch", "settlements.add_payoutbatch"
)
#: The bank file holds full account numbers.
PAYOUT_BATCH_EXPORT = declare(
    "settlements.payout_batch_export", "settlements.view_payoutbatch", "merchants.view_bank_account"
)
PAYOUT_RESULTS_IMPORT = declare(
    "settlements.payout_results_import", "settlements.view_payoutbatch", "settlements.change_payout"
)
PAYOUT_MARK_PAID = declare("settlements.payout_mark_paid", "settlements.view_payout", "settlements.change_payout")
PAYOUT_MARK_FAILED = declare("settlements.payout_mark_failed", "settlements.view_payout", "settlements.change_payout")

# Penalties and service fees (issue #14). Operations raise penalties and decide appeals;
# finance, who writes the deposit ledger, deducts a standing one from the deposit.
PENALTY_VIEW = declare("settlements.penalty_view", "settlements.view_penalty")
PENALTY_RAISE = declare("settlements.penalty_raise", "settlements.view_penalty", "settlements.add_penalty")
PENALTY_DECIDE = declare("settlements.penalty_decide", "settlements.view_penalty", "settlements.change_penalty")
PENALTY_DEDUCT_DEPOSIT = declare(
    "settlements.penalty_deduct_deposit",
    "settlements.view_penalty",
    "merchants.add_depositentry",
)
FEE_CHARGE_VIEW = declare("settlements.fee_charge_view", "settlements.view_feecharge")
FEE_CHARGE_RECORD = declare("settlements.fee_charge_record", "settlements.view_feecharge", "settlements.add_feecharge")
# Incentive subsidies (issue #14): operations run the programmes and decide applications;
# finance reads them (they reach its statements).
GRANT_VIEW = declare("settlements.grant_view", "settlements.view_grantapplication")
#: Approving (which reserves the pool) or refusing an application.
GRANT_DECIDE = declare(
    "settlements.grant_decide", "settlements.view_grantapplication", "settlements.change_grantapplication"
)
#: The finance page of a period in the admin (settlements.admin.finance_dashboard): its runs,
#: statements by state, payouts and the movements the ledger is missing.
FINANCE_DASHBOARD_VIEW = declare(
    "settlements.finance_dashboard_view",
    "settlements.view_settlementrun",
    "settlements.view_statement",
    "settlements.view_payout",
    "settlements.view_journalentry",
)

# Payout holds (issue #15): finance release a hold once the new bank account is checked.
PAYOUT_HOLD_VIEW = declare("settlements.payout_hold_view", "settlements.view_payouthold")
PAYOUT_HOLD_RELEASE = declare(
    "settlements.payout_hold_release", "settlements.view_payouthold", "settlements.change_payouthold"
)
