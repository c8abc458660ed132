"""Models of the risk app (issue #15): merchant quality and risk alerts each live in their own
module."""

from .models_alerts import ALERT_TRANSITIONS, AlertRule, RiskAlert  # noqa: F401
from .models_quality import (  # noqa: F401
    RENEWAL_TRANSITIONS,
    REQUALIFICATION_TRANSITIONS,
    CreditRating,
    QuarterlyEvaluation,
    RatingWeights,
    RenewalCase,
    RequalificationReview,
)
