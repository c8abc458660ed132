"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`). Creating a flash sale in the admin is its add page
(`promotions.add_flashsale`, through `flash_sale_create`, as `ServiceEditAdmin` does)."""

from __future__ import annotations

from marketplace.staff_actions import declare

# --- Flash sales ---------------------------------------------------------------------------------

#: Pausing and resuming a flash sale (services.flash.flash_sale_set_paused).
FLASH_SALE_PAUSE = declare("promotions.flash_sale_pause", "promotions.view_flashsale", "promotions.change_flashsale")
