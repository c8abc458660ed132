"""Risk alerts (domain.md "Risk alerts"): what raised them, who owns them, and their state.

An alert is raised by a periodic job or an event for a *condition*, named by a stable
`condition_key` (e.g. "complaint_rate:m:42"). The database keeps at most one open or
acknowledged alert per condition (partial unique index), so two job runs that race raise it
once. The job marks an alert `cleared_at` when it finds its condition gone; a condition is
raised again only after its alert was resolved *and* the condition had cleared and came back.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.transitions import Transitions

from .choices_alerts import AlertKind, AlertSeverity, AlertState


class AlertRule(models.Model):
    """Per kind: the staff member who owns new alerts of the kind, and the threshold where
    the kind has one staff may set (slow stock: turnover days). Operations edit the rows."""

    kind = models.CharField(_("kind"), max_length=40, choices=AlertKind.choices, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("default owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Slow stock: the turnover days above which stock is slow (empty: the platform's default)."),
    )

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["kind"]

    def __str__(self):
        return self.get_kind_display()


class RiskAlert(models.Model):
    """One alert: the figures that raised it, its owner and where it stands."""

    kind = models.CharField(_("kind"), max_length=40, choices=AlertKind.choices, db_index=True)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_alerts",
    )
    severity = models.CharField(_("severity"), max_length=10, choices=AlertSeverity.choices)
    condition_key = models.CharField(_("condition"), max_length=64)
    figures = models.JSONField(_("figures"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    state = models.CharField(_("state"), max_length=20, choices=AlertState.choices, default=AlertState.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_alerts_owned",
    )
    raised_at = models.DateTimeField(_("raised"), db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, db_index=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    # Set by the job when it finds the condition gone (reset if it comes back while live).
    cleared_at = models.DateTimeField(_("condition cleared"), null=True, blank=True)
    # Claimed by the e-mail task before it sends: the owner is e-mailed once per alert.
    owner_notified_at = models.DateTimeField(_("owner e-mailed"), null=True, blank=True)
    merchant_notified_at = models.DateTimeField(_("merchant e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("risk alert")
        verbose_name_plural = _("risk alerts")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["condition_key"],
                condition=Q(state__in=["open", "acknowledged"]),
                name="risk_alert_one_live_per_condition",
            ),
            models.CheckConstraint(
                condition=~Q(state="resolved") | Q(resolved_at__isnull=False), name="risk_alert_resolved_has_time"
            ),
        ]
        indexes = [models.Index(fields=["condition_key", "-raised_at"], name="risk_alert_condition_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


ALERT_TRANSITIONS = Transitions(
    {
        "acknowledge": ([AlertState.OPEN], AlertState.ACKNOWLEDGED),
        "resolve": ([AlertState.OPEN, AlertState.ACKNOWLEDGED], AlertState.RESOLVED),
    },
    field="state",
    error=InvalidTransition,
)
