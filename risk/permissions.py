"""The risk app's staff actions (see `marketplace.staff_actions`, which discovers this module),
one module per part: merchant quality and risk alerts (issue #15)."""

from .permissions_alerts import *  # noqa: F403
from .permissions_quality import *  # noqa: F403
