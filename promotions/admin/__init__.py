"""Staff screens of promotions: platform promotions and the approval queue (`promotions`),
members and RFM (`members`), flash sales (`flash`), group buys (`group_buys`), coupons
(`coupons`, read-only)."""

from . import coupons, flash, group_buys, members, promotions  # noqa: F401  (registers the admins)
