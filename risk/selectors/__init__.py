"""Reads of the risk app. Merchant quality's reads live in `quality` (every public name is
re-exported here); the risk alerts' in `alerts`: see each module's docstring."""

from .quality import (
    credit_rating_history,
    credit_rating_latest,
    evaluations_for_merchant,
    rating_weights_current,
    renewal_queue,
    requalification_open_for_merchant,
)

__all__ = [
    "credit_rating_history",
    "credit_rating_latest",
    "evaluations_for_merchant",
    "rating_weights_current",
    "renewal_queue",
    "requalification_open_for_merchant",
]
