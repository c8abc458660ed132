"""The orders app's staff actions and the permissions each needs (see
`marketplace.staff_actions`)."""

from __future__ import annotations

from marketplace.staff_actions import declare

#: Operations decide an open dispute (services.dispute_resolve).
DISPUTE_RESOLVE = declare("orders.dispute_resolve", "orders.view_dispute", "orders.change_dispute")

#: Finance sends a failed refund to the gateway again (services.refund_retry).
REFUND_RETRY = declare("orders.refund_retry", "orders.view_refund", "orders.change_refund")

#: Operations, who decide disputes, look at the photos a buyer attached to an after-sales
#: request (evidence: damaged goods, sometimes a face or an address label). Any staff user
#: used to see them; the declaration keeps them to staff who may read the request itself.
AFTER_SALES_PHOTO_VIEW = declare("orders.after_sales_photo_view", "orders.view_aftersalesrequest")

#: Operations hide a malicious review, or show it again, with a reason (services.review_hide,
#: review_show): the arbitration of malicious bad reviews.
REVIEW_MODERATE = declare("orders.review_moderate", "orders.view_review", "orders.change_review")

#: Operations handle complaints: assign, respond, resolve (services.complaint_assign,
#: complaint_respond).
COMPLAINT_HANDLE = declare("orders.complaint_handle", "orders.view_complaint", "orders.change_complaint")
#: The operations dashboard in the admin (orders.operations_dashboard): GMV and orders per day,
#: merchants by tier and status, the launch targets and TOP50 brand coverage. Operations hold
#: these through marketplace.roles (the TOP50 list is theirs to keep: catalog.view_topbrand).
OPERATIONS_DASHBOARD_VIEW = declare(
    "orders.operations_dashboard_view", "orders.view_merchantorder", "merchants.view_merchant", "catalog.view_topbrand"
)
