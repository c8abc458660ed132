"""Finance's staff screens of settlements: runs (start, dry run, progress), statements
(review, approval, invoices, reconciliation), manual adjustments, payout batches and
payouts (bank file, paid/failed, bank results) and the read-only ledger.

Every page is read-only; every change is an action view that calls one service, so the
locks, the ledger postings, segregation of duties and the audit log apply to staff exactly
as to the API.
"""

from . import charges, holds, ledger, payouts, runs, statements, subsidies  # noqa: F401  (registers the admins)
