"""Every write of the risk app. See each module's docstring for its guarantees."""

from .quality import (
    credit_rating_compute,
    credit_ratings_run,
    quarterly_evaluation_compute,
    quarterly_evaluations_run,
    rating_points,
    rating_weights_get,
    rating_weights_update,
    requalification_decide,
)
from .renewals import renewal_decide, renewal_evaluate, renewals_end_due, renewals_evaluate_due

__all__ = [
    "credit_rating_compute",
    "credit_ratings_run",
    "quarterly_evaluation_compute",
    "quarterly_evaluations_run",
    "rating_points",
    "rating_weights_get",
    "rating_weights_update",
    "renewal_decide",
    "renewal_evaluate",
    "renewals_end_due",
    "renewals_evaluate_due",
    "requalification_decide",
]
