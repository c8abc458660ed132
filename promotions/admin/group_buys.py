"""Staff screens of promotions.

Group buys: operations see every campaign with its ladder and groups, pause, resume or end it,
and set the platform's share of its discounts (orders placed from then on); groups and
participants (with each participant's outcome and refund once closed) are read-only: the
periodic close writes them.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ConfirmForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
)

from .. import permissions, services
from ..models import GROUP_BUY_TRANSITIONS, GroupBuyCampaign, GroupBuyGroup, GroupBuyParticipant, GroupBuyStep

# --- Group buys ---------------------------------------------------------------------------------


class ShareForm(ActionForm):
    share = forms.DecimalField(
        label=_("Platform share"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("From 0 (the merchant pays every discount) to 1 (the platform pays it all)."),
    )
    error_fields = {"invalid_share": "share"}

    def __init__(self, *args, obj: GroupBuyCampaign, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["share"].initial = obj.platform_share


def _move(action: str):
    def perform(request, campaign, data) -> str:
        moved = services.group_buy_transition(campaign=campaign, action=action, actor=request.user)
        return gettext("“%(name)s” is now %(status)s.") % {"name": moved, "status": moved.get_status_display()}

    return perform


def _set_share(request, campaign, data) -> str:
    changed = services.group_buy_set_platform_share(campaign=campaign, share=data["share"], actor=request.user)
    return gettext("The platform now pays %(share)s of the discounts of “%(name)s”.") % {
        "share": changed.platform_share,
        "name": changed,
    }


GROUP_BUY_ACTIONS = [
    ObjectAction(
        "pause",
        _("Pause"),
        ConfirmForm,
        _move("pause"),
        GROUP_BUY_TRANSITIONS.predicate("pause"),
        permissions.GROUP_BUY_PAUSE,
        help_text=_("No new group opens; open groups run to their end."),
    ),
    ObjectAction(
        "resume",
        _("Resume"),
        ConfirmForm,
        _move("resume"),
        GROUP_BUY_TRANSITIONS.predicate("resume"),
        permissions.GROUP_BUY_RESUME,
    ),
    ObjectAction(
        "end",
        _("End"),
        ConfirmForm,
        _move("end"),
        GROUP_BUY_TRANSITIONS.predicate("end"),
        permissions.GROUP_BUY_END,
        help_text=_("For good; open groups run to their end."),
    ),
    ObjectAction(
        "platform_share",
        _("Set the platform share"),
        ShareForm,
        _set_share,
        staff_action=permissions.GROUP_BUY_SET_SHARE,
        help_text=_("Applies to the orders placed from now on; placed orders keep their frozen split."),
    ),
]


class GroupBuyStepInline(ReadOnlyInline):
    model = GroupBuyStep
    fields = ["participants", "percent"]
    parent_permission = "promotions.view_groupbuycampaign"


class GroupBuyGroupInline(ReadOnlyInline):
    model = GroupBuyGroup
    fields = ["id", "status", "opened_at", "closes_at", "paid_count", "final_percent", "closed_at"]
    show_change_link = True
    parent_permission = "promotions.view_groupbuycampaign"


@admin.register(GroupBuyCampaign)
class GroupBuyCampaignAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ["name", "merchant", "sku", "status", "starts_at", "ends_at", "platform_share", "figures"]
    list_filter = ["status"]
    search_fields = ["name", "merchant__shop_name", "sku__code"]
    list_select_related = ["merchant", "sku"]
    inlines = [GroupBuyStepInline, GroupBuyGroupInline]
    object_actions = GROUP_BUY_ACTIONS

    @admin.display(description=_("figures"))
    def figures(self, campaign):
        # The marketing page (promotions.admin.marketing): cost by funder, GMV touched, ROI.
        return format_html(
            '<a href="{}">{}</a>', reverse("promotions_marketing:group_buy", args=[campaign.pk]), _("Marketing")
        )


class GroupBuyParticipantInline(ReadOnlyInline):
    model = GroupBuyParticipant
    fields = [
        "buyer",
        "status",
        "quantity",
        "order_id",
        "gross",
        "merchant_discount",
        "platform_discount",
        "paid_at",
        "outcome",
        "refund_due",
        "settled_at",
        "refund_id",
    ]
    parent_permission = "promotions.view_groupbuygroup"


@admin.register(GroupBuyGroup)
class GroupBuyGroupAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "status", "opened_at", "closes_at", "paid_count", "final_percent"]
    list_filter = ["status"]
    list_select_related = ["campaign"]
    inlines = [GroupBuyParticipantInline]


@admin.register(GroupBuyParticipant)
class GroupBuyParticipantAdmin(ReadOnlyAdmin):
    list_display = ["id", "group", "buyer", "status", "order_id", "outcome", "refund_due", "settled_at"]
    list_filter = ["status", "outcome"]
    list_select_related = ["group", "buyer"]
    search_fields = ["buyer__email", "=order_id"]
