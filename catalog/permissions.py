"""The catalog app's staff actions and the permissions each needs (see
`marketplace.staff_actions`): listing moderation, revisions and commission rates."""

from __future__ import annotations

from marketplace.staff_actions import declare

#: Looking at a product's pictures before the listing is public.
PRODUCT_VIEW = declare("catalog.product_view", "catalog.view_product")
PRODUCT_APPROVE = declare("catalog.product_approve", "catalog.view_product", "catalog.change_product")
PRODUCT_REJECT = declare("catalog.product_reject", "catalog.view_product", "catalog.change_product")
PRODUCT_FEATURE = declare("catalog.product_feature", "catalog.view_product", "catalog.change_product")
PRODUCT_UNFEATURE = declare("catalog.product_unfeature", "catalog.view_product", "catalog.change_product")

REVISION_APPROVE = declare("catalog.revision_approve", "catalog.view_productrevision", "catalog.change_productrevision")
REVISION_REJECT = declare("catalog.revision_reject", "catalog.view_productrevision", "catalog.change_productrevision")

CATEGORY_SET_RATE = declare("catalog.category_set_rate", "catalog.view_category", "catalog.change_category")
