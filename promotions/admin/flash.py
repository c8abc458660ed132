"""Staff screens of promotions: flash sales (operations).

A flash sale is created on the add page through `flash_sale_create` (by staff: any merchant's
SKU, funded by the merchant, the platform or a ratio) and never edited in place: its terms
are what buyers were admitted on. Pausing and resuming are object actions calling
`flash_sale_set_paused`. Reservations are read-only (only the flash-sale services write them).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import (
    ConfirmForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceEditAdmin,
)

from .. import permissions
from ..models import FlashReservation, FlashSale
from ..services import flash


class FlashSaleForm(forms.ModelForm):
    #: The service's refusals, shown on the field they concern.
    error_fields = {
        "sku_not_on_sale": "sku",
        "invalid_special_price": "special_price",
        "window_in_past": "starts_at",
        "invalid_window": "ends_at",
        "quantity_exceeds_stock": "quantity",
        "invalid_limit": "per_buyer_limit",
        "flash_sale_overlaps": "starts_at",
        "invalid_platform_share": "platform_share",
        "invalid_funding": "funding",
    }

    class Meta:
        model = FlashSale
        fields = [
            "sku",
            "special_price",
            "quantity",
            "per_buyer_limit",
            "starts_at",
            "ends_at",
            "funding",
            "platform_share",
        ]
        help_texts = {
            "platform_share": _("For a split: the platform's part of the discount, e.g. 0.5000."),
        }

    def _get_validation_exclusions(self):
        # The funding/share rule is the service's (it sets the share of merchant and platform
        # funding itself); the model's constraint, checked here first, would only name itself.
        return super()._get_validation_exclusions() | {"platform_share", "funding"}


def _pause(request, sale: FlashSale, data) -> str:
    flash.flash_sale_set_paused(sale=sale, paused=True, actor=request.user)
    return gettext("The flash sale is paused.")


def _resume(request, sale: FlashSale, data) -> str:
    flash.flash_sale_set_paused(sale=sale, paused=False, actor=request.user)
    return gettext("The flash sale is on again.")


class FlashReservationInline(ReadOnlyInline):
    model = FlashReservation
    fields = ["buyer", "units", "status", "expires_at", "order_number", "created_at"]
    readonly_fields = fields
    parent_permission = "promotions.view_flashsale"


@admin.register(FlashSale)
class FlashSaleAdmin(ServiceEditAdmin, ObjectActionsMixin, admin.ModelAdmin):
    form = FlashSaleForm
    list_display = [
        "id",
        "sku",
        "merchant",
        "special_price",
        "quantity",
        "sold_units",
        "reserved_units",
        "starts_at",
        "ends_at",
        "funding",
        "is_paused",
        "figures",
    ]
    list_filter = ["funding", "is_paused"]
    list_select_related = ["sku", "merchant"]
    search_fields = ["sku__code", "sku__product__title", "merchant__shop_name", "merchant__company_name"]
    raw_id_fields = ["sku"]
    inlines = [FlashReservationInline]
    object_actions = [
        ObjectAction(
            "pause",
            _("Pause"),
            ConfirmForm,
            _pause,
            lambda sale: not sale.is_paused,
            permissions.FLASH_SALE_PAUSE,
            help_text=_("Buyers can no longer join; units already held stay valid."),
        ),
        ObjectAction(
            "resume",
            _("Resume"),
            ConfirmForm,
            _resume,
            lambda sale: sale.is_paused,
            permissions.FLASH_SALE_PAUSE,
        ),
    ]

    @admin.display(description=_("figures"))
    def figures(self, sale):
        # The marketing page (promotions.admin.marketing): cost by funder, GMV touched, ROI.
        return format_html(
            '<a href="{}">{}</a>', reverse("promotions_marketing:flash_sale", args=[sale.pk]), _("Marketing")
        )

    def has_change_permission(self, request, obj=None):
        return False  # the terms buyers were admitted on never change; pause it instead

    def has_delete_permission(self, request, obj=None):
        return False

    def create(self, request, fields):
        sku = fields.pop("sku")
        return flash.flash_sale_create(
            merchant=sku.merchant,
            actor=request.user,
            sku=sku,
            by_staff=True,
            special_price=fields["special_price"],
            quantity=fields["quantity"],
            per_buyer_limit=fields["per_buyer_limit"],
            starts_at=fields["starts_at"],
            ends_at=fields["ends_at"],
            funding=fields["funding"],
            platform_share=fields.get("platform_share"),
        )


@admin.register(FlashReservation)
class FlashReservationAdmin(ReadOnlyAdmin):
    list_display = ["id", "sale", "buyer", "units", "status", "expires_at", "order_number", "created_at"]
    list_filter = ["status"]
    list_select_related = ["sale", "sale__sku", "buyer"]
    search_fields = ["order_number", "buyer__email"]
