"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`): operations create and run platform promotions and decide on
the platform share shops ask for."""

from __future__ import annotations

from marketplace.staff_actions import declare

_RUN = ("promotions.view_promotion", "promotions.change_promotion")

# Creating and editing platform promotions are the admin's add and change pages, which follow
# the model's add and change permissions (through the services: `ServiceEditAdmin`).
PROMOTION_ACTIVATE = declare("promotions.promotion_activate", *_RUN)
PROMOTION_APPROVE = declare("promotions.promotion_approve", *_RUN)
PROMOTION_REJECT = declare("promotions.promotion_reject", *_RUN)
PROMOTION_PAUSE = declare("promotions.promotion_pause", *_RUN)
PROMOTION_RESUME = declare("promotions.promotion_resume", *_RUN)
PROMOTION_END = declare("promotions.promotion_end", *_RUN)
