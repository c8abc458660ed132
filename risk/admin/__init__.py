"""Staff screens of the risk app, one module per part: merchant quality (`quality`) and risk
alerts (`alerts`), issue #15."""

from . import alerts, quality  # noqa: F401  (registers the admins)
