"""Writes of notifications: raising them (in the caller's transaction), reading them, and
sending their e-mails once, after commit.

The app imports no domain app: callers pass the recipients' user ids and the parameters the
kind's texts name (`notifications.texts`), already as plain JSON values (strings for amounts and
times, so nothing is lost or rounded on the way). Each app keeps its calls in its own
`services/notices.py`; risk alerts (kind `risk_alert`, parameter `summary`) are for the
merchant's owner: `merchants.selectors.member_user_ids(merchant_id, section=PortalSection.CONTRACT)`.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace.jobs import enqueue_on_commit

from . import selectors, texts
from .choices import NotificationKind, email_default
from .errors import NotificationError
from .models import Notification, NotificationPreference, NotificationSettings

logger = logging.getLogger(__name__)

EMAIL_TASK = "notifications.tasks.notification_emails_send_task"


def notify(*, user_ids, kind: str, params: dict, link: str = "") -> list[Notification]:
    """Tell each user in `user_ids` (once each, whatever repeats) about `kind`.

    The rows are written in the caller's transaction (no savepoint of their own), so a rollback
    leaves no notification and sends nothing; one e-mail task for all of them is enqueued after
    commit. A kind unknown or params missing a value its texts name is a programming error
    (ValueError), found by the tests of the calling service. Takes no lock."""
    return notify_many(kind=kind, notices=[(user_ids, params, link)])


def notify_many(*, kind: str, notices) -> list[Notification]:
    """`notify` for several notices of one kind at once, each `(user_ids, params, link)`: one
    INSERT and one e-mail task for all (a stock write that opens many alerts pays once)."""
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    rows = []
    for user_ids, params, link in notices:
        missing = texts.required_params(kind, params) - set(params)
        if missing:
            raise ValueError(f"Notification {kind} lacks parameters {sorted(missing)}.")
        ids = sorted({int(pk) for pk in user_ids if pk is not None})
        rows += [Notification(user_id=pk, kind=kind, params=params, link=link) for pk in ids]
    if not rows:
        return []
    with transaction.atomic(savepoint=False):
        rows = Notification.objects.bulk_create(rows)
        enqueue_on_commit(EMAIL_TASK, notification_ids=[row.pk for row in rows])
    return rows


def notification_mark_read(*, notification: Notification, user) -> Notification:
    """Mark the user's notification read (again: nothing changes). Another user's is not found
    (`notification_not_found`), so ids cannot be probed."""
    if notification.user_id != user.pk:
        raise NotificationError("notification_not_found", _("No such notification."))
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; returns how many. One UPDATE."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user, email: dict[str, bool], language: str | None = None) -> dict[str, bool]:
    """Record the user's e-mail choice for each kind given (unknown kinds are refused with
    `unknown_kind`, nothing written) and the language of their e-mails. Upserts, so saving
    twice, or at once from two tabs, leaves one row per kind."""
    unknown = sorted(set(email) - set(NotificationKind.values))
    if unknown:
        raise NotificationError("unknown_kind", _("Unknown kind of notification."), {"kinds": unknown})
    languages = {code for code, _name in settings.LANGUAGES}
    if language is not None and language not in languages:
        raise NotificationError("unknown_language", _("Unknown language."))
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user=user, kind=kind, email=bool(on)) for kind, on in sorted(email.items())],
        update_conflicts=True,
        unique_fields=["user", "kind"],
        update_fields=["email"],
    )
    if language is not None:
        NotificationSettings.objects.update_or_create(user=user, defaults={"language": language})
    return selectors.email_preferences(user)


def _wants_email(notification: Notification) -> bool:
    chosen = (
        NotificationPreference.objects.filter(user_id=notification.user_id, kind=notification.kind)
        .values_list("email", flat=True)
        .first()
    )
    return email_default(notification.kind) if chosen is None else chosen


def notification_email_send(*, notification_id: int) -> bool:
    """Send the e-mail of one notification if its user wants it; True when this call sent it.

    Idempotent: the row is claimed by a conditional UPDATE (`email_sent_at` still empty) that
    commits before the mail server is called, so two runs, even at once, send it once; a failed
    send releases the claim and re-raises, for the task to retry. Never inside a transaction
    (the mail server is another system)."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.email_sent_at is not None:
        return False
    user = notification.user
    if not user.is_active or not user.email or not _wants_email(notification):
        return False
    claimed = Notification.objects.filter(pk=notification.pk, email_sent_at__isnull=True).update(
        email_sent_at=timezone.now()
    )
    if not claimed:
        return False
    language = selectors.email_language(user) or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            body = notification.body
            if notification.link:
                body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{notification.link}"
            send_mail(notification.subject, body, None, [user.email])
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(email_sent_at=None)
        raise
    return True


def notification_emails_send(*, notification_ids) -> int:
    """Send the e-mails of these notifications (see `notification_email_send`); returns how many
    this call sent."""
    return sum(notification_email_send(notification_id=pk) for pk in notification_ids)
