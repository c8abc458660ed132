"""Operations' screen of coupons: who holds which coupon of which promotion, its state and the
order it was used on. Read-only: coupons are written by the services only (claimed, used at
checkout, given back on an unpaid cancellation, expired by the periodic job)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ReadOnlyAdmin, when

from ..choices import PromotionChannel
from ..models import Coupon, Promotion


class CouponPromotionFilter(admin.SimpleListFilter):
    """The coupon promotions, newest first (not the promotion admin's queue ordering, which
    its own list annotates)."""

    title = _("promotion")
    parameter_name = "promotion"

    def lookups(self, request, model_admin):
        rows = Promotion.objects.filter(channel=PromotionChannel.COUPON).order_by("-pk").values_list("pk", "name")
        return [(str(pk), name) for pk, name in rows]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(promotion_id=int(value))


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["code", "promotion", "buyer", "state", "claimed", "used", "order_number"]
    list_filter = ["state", CouponPromotionFilter]
    list_select_related = ["promotion", "buyer"]
    search_fields = ["code", "buyer__email"]
    ordering = ["-claimed_at", "-id"]
    show_full_result_count = False

    @admin.display(description=_("claimed"), ordering="claimed_at")
    def claimed(self, coupon):
        return when(coupon.claimed_at)

    @admin.display(description=_("used"), ordering="used_at")
    def used(self, coupon):
        return when(coupon.used_at)
