"""Notifications: what a user is told, and whether they want it by e-mail too."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import texts
from .choices import NotificationKind


class Notification(models.Model):
    """One thing one user is told. The words are not stored: they are rendered from `kind` and
    `params` in the reader's language each time (`notifications.texts`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=NotificationKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    # Set by the one run of the e-mail task that claims the row (a conditional UPDATE), so a
    # task run twice sends the e-mail once.
    email_sent_at = models.DateTimeField(_("e-mail sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user_recent"),
            # The header's unread count reads this small partial index only.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.user_id}"

    @property
    def subject(self) -> str:
        return texts.render(self.kind, self.params, "subject")

    @property
    def line(self) -> str:
        return texts.render(self.kind, self.params, "line")

    @property
    def body(self) -> str:
        return texts.render(self.kind, self.params, "body")


class NotificationPreference(models.Model):
    """A user's choice of e-mail for one kind; without a row the kind's default applies
    (`choices.email_default`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=NotificationKind.choices)
    email = models.BooleanField(_("e-mail"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user_id", "kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self):
        return f"{self.user_id} {self.kind}: {self.email}"


class NotificationSettings(models.Model):
    """The language of a user's notification e-mails (the platform's, zh-hans, without a row).
    Pages show notifications in the language of the page instead."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notification_settings"
    )
    language = models.CharField(_("e-mail language"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return f"{self.user_id}: {self.language}"
