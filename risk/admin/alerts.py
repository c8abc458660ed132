"""Operations' queue of risk alerts: the list with its filters and a chart of open alerts over
time, each alert's figures, and the acknowledge / resolve / assign actions (each calls one
service, which locks, checks the state and audits); the per-kind rules (default owner, slow
stock threshold)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ConfirmForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ServiceEditAdmin,
    badge,
    table,
)

from .. import permissions_alerts as permissions
from ..choices_alerts import LIVE_STATES, AlertSeverity, AlertState
from ..models import ALERT_TRANSITIONS, AlertRule, RiskAlert
from ..selectors import alerts as selectors
from ..services import alerts as services

SEVERITY_COLOURS = {AlertSeverity.LOW: "#6c757d", AlertSeverity.MEDIUM: "#fd7e14", AlertSeverity.HIGH: "#dc3545"}
STATE_COLOURS = {AlertState.OPEN: "#dc3545", AlertState.ACKNOWLEDGED: "#0d6efd", AlertState.RESOLVED: "#198754"}


class ResolveForm(ConfirmForm):
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea({"rows": 3}), help_text=_("How the alert was dealt with.")
    )
    error_fields = {"note_required": "note"}


class AssignForm(ConfirmForm):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=get_user_model().objects.none())
    error_fields = {"invalid_owner": "owner"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email")


def _acknowledge(request, alert, data) -> str:
    services.alert_acknowledge(alert=alert, actor=request.user)
    return gettext("The alert is acknowledged.")


def _resolve(request, alert, data) -> str:
    services.alert_resolve(alert=alert, actor=request.user, note=data["note"])
    return gettext("The alert is resolved.")


def _assign(request, alert, data) -> str:
    services.alert_assign(alert=alert, actor=request.user, owner_id=data["owner"].pk)
    return gettext("The alert is assigned to %(owner)s.") % {"owner": data["owner"]}


def _live(alert) -> bool:
    return alert.state in LIVE_STATES


ALERT_ACTIONS = [
    ObjectAction(
        "acknowledge",
        _("Acknowledge"),
        ConfirmForm,
        _acknowledge,
        staff_action=permissions.ALERT_ACKNOWLEDGE,
        available=ALERT_TRANSITIONS.predicate("acknowledge"),
        help_text=_("You are looking into it."),
    ),
    ObjectAction(
        "resolve",
        _("Resolve"),
        ResolveForm,
        _resolve,
        staff_action=permissions.ALERT_RESOLVE,
        available=ALERT_TRANSITIONS.predicate("resolve"),
        help_text=_("The same condition raises a new alert only once it has gone away and come back."),
    ),
    ObjectAction(
        "assign",
        _("Assign"),
        AssignForm,
        _assign,
        staff_action=permissions.ALERT_ASSIGN,
        available=_live,
    ),
]


@admin.register(RiskAlert)
class RiskAlertAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """The queue: open alerts first (newest first within a state), filtered on the right."""

    view_action = permissions.ALERT_VIEW
    object_actions = ALERT_ACTIONS
    change_list_template = "admin/risk/riskalert/change_list.html"
    list_display = ["__str__", "severity_badge", "state_badge", "merchant", "owner", "raised_at", "figures_short"]
    list_filter = [
        "kind",
        "severity",
        "state",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("merchant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["merchant", "owner"]
    search_fields = ["condition_key", "merchant__company_name", "merchant__shop_name"]
    readonly_fields = ["figures_table"]
    exclude = ["figures"]
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.alert_list()

    def get_ordering(self, request):
        return ["state", "-raised_at", "-id"]

    @admin.display(description=_("severity"), ordering="severity")
    def severity_badge(self, alert):
        return badge(SEVERITY_COLOURS.get(alert.severity, "#6c757d"), alert.get_severity_display())

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, alert):
        return badge(STATE_COLOURS.get(alert.state, "#6c757d"), alert.get_state_display())

    @admin.display(description=_("figures"))
    def figures_short(self, alert):
        text = ", ".join(f"{k}: {v}" for k, v in alert.figures.items() if not isinstance(v, (list, dict)))
        return text[:120]

    @admin.display(description=_("figures"))
    def figures_table(self, alert):
        if not alert.figures:
            return "—"
        return table(
            [gettext("figure"), gettext("value")],
            ((name, format_html("{}", value)) for name, value in alert.figures.items()),
        )

    def changelist_view(self, request, extra_context=None):
        days = selectors.open_alerts_over_time(days=30)
        extra = {
            **(extra_context or {}),
            "open_chart": {
                "type": "line",
                "categories": [d["day"] for d in days],
                "series": [
                    {"name": gettext("All open"), "data": [d["open"] for d in days]},
                    {"name": gettext("High"), "data": [d["high"] for d in days]},
                    {"name": gettext("Medium"), "data": [d["medium"] for d in days]},
                    {"name": gettext("Low"), "data": [d["low"] for d in days]},
                ],
                "unit": gettext("alerts"),
            },
        }
        return super().changelist_view(request, extra_context=extra)


@admin.register(AlertRule)
class AlertRuleAdmin(ServiceEditAdmin, admin.ModelAdmin):
    """Per kind: who owns new alerts, and the slow-stock threshold. Saved through the service
    (validated, audited)."""

    list_display = ["kind", "owner", "threshold"]
    list_select_related = ["owner"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create(self, request, fields):
        return services.alert_rule_save(rule=AlertRule(), actor=request.user, changes=fields)

    def update(self, request, obj, changes):
        services.alert_rule_save(rule=obj, actor=request.user, changes=changes)

    def delete(self, request, objs):
        raise PermissionDenied

    def has_delete_permission(self, request, obj=None):
        return False  # clear the fields instead: no owner, the default threshold
