"""Staff actions of merchant quality (see `marketplace.staff_actions`): operations edit the
rating weights and decide renewals; reviewers work requalification reviews. The admin's
screens take their permission from here."""

from __future__ import annotations

from marketplace.staff_actions import declare

RATING_VIEW = declare("risk.rating_view", "risk.view_creditrating")
WEIGHTS_EDIT = declare("risk.rating_weights_update", "risk.view_ratingweights", "risk.change_ratingweights")
EVALUATION_VIEW = declare("risk.evaluation_view", "risk.view_quarterlyevaluation")
REQUALIFICATION_VIEW = declare("risk.requalification_view", "risk.view_requalificationreview")
REQUALIFICATION_DECIDE = declare(
    "risk.requalification_decide", "risk.view_requalificationreview", "risk.change_requalificationreview"
)
RENEWAL_VIEW = declare("risk.renewal_view", "risk.view_renewalcase")
#: Renewing extends the contract; not renewing ends it.
RENEWAL_DECIDE = declare("risk.renewal_decide", "risk.view_renewalcase", "risk.change_renewalcase")
#: Judge the contracts ending soon now (what the yearly job does).
RENEWAL_EVALUATE = declare("risk.renewals_evaluate_due", "risk.view_renewalcase", "risk.add_renewalcase")
