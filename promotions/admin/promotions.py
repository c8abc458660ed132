"""Operations' screens of promotions: platform promotions (created and edited through the
services, `ServiceEditAdmin`), the queue of shop promotions asking the platform to pay a share
(approve, or reject with a reason the merchant reads; both recorded), and every promotion's
budget (committed, used, left) and uses.

Shop promotions are the merchants' (portal): here they are read-only apart from the decisions
on their platform share and pausing or ending them. Who may do what is declared once in
`promotions.permissions`; statuses change only through the actions, each calling one service.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ActionForm,
    ConfirmForm,
    ObjectAction,
    ObjectActionsMixin,
    QueueOrderingMixin,
    ServiceEditAdmin,
    badge,
    money,
)

from .. import permissions, services
from ..choices import EDITABLE_STATES, BenefitType, PromotionLevel, PromotionStatus, ScopeKind
from ..models import TRANSITIONS, Promotion
from ..selectors import promotion_label
from ..services import PROMOTION_FIELDS

STATUS_COLOURS = {
    PromotionStatus.DRAFT: "#6c757d",
    PromotionStatus.PENDING_APPROVAL: "#fd7e14",
    PromotionStatus.ACTIVE: "#198754",
    PromotionStatus.PAUSED: "#ffc107",
    PromotionStatus.ENDED: "#6c757d",
    PromotionStatus.REJECTED: "#dc3545",
}


def parse_steps(text: str) -> list[tuple[Decimal, Decimal]]:
    """ "200:20, 300:40" (or one step a line, "：" and "，" too) → [(200, 20), (300, 40)]."""
    steps = []
    for piece in text.replace("，", ",").replace("\n", ",").replace("：", ":").split(","):
        piece = piece.strip()
        if not piece:
            continue
        threshold, sep, amount = piece.partition(":")
        try:
            steps.append((Decimal(threshold.strip()), Decimal(amount.strip())))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError(_("Write each step as threshold:amount, e.g. 200:20, 300:40.")) from exc
        if not sep:
            raise ValidationError(_("Write each step as threshold:amount, e.g. 200:20, 300:40."))
    return steps


class PlatformPromotionForm(forms.ModelForm):
    """A platform promotion's settings; the services check the rules and refuse in words."""

    steps_text = forms.CharField(
        label=_("Spend-and-save steps"),
        required=False,
        help_text=_("For “Spend and save”: threshold:amount pairs, e.g. 200:20, 300:40."),
    )
    public_code = forms.CharField(
        label=_("Public code"),
        required=False,
        max_length=32,
        help_text=_(
            "With a coupon only: any buyer who enters this code claims a coupon (4 to 32 letters and digits). "
            "Leave empty to hand the coupons out in the coupon centre."
        ),
    )
    #: The services' refusals, shown on the field they concern.
    error_fields = {
        "name_required": "name",
        "invalid_channel": "channel",
        "invalid_window": "ends_at",
        "invalid_benefit": "benefit_type",
        "benefit_shop_only": "benefit_type",
        "invalid_percent": "percent",
        "invalid_scope": "scope",
        "scope_empty": "scope",
        "steps_required": "steps_text",
        "steps_not_increasing": "steps_text",
        "step_exceeds_threshold": "steps_text",
        "invalid_coupon_code": "public_code",
        "coupon_code_taken": "public_code",
        "coupon_not_claimable": "public_code",
    }

    class Meta:
        model = Promotion
        fields = [
            "name",
            "description",
            "channel",
            "starts_at",
            "ends_at",
            "priority",
            "min_spend",
            "min_quantity",
            "scope",
            "products",
            "categories",
            "benefit_type",
            "percent",
            "amount",
            "budget_amount",
            "max_uses",
            "per_buyer_limit",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "scope" not in self.fields:
            return  # a promotion shown read-only: no settings on the form
        self.fields["scope"].choices = [c for c in ScopeKind.choices if c[0] != ScopeKind.SHOP]
        self.fields["benefit_type"].choices = [
            c for c in BenefitType.choices if c[0] not in (BenefitType.FREE_SHIPPING, BenefitType.GIFT_SKU)
        ]
        if self.instance.pk:
            self.fields["steps_text"].initial = ", ".join(
                f"{s.threshold.normalize():f}:{s.amount.normalize():f}" for s in self.instance.steps.all()
            )
            public = getattr(self.instance, "public_code", None)
            self.fields["public_code"].initial = public.code if public else ""

    def clean_steps_text(self):
        return parse_steps(self.cleaned_data["steps_text"])

    def _get_validation_exclusions(self):
        # The rules (percent range, window) are the services', which refuse them in words shown
        # on the field; the model's constraints, checked here first, would only name themselves.
        return super()._get_validation_exclusions() | {"percent", "ends_at"}


def _service_data(fields: dict) -> dict:
    data = {name: fields.get(name) for name in PROMOTION_FIELDS}
    data["platform_share"] = Decimal("1")  # a platform promotion is the platform's to pay
    data["gift_sku_id"] = None
    data["steps"] = fields.get("steps_text") or []
    data["product_ids"] = [p.pk for p in fields.get("products") or []]
    data["category_ids"] = [c.pk for c in fields.get("categories") or []]
    return data


def _current(promotion: Promotion) -> dict:
    fields = {name: getattr(promotion, name) for name in PROMOTION_FIELDS if name != "gift_sku_id"}
    fields["steps_text"] = [(s.threshold, s.amount) for s in promotion.steps.all()]
    fields["products"] = list(promotion.products.all())
    fields["categories"] = list(promotion.categories.all())
    return fields


# --- Actions -------------------------------------------------------------------------


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("The merchant will see it.")
    )
    error_fields = {"reason_required": "reason"}


