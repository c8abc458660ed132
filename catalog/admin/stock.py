"""Staff screens of warehouses (editable through the services, which check the merchant/kind
rule) and of stock levels, movements and alerts (read-only: only the stock services write them)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.admin_tools import ReadOnlyAdmin, ReadOnlyInline, ServiceEditAdmin

from .. import services
from ..models import Stock, StockAlert, StockMovement, Warehouse


class WarehouseForm(forms.ModelForm):
    #: The warehouse services' refusals, shown on the merchant field.
    error_fields = {
        "warehouse_merchant_required": "merchant",
        "warehouse_merchant_not_allowed": "merchant",
        "warehouse_holds_stock": "merchant",
    }

    class Meta:
        model = Warehouse
        fields = ["code", "name", "kind", "region", "city", "merchant", "is_active"]

    def _get_validation_exclusions(self):
        # The merchant/kind rule is the services' (`warehouse_create`, `warehouse_update`),
        # which refuse it in words (shown on the field by `ServiceEditAdmin`); the model's
        # constraint, checked here first, would only name itself. The database still checks it.
        return super()._get_validation_exclusions() | {"merchant"}


@admin.register(Warehouse)
class WarehouseAdmin(ServiceEditAdmin, admin.ModelAdmin):
    form = WarehouseForm
    list_display = ["code", "name", "kind", "region", "city", "merchant", "is_active"]
    list_filter = ["kind", "region", "is_active"]
    list_select_related = ["merchant"]
    search_fields = ["code", "name", "city", "merchant__shop_name", "merchant__company_name"]

    def create(self, request, fields):
        return services.warehouse_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.warehouse_update(warehouse=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.warehouses_delete(warehouses=objs, actor=request.user)


class LowStockFilter(admin.SimpleListFilter):
    title = _("stock level")
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return [("out", _("Nothing available")), ("low", _("Below the reorder point"))]

    def queryset(self, request, queryset):
        if self.value() == "out":
            return queryset.filter(on_hand__lte=F("reserved"))
        if self.value() == "low":
            return queryset.filter(sku__reorder_point__gt=0, available_units__lt=F("sku__reorder_point"))
        return queryset


class StockMovementInline(ReadOnlyInline):
    model = StockMovement
    fields = [
        "created_at",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "on_hand_after",
        "reserved_after",
        "reference",
        "reason",
        "actor",
    ]
    readonly_fields = fields


@admin.register(Stock)
class StockAdmin(ReadOnlyAdmin):
    list_display = ["sku", "product", "merchant", "warehouse", "on_hand", "reserved", "available", "reorder_point"]
    list_filter = [LowStockFilter, "warehouse__kind", "warehouse"]
    list_select_related = ["sku", "sku__product", "sku__merchant", "warehouse"]
    search_fields = ["sku__code", "sku__product__title", "sku__merchant__shop_name", "warehouse__code"]
    readonly_fields = ["available"]
    inlines = [StockMovementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("reserved"))

    @admin.display(description=_("available"), ordering="available_units")
    def available(self, stock):
        return stock.available

    @admin.display(description=_("product"), ordering="sku__product__title")
    def product(self, stock):
        return stock.sku.product

    @admin.display(description=_("merchant"))
    def merchant(self, stock):
        return stock.sku.merchant

    @admin.display(description=_("reorder point"), ordering="sku__reorder_point")
    def reorder_point(self, stock):
        return stock.sku.reorder_point


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "sku",
        "warehouse",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "on_hand_after",
        "reserved_after",
        "reference",
        "actor",
    ]
    list_filter = ["kind", "created_at", "stock__warehouse"]
    list_select_related = ["stock__sku", "stock__warehouse", "actor"]
    search_fields = ["stock__sku__code", "reference", "reason"]
    date_hierarchy = "created_at"

    @admin.display(description=_("SKU"), ordering="stock__sku__code")
    def sku(self, movement):
        return movement.stock.sku

    @admin.display(description=_("warehouse"), ordering="stock__warehouse__code")
    def warehouse(self, movement):
        return movement.stock.warehouse


class AlertStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", pgettext_lazy("stock alert", "Open")), ("closed", pgettext_lazy("stock alert", "Closed"))]

    def queryset(self, request, queryset):
        if self.value() in ("open", "closed"):
            return queryset.filter(closed_at__isnull=self.value() == "open")
        return queryset


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyAdmin):
    list_display = [
        "opened_at",
        "sku",
        "warehouse",
        "merchant",
        "available_at_open",
        "reorder_point",
        "available_now",
        "is_open",
        "closed_at",
    ]
    list_filter = [AlertStateFilter, ("merchant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["stock__sku", "stock__warehouse", "merchant"]
    search_fields = ["stock__sku__code", "stock__sku__product__title", "merchant__shop_name"]
    readonly_fields = ["available_now"]

    @admin.display(description=_("SKU"), ordering="stock__sku__code")
    def sku(self, alert):
        return alert.stock.sku

    @admin.display(description=_("warehouse"), ordering="stock__warehouse__code")
    def warehouse(self, alert):
        return alert.stock.warehouse

    @admin.display(description=_("available now"))
    def available_now(self, alert):
        return alert.stock.available

    @admin.display(description=_("open"), boolean=True, ordering="closed_at")
    def is_open(self, alert):
        return alert.closed_at is None
