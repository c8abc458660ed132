"""The risk app's staff actions (see `marketplace.staff_actions`), one module per part."""

from .permissions_alerts import *  # noqa: F403  (risk alerts, issue #15)
