"""Staff screens of promotions: platform promotions and the approval queue (`promotions`),
members and RFM (`members`)."""

from . import members, promotions  # noqa: F401  (registers the admins)
