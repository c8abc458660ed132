"""The promotions app's staff actions and the permissions each needs (see
`marketplace.staff_actions`)."""

from __future__ import annotations

from marketplace.staff_actions import declare

# --- Flash sales ---------------------------------------------------------------------------------

#: Creating a flash sale for any merchant's SKU, funded by the merchant, the platform or both.
FLASH_SALE_CREATE = declare("promotions.flash_sale_create", "promotions.view_flashsale", "promotions.add_flashsale")
#: Pausing and resuming a flash sale (services.flash.flash_sale_set_paused).
FLASH_SALE_PAUSE = declare("promotions.flash_sale_pause", "promotions.view_flashsale", "promotions.change_flashsale")
