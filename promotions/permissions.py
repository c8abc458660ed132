"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`). Operations hold them; the admin's screens take their
permission from here."""

from __future__ import annotations

from marketplace.staff_actions import declare

#: The RFM list's CSV export (every buyer's scores: the same permission as the list).
RFM_EXPORT = declare("promotions.rfm_export", "promotions.view_rfmscore")

#: A promotion's marketing figures (cost by funder, GMV touched, ROI) and their CSV, every
#: promotion's: the admin's marketing pages.
MARKETING_VIEW = declare("promotions.marketing_view", "promotions.view_promotion")
