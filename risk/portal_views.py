"""Merchant portal page of merchant quality (issue #15), under /portal/quality/: the
merchant's credit score, the figures behind it, the formula with tonight's weights, its
recent history, and its quarterly evaluations with any requalification review.

Every member sees it (`portal_view(PortalSection.DASHBOARD)`); reads go through selectors
given the member's merchant, so no other merchant's rating can be reached.
"""

from __future__ import annotations

from django.shortcuts import render

from merchants.choices import PortalSection
from merchants.views import portal_context, portal_view

from . import selectors
from .defaults_quality import EVALUATION_PASS_SCORE, NO_REVIEW_AVERAGE, RATING_WINDOW_DAYS

MENU_QUALITY = "risk_quality"


@portal_view(PortalSection.DASHBOARD)
def quality(request, merchant, member):
    latest = selectors.credit_rating_latest(merchant)
    context = portal_context(
        member,
        MENU_QUALITY,
        rating=latest,
        # The formula is shown with the weights the rating used (the current ones before the first).
        weights=latest.weights if latest else _weights_dict(selectors.rating_weights_current()),
        history=selectors.credit_rating_history(merchant),
        evaluations=selectors.evaluations_for_merchant(merchant),
        open_review=selectors.requalification_open_for_merchant(merchant),
        window_days=RATING_WINDOW_DAYS,
        no_review_average=NO_REVIEW_AVERAGE,
        pass_score=EVALUATION_PASS_SCORE,
    )
    return render(request, "portal/risk/quality.html", context)


def _weights_dict(weights) -> dict:
    return {
        "on_time_weight": weights.on_time_weight,
        "return_weight": weights.return_weight,
        "complaint_weight": weights.complaint_weight,
        "review_weight": weights.review_weight,
        "return_rate_zero_at": weights.return_rate_zero_at,
        "complaint_rate_zero_at": weights.complaint_rate_zero_at,
        "min_orders": weights.min_orders,
    }
