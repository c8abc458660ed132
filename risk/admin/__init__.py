"""Staff screens of the risk app, one module per part."""

from . import alerts  # noqa: F401  (registers the admins: risk alerts, issue #15)
