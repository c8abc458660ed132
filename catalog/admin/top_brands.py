"""Staff screen of each category's leading brands (the TOP50 lists the operations dashboard
measures coverage against), edited through `catalog.services.top_brands`."""

from __future__ import annotations

from django.contrib import admin

from marketplace.admin_tools import ServiceEditAdmin

from .. import services
from ..models import TopBrand


@admin.register(TopBrand)
class TopBrandAdmin(ServiceEditAdmin, admin.ModelAdmin):
    list_display = ["name", "category", "rank"]
    list_filter = ["category"]
    search_fields = ["name", "category__name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    ordering = ["category__name", "rank"]

    def create(self, request, fields):
        return services.top_brand_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.top_brand_update(top_brand=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.top_brands_delete(top_brands=objs, actor=request.user)
