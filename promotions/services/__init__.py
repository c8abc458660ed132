"""Every write of the promotions app. See each module's docstring for its guarantees."""

from .promotions import (
    PROMOTION_FIELDS,
    promotion_activate,
    promotion_approve,
    promotion_create,
    promotion_end,
    promotion_pause,
    promotion_publish,
    promotion_reject,
    promotion_resume,
    promotion_submit,
    promotion_update,
)
from .usage import Use, promotion_usage_consume, promotion_usage_release

__all__ = [
    "PROMOTION_FIELDS",
    "Use",
    "promotion_activate",
    "promotion_approve",
    "promotion_create",
    "promotion_end",
    "promotion_pause",
    "promotion_publish",
    "promotion_reject",
    "promotion_resume",
    "promotion_submit",
    "promotion_update",
    "promotion_usage_consume",
    "promotion_usage_release",
]
