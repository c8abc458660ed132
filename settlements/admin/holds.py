"""Payout holds: finance see which merchants' payouts are held and why, and release a hold
once the new bank account is checked (the service audits it; the merchant's owed statements
then go in the next payout batch)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ConfirmForm, ObjectAction, ObjectActionsMixin, ReadOnlyAdmin, badge

from .. import permissions, services
from ..choices import PayoutHoldStatus
from ..models import PAYOUT_HOLD_TRANSITIONS, PayoutHold

HOLD_COLOURS = {PayoutHoldStatus.OPEN: "#dc3545", PayoutHoldStatus.RELEASED: "#198754"}


class ReleaseForm(ConfirmForm):
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea({"rows": 3}),
        help_text=_("How the new bank account was checked."),
    )
    error_fields = {"note_required": "note"}


def _release(request, hold, data) -> str:
    services.payout_hold_release(hold=hold, actor=request.user, note=data["note"])
    return gettext("The hold is released: the merchant's payouts go in the next batch.")


@admin.register(PayoutHold)
class PayoutHoldAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    view_action = permissions.PAYOUT_HOLD_VIEW
    object_actions = [
        ObjectAction(
            "release",
            _("Release the hold"),
            ReleaseForm,
            _release,
            staff_action=permissions.PAYOUT_HOLD_RELEASE,
            available=PAYOUT_HOLD_TRANSITIONS.predicate("release"),
            help_text=_("The merchant's owed statements go in the next payout batch."),
        )
    ]
    list_display = ["merchant", "status_badge", "cause", "caused_at", "placed_at", "released_by", "released_at"]
    list_filter = ["status", "cause"]
    list_select_related = ["merchant", "released_by"]
    search_fields = ["merchant__company_name", "merchant__shop_name"]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, hold):
        return badge(HOLD_COLOURS.get(hold.status, "#6c757d"), hold.get_status_display())
