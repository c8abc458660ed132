"""Staff actions: each thing platform staff may do, declared once with the permissions it needs.

The admin (object actions, its own pages and service-backed add pages), the API and any page
ask the same declaration, so they cannot disagree about who may act: a permission changed
here changes all of them. Each app declares its actions in `<app>/permissions.py`, named
`<app>.<entity>_<action>` after the service they call; `declared()` lists every one, which
the tests compare against what the admin and the API actually expose.

A declaration lists every permission needed, including the view permission of the record the
action is taken on: staff who may not see a record may not act on it either.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules

_registry: dict[str, StaffAction] = {}


@dataclass(frozen=True)
class StaffAction:
    """One staff action: a stable name and the model permissions it needs (all of them)."""

    name: str
    permissions: tuple[str, ...]

    def allows(self, user) -> bool:
        """Active platform staff holding every permission (a superuser holds them all)."""
        return bool(
            getattr(user, "is_authenticated", False)
            and user.is_active
            and user.is_staff
            and user.has_perms(self.permissions)
        )

    def __str__(self):
        return self.name


def declare(name: str, *permissions: str) -> StaffAction:
    """Declare a staff action once; a second declaration of the name is a programming error."""
    if not permissions:
        raise ValueError(f"The staff action {name!r} names no permission.")
    if name in _registry:
        raise ValueError(f"The staff action {name!r} is declared twice.")
    for entry in permissions:
        if entry.count(".") != 1:
            raise ValueError(f"{entry!r} is not an app_label.codename permission.")
    action = StaffAction(name, tuple(permissions))
    _registry[name] = action
    return action


def declared() -> dict[str, StaffAction]:
    """Every staff action of every installed app, by name."""
    autodiscover_modules("permissions")
    return dict(_registry)