def _activate(request, promotion, data) -> str:
    services.promotion_activate(promotion=promotion, actor=request.user)
    return gettext("“%(promotion)s” is active: buyers get it within its dates.") % {"promotion": promotion}


def _approve(request, promotion, data) -> str:
    services.promotion_approve(promotion=promotion, actor=request.user)
    return gettext("The platform share of “%(promotion)s” is approved: the promotion is active.") % {
        "promotion": promotion
    }


def _reject(request, promotion, data) -> str:
    services.promotion_reject(promotion=promotion, actor=request.user, reason=data["reason"])
    return gettext("The platform share of “%(promotion)s” is refused; the merchant sees your reason.") % {
        "promotion": promotion
    }


def _pause(request, promotion, data) -> str:
    services.promotion_pause(promotion=promotion, actor=request.user)
    return gettext("“%(promotion)s” is paused.") % {"promotion": promotion}


def _resume(request, promotion, data) -> str:
    services.promotion_resume(promotion=promotion, actor=request.user)
    return gettext("“%(promotion)s” is active again.") % {"promotion": promotion}


def _end(request, promotion, data) -> str:
    services.promotion_end(promotion=promotion, actor=request.user)
    return gettext("“%(promotion)s” has ended.") % {"promotion": promotion}


def _platform_draft(promotion) -> bool:
    return promotion.level == PromotionLevel.PLATFORM and TRANSITIONS.can("activate", promotion)


PROMOTION_ACTIONS = [
    ObjectAction(
        "activate",
        _("Activate"),
        ConfirmForm,
        _activate,
        _platform_draft,
        permissions.PROMOTION_ACTIVATE,
        help_text=_("Buyers get the promotion from its start until its end."),
    ),
    ObjectAction(
        "approve",
        _("Approve the platform share"),
        ConfirmForm,
        _approve,
        TRANSITIONS.predicate("approve"),
        permissions.PROMOTION_APPROVE,
        help_text=_("The platform pays its share of every discount; the promotion becomes active."),
    ),
    ObjectAction(
        "reject",
        _("Refuse the platform share"),
        ReasonForm,
        _reject,
        TRANSITIONS.predicate("reject"),
        permissions.PROMOTION_REJECT,
        help_text=_("The merchant may change the promotion and submit it again."),
    ),
    ObjectAction("pause", _("Pause"), ConfirmForm, _pause, TRANSITIONS.predicate("pause"), permissions.PROMOTION_PAUSE),
    ObjectAction(
        "resume", _("Resume"), ConfirmForm, _resume, TRANSITIONS.predicate("resume"), permissions.PROMOTION_RESUME
    ),
    ObjectAction(
        "end",
        _("End"),
        ConfirmForm,
        _end,
        TRANSITIONS.predicate("end"),
        permissions.PROMOTION_END,
        help_text=_("For good: orders already placed keep their discount."),
    ),
]


