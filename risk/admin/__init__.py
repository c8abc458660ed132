"""Staff screens of the risk app. Merchant quality's are in `quality`."""

from . import quality  # noqa: F401  (registers the admins)
