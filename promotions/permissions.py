"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`). Operations hold them; the admin's screens take their
permission from here."""

from __future__ import annotations

from marketplace.staff_actions import declare

#: The RFM list's CSV export (every buyer's scores: the same permission as the list).
RFM_EXPORT = declare("promotions.rfm_export", "promotions.view_rfmscore")
_RUN = ("promotions.view_promotion", "promotions.change_promotion")

# Creating and editing platform promotions are the admin's add and change pages, which follow
# the model's add and change permissions (through the services: `ServiceEditAdmin`).
PROMOTION_ACTIVATE = declare("promotions.promotion_activate", *_RUN)
PROMOTION_APPROVE = declare("promotions.promotion_approve", *_RUN)
PROMOTION_REJECT = declare("promotions.promotion_reject", *_RUN)
PROMOTION_PAUSE = declare("promotions.promotion_pause", *_RUN)
PROMOTION_RESUME = declare("promotions.promotion_resume", *_RUN)
PROMOTION_END = declare("promotions.promotion_end", *_RUN)
# --- Flash sales ---------------------------------------------------------------------------------

#: Pausing and resuming a flash sale (services.flash.flash_sale_set_paused).
FLASH_SALE_PAUSE = declare("promotions.flash_sale_pause", "promotions.view_flashsale", "promotions.change_flashsale")
_CAMPAIGN = ("promotions.view_groupbuycampaign", "promotions.change_groupbuycampaign")

GROUP_BUY_PAUSE = declare("promotions.group_buy_pause", *_CAMPAIGN)
GROUP_BUY_RESUME = declare("promotions.group_buy_resume", *_CAMPAIGN)
GROUP_BUY_END = declare("promotions.group_buy_end", *_CAMPAIGN)
GROUP_BUY_SET_SHARE = declare("promotions.group_buy_set_platform_share", *_CAMPAIGN)

#: A promotion's marketing figures (cost by funder, GMV touched, ROI) and their CSV, every
#: promotion's: the admin's marketing pages.
MARKETING_VIEW = declare("promotions.marketing_view", "promotions.view_promotion")
