"""The risk app's staff actions (see `marketplace.staff_actions`, which discovers this module).
Merchant quality's are declared in `permissions_quality`."""

from .permissions_quality import *  # noqa: F403
