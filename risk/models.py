"""Models of the risk app. Risk alerts (issue #15) live in their own module."""

from .models_alerts import ALERT_TRANSITIONS, AlertRule, RiskAlert  # noqa: F401
