"""The merchants app's staff actions and the permissions each needs (see
`marketplace.staff_actions`). The admin's merchant page, the applications API and the
document download all take their permission from here."""

from __future__ import annotations

from marketplace.staff_actions import declare

VIEW = "merchants.view_merchant"
CHANGE = "merchants.change_merchant"

#: Reading applications and merchants (the admin's list and page, the applications API).
MERCHANT_VIEW = declare("merchants.merchant_view", VIEW)

# The review of an application and the merchant's life cycle (services.application_* and
# services.merchant_*).
APPLICATION_START_REVIEW = declare("merchants.application_start_review", VIEW, CHANGE)
APPLICATION_APPROVE = declare("merchants.application_approve", VIEW, CHANGE)
APPLICATION_REJECT = declare("merchants.application_reject", VIEW, CHANGE)
APPLICATION_REQUEST_CHANGES = declare("merchants.application_request_changes", VIEW, CHANGE)
MERCHANT_SUSPEND = declare("merchants.merchant_suspend", VIEW, CHANGE)
MERCHANT_REINSTATE = declare("merchants.merchant_reinstate", VIEW, CHANGE)
MERCHANT_TERMINATE = declare("merchants.merchant_terminate", VIEW, CHANGE)
MERCHANT_CHANGE_TIER = declare("merchants.merchant_change_tier", VIEW, CHANGE)

# The deposit ledger (services.deposit_*).
DEPOSIT_RECORD_PAYMENT = declare("merchants.deposit_record_payment", VIEW, "merchants.add_depositentry")
DEPOSIT_DEDUCT = declare("merchants.deposit_deduct", VIEW, "merchants.add_depositentry")
DEPOSIT_REFUND = declare("merchants.deposit_refund", VIEW, "merchants.add_depositentry")

#: The categories a merchant may sell in (catalog.services.category_grants_set).
CATEGORY_GRANTS_SET = declare(
    "merchants.category_grants_set", VIEW, "catalog.add_categorygrant", "catalog.delete_categorygrant"
)

#: Reading a merchant's qualification documents (identity card scans, licences).
DOCUMENT_VIEW = declare("merchants.document_view", "merchants.view_merchantdocument")

# The merchant's own changes after approval (services.changes, services.amendments).
#: Finance verifies a new bank account; the full number also needs `merchants.view_bank_account`.
BANK_CHANGE_VIEW = declare("merchants.bank_change_view", "merchants.view_bankaccountchange")
BANK_CHANGE_APPROVE = declare(
    "merchants.bank_change_approve", "merchants.view_bankaccountchange", "merchants.change_bankaccountchange"
)
BANK_CHANGE_REFUSE = declare(
    "merchants.bank_change_refuse", "merchants.view_bankaccountchange", "merchants.change_bankaccountchange"
)
#: Reviewers accept or refuse a renewed document.
DOCUMENT_RENEWAL_ACCEPT = declare(
    "merchants.document_renewal_accept", "merchants.view_merchantdocument", "merchants.change_merchantdocument"
)
DOCUMENT_RENEWAL_REFUSE = declare(
    "merchants.document_renewal_refuse", "merchants.view_merchantdocument", "merchants.change_merchantdocument"
)
#: Operations propose contract amendments; the merchant decides in the portal.
AMENDMENT_VIEW = declare("merchants.amendment_view", "merchants.view_contractamendment")
AMENDMENT_PROPOSE = declare("merchants.amendment_propose", VIEW, "merchants.add_contractamendment")