class FundingFilter(admin.SimpleListFilter):
    title = _("paid by")
    parameter_name = "funding"

    def lookups(self, request, model_admin):
        return [
            ("merchant", _("The shop")),
            ("shared", _("Shop and platform")),
            ("platform", _("The platform")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "merchant":
            return queryset.filter(platform_share=0)
        if self.value() == "shared":
            return queryset.filter(platform_share__gt=0, platform_share__lt=1)
        if self.value() == "platform":
            return queryset.filter(platform_share=1)
        return queryset


@admin.register(Promotion)
class PromotionAdmin(ServiceEditAdmin, QueueOrderingMixin, ObjectActionsMixin, admin.ModelAdmin):
    """Every promotion, those waiting for approval first. Platform promotions are created and
    edited here (draft or rejected only); shop promotions are read-only."""

    form = PlatformPromotionForm
    object_actions = PROMOTION_ACTIONS
    list_display = [
        "name",
        "level",
        "merchant",
        "status_badge",
        "benefit",
        "funding",
        "starts_at",
        "ends_at",
        "budget_committed",
        "budget_used",
        "budget_left",
        "uses",
        "figures",
    ]
    list_filter = ["status", "level", FundingFilter, "benefit_type", "channel"]
    list_select_related = ["merchant"]
    search_fields = ["name", "merchant__shop_name", "merchant__company_name"]
    raw_id_fields = ["products"]
    filter_horizontal = ["categories"]
    queue_first = ("status", PromotionStatus.PENDING_APPROVAL)
    queue_then = ["-id"]
    readonly_fields = [
        "level",
        "merchant",
        "status_badge",
        "status_reason",
        "benefit",
        "funding",
        "approved_by",
        "approved_at",
        "budget_committed",
        "budget_used",
        "budget_left",
        "uses",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "products":
            # The products' admin orders its queue by an annotation of its own queryset, which a
            # plain queryset of products does not have: pick from the products as they are.
            kwargs["queryset"] = db_field.remote_field.model._default_manager.order_by("pk")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        settings_fields = [
            "name",
            "description",
            "channel",
            ("starts_at", "ends_at"),
            "priority",
            "benefit_type",
            "percent",
            "amount",
            "steps_text",
            "public_code",
            ("min_spend", "min_quantity"),
            "scope",
            "products",
            "categories",
            ("budget_amount", "max_uses", "per_buyer_limit"),
        ]
        if obj is None:
            return [(_("Platform promotion"), {"fields": settings_fields})]
        state = [
            "level",
            "merchant",
            "status_badge",
            "status_reason",
            "benefit",
            "funding",
            ("approved_by", "approved_at"),
            ("budget_committed", "budget_used", "budget_left", "uses"),
            ("created_by", "created_at", "updated_at"),
        ]
        if self._editable(obj):
            return [(_("State"), {"fields": state}), (_("Settings"), {"fields": settings_fields})]
        return [(_("State"), {"fields": state})]

    @staticmethod
    def _editable(obj) -> bool:
        return obj.level == PromotionLevel.PLATFORM and obj.status in EDITABLE_STATES

    def has_change_permission(self, request, obj=None):
        if obj is not None and not self._editable(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a promotion ends; its orders keep pointing at it

    # --- Through the services ------------------------------------------------------------

    def create(self, request, fields):
        promotion = services.promotion_create(
            actor=request.user, level=PromotionLevel.PLATFORM, data=_service_data(fields)
        )
        if fields.get("public_code", "").strip():
            services.coupon_code_set(promotion=promotion, code=fields["public_code"], actor=request.user)
        return promotion

    def update(self, request, obj, changes):
        fields = {**_current(obj), **changes}
        services.promotion_update(promotion=obj, actor=request.user, data=_service_data(fields))
        # Only a changed code is written; an emptied one is removed. A refusal rolls the
        # admin's transaction back, the promotion's changes with it (ServiceEditAdmin).
        if "public_code" in changes:
            services.coupon_code_set(promotion=obj, code=changes["public_code"], actor=request.user)

    def delete(self, request, objs):
        raise NotImplementedError  # has_delete_permission is False

    def save_related(self, request, form, formsets, change):
        # The services wrote the chosen products and categories with the promotion.
        pass

    # --- Columns ----------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, promotion):
        return badge(STATUS_COLOURS.get(promotion.status, "#6c757d"), promotion.get_status_display())

    @admin.display(description=_("benefit"))
    def benefit(self, promotion):
        return promotion_label(promotion)

    @admin.display(description=_("paid by"), ordering="platform_share")
    def funding(self, promotion):
        if promotion.platform_share == 0:
            return gettext("The shop")
        if promotion.platform_share == 1:
            return gettext("The platform")
        return gettext("Platform %(share)s %%, shop the rest") % {
            "share": format((promotion.platform_share * 100).normalize(), "f")
        }

    @admin.display(description=_("budget"), ordering="budget_amount")
    def budget_committed(self, promotion):
        return money(promotion.budget_amount) if promotion.budget_amount is not None else gettext("No limit")

    @admin.display(description=_("used"), ordering="budget_spent")
    def budget_used(self, promotion):
        return money(promotion.budget_spent)

    @admin.display(description=_("left"))
    def budget_left(self, promotion):
        if promotion.budget_amount is None:
            return "—"
        return money(promotion.budget_amount - promotion.budget_spent)

    @admin.display(description=_("uses"), ordering="uses_count")
    def uses(self, promotion):
        if promotion.max_uses is None:
            return str(promotion.uses_count)
        return f"{promotion.uses_count} / {promotion.max_uses}"

    @admin.display(description=_("figures"))
    def figures(self, promotion):
        # The marketing page (promotions.admin.marketing): cost by funder, GMV touched, ROI.
        return format_html(
            '<a href="{}">{}</a>', reverse("promotions_marketing:detail", args=[promotion.pk]), _("Marketing")
        )
