"""Signals the merchants app sends for the layers above it, which it must not import.

`credit_grade_changed` (sender: `Merchant`; `merchant_id`, `previous`, `grade`) is sent by
`services.merchant_set_credit_grade` inside its transaction, after the row is written.
Receivers must only schedule work for after the commit (`transaction.on_commit`): the
storefront's cached pages that rank or exclude shops by grade (promotions) listen to it.
It carries no business flow: the grade itself is written and audited by the service.

`bank_account_changed` (sender: `Merchant`; `merchant_id`, `changed_at`) is sent by
`services.bank_change_approve` after its transaction commits, once finance has verified a new
payout account; risk places a payout hold when a payout is near (risk.receivers).
"""

from __future__ import annotations

from django.dispatch import Signal

credit_grade_changed = Signal()
bank_account_changed = Signal()
