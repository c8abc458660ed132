"""Staff screens of promotions: members and RFM (`members`); later issues add theirs."""

from . import members  # noqa: F401  (registers the admins)
