"""Category path labels for the catalog's staff screens (the rest of their building blocks
is shared: `marketplace.admin_tools`)."""

from __future__ import annotations

from .. import selectors


def category_paths() -> dict[int, str]:
    return dict(selectors.category_choices(active_only=False))
