"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`): operating group buys."""

from __future__ import annotations

from marketplace.staff_actions import declare

_CAMPAIGN = ("promotions.view_groupbuycampaign", "promotions.change_groupbuycampaign")

GROUP_BUY_PAUSE = declare("promotions.group_buy_pause", *_CAMPAIGN)
GROUP_BUY_RESUME = declare("promotions.group_buy_resume", *_CAMPAIGN)
GROUP_BUY_END = declare("promotions.group_buy_end", *_CAMPAIGN)
GROUP_BUY_SET_SHARE = declare("promotions.group_buy_set_platform_share", *_CAMPAIGN)
