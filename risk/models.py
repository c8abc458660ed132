"""Models of the risk app. Merchant quality (issue #15) lives in its own module."""

from .models_quality import (  # noqa: F401
    RENEWAL_TRANSITIONS,
    REQUALIFICATION_TRANSITIONS,
    CreditRating,
    QuarterlyEvaluation,
    RatingWeights,
    RenewalCase,
    RequalificationReview,
)
