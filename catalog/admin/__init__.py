"""Staff screens of the catalog: the listing moderation queue, the revision queue, the
category tree with its commission rates, grants, tags, warehouses and (read-only) stock.

Products, revisions and commission rates are read-only forms: every change goes through an
action view (`ObjectActionsMixin.action_view`, actions in `actions.py`) that calls one
service, so the transition table, the locks and the audit log apply to staff exactly as to
the API. Grants are changed from the merchant page (`merchants.admin`), through
`catalog.services.category_grants_set`. Product pictures are not public until the listing
is live, so the admin serves them itself, to staff only (`ProductAdmin.image_view`).
"""

# Importing the modules registers their admins.
from . import categories, products, stock, top_brands  # noqa: F401
