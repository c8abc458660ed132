"""Signals the merchants app sends for the layers above it, which it must not import.

`credit_grade_changed` (sender: `Merchant`; `merchant_id`, `previous`, `grade`) is sent by
`services.merchant_set_credit_grade` inside its transaction, after the row is written.
Receivers must only schedule work for after the commit (`transaction.on_commit`): the
storefront's cached pages that rank or exclude shops by grade (promotions) listen to it.
It carries no business flow: the grade itself is written and audited by the service.
"""

from __future__ import annotations

from django.dispatch import Signal

credit_grade_changed = Signal()
#: Sent (sender: `Merchant`; `merchant_id`, `changed_at`) on commit once a merchant's bank account changed.
bank_account_changed = Signal()
