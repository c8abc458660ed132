"""Reads of notifications: always those of one user, so nobody reads another's."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from marketplace.staff_actions import StaffAction

from .choices import NotificationKind, email_default
from .models import Notification, NotificationPreference, NotificationSettings

#: Where staff permissions live (groups and users' own); the other backends only log people in.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def notification_list(user, *, unread: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    qs = Notification.objects.filter(user=user).order_by("-id")
    return qs.filter(read_at__isnull=True) if unread else qs


def notification_get(user, notification_id: int) -> Notification | None:
    """The user's notification with this id; None for another user's (shown as not found)."""
    return Notification.objects.filter(user=user, pk=notification_id).first()


def unread_count(user) -> int:
    """One COUNT over the partial index of unread rows; 0 for anonymous users without a query."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def email_preferences(user) -> dict[str, bool]:
    """Every kind with whether the user wants its e-mail (their choice, else the kind's default)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, email_default(kind)) for kind in NotificationKind.values}


def email_language(user) -> str | None:
    """The language the user chose for e-mails; None for the platform's."""
    return NotificationSettings.objects.filter(user=user).values_list("language", flat=True).first()


def staff_user_ids(action: StaffAction) -> list[int]:
    """Active staff who may take `action` (every permission it declares, through their groups
    or their own; superusers hold them all): the recipients of a staff queue's notices."""
    users = get_user_model()._default_manager.filter(is_active=True, is_staff=True)
    for permission in action.permissions:
        users = users.filter(
            pk__in=get_user_model()._default_manager.with_perm(permission, is_active=True, backend=MODEL_BACKEND)
        )
    return list(users.order_by("pk").values_list("pk", flat=True))
