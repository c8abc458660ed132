"""Staff screens of promotions: platform promotions and the approval queue (`promotions`),
members and RFM (`members`), flash sales (`flash`)."""

from . import flash, members, promotions  # noqa: F401  (registers the admins)
