"""Staff actions of merchant quality (see `marketplace.staff_actions`): reviewers decide
requalification reviews, operations decide renewals. The admin's screens take their
permission from here. Reading the ratings and evaluations and editing the weights row are the
models' own view/change permissions (read-only pages; the weights save through their service)."""

from __future__ import annotations

from marketplace.staff_actions import declare

REQUALIFICATION_VIEW = declare("risk.requalification_view", "risk.view_requalificationreview")
REQUALIFICATION_DECIDE = declare(
    "risk.requalification_decide", "risk.view_requalificationreview", "risk.change_requalificationreview"
)
RENEWAL_VIEW = declare("risk.renewal_view", "risk.view_renewalcase")
#: Renewing extends the contract; not renewing ends it.
RENEWAL_DECIDE = declare("risk.renewal_decide", "risk.view_renewalcase", "risk.change_renewalcase")
#: Judge the contracts ending soon now (what the yearly job does).
RENEWAL_EVALUATE = declare("risk.renewals_evaluate_due", "risk.view_renewalcase", "risk.add_renewalcase")
