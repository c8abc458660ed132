"""Every write of the settlements app. See each module's docstring for its guarantees."""

from .ledger import account_for, journal_post, statement_ledger_total, statement_postings
from .runs import (
    SettlementConflict,
    SettlementError,
    compute_statements,
    ladder_rebate,
    parse_period,
    record_batch_failure,
    run_preview,
    run_start,
    settle_batch,
)
from .statements import adjustment_create, statement_approve, statement_matches_ledger

__all__ = [
    "SettlementConflict",
    "SettlementError",
    "account_for",
    "adjustment_create",
    "compute_statements",
    "journal_post",
    "ladder_rebate",
    "parse_period",
    "record_batch_failure",
    "run_preview",
    "run_start",
    "settle_batch",
    "statement_approve",
    "statement_ledger_total",
    "statement_matches_ledger",
    "statement_postings",
]
