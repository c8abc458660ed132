"""Operations' screens of members: the levels (edited through the services, which keep the
thresholds strictly increasing from a base at ¥0), the buyers' memberships and their history
(read-only: the nightly run writes them) and the RFM analysis: a list with filters, a chart of
buyers per segment and a streamed CSV export of the filtered list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ObjectActionsMixin, ReadOnlyAdmin, ServiceEditAdmin, money, when
from marketplace.csvfiles import csv_lines
from marketplace.errors import DomainError

from .. import permissions, selectors, services
from ..models import Membership, MembershipChange, MembershipLevel, RfmScore


@admin.register(MembershipLevel)
class MembershipLevelAdmin(ServiceEditAdmin, admin.ModelAdmin):
    list_display = ["name", "code", "threshold_display", "member_count"]
    fields = ["code", "name", "threshold", "benefits"]
    ordering = ["threshold"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    def has_delete_permission(self, request, obj=None):
        # The base level (¥0) stays, as the service insists: no delete button, no delete page,
        # and the bulk delete refuses a selection holding it.
        if obj is not None and obj.threshold == 0:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        self._deleting(request, [obj])

    def delete_queryset(self, request, queryset):
        self._deleting(request, list(queryset))

    def _deleting(self, request, objs):
        try:
            self.delete(request, objs)
        except DomainError as exc:
            # Only a race gets here (another edit moved a threshold to ¥0 meanwhile).
            messages.error(request, str(exc.message))

    def create(self, request, fields):
        return services.membership_level_create(actor=request.user, **fields)

    def update(self, request, obj, changes):
        services.membership_level_update(level=obj, actor=request.user, **changes)

    def delete(self, request, objs):
        services.membership_levels_delete(levels=objs, actor=request.user)

    @admin.display(description=_("12-month spend from"), ordering="threshold")
    def threshold_display(self, level):
        return money(level.threshold)

    @admin.display(description=_("buyers"), ordering="member_count")
    def member_count(self, level):
        return level.member_count


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["buyer", "level", "spend_display", "as_of"]
    list_filter = ["level"]
    list_select_related = ["buyer", "level"]
    search_fields = ["buyer__email"]
    show_full_result_count = False

    @admin.display(description=_("goods paid in 12 months"), ordering="spend_12m")
    def spend_display(self, membership):
        return money(membership.spend_12m)

    @admin.display(description=_("as of"), ordering="computed_at")
    def as_of(self, membership):
        return when(membership.computed_at)


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdmin):
    list_display = ["buyer", "from_name", "to_name", "spend_12m", "changed_at"]
    list_select_related = ["buyer"]
    search_fields = ["buyer__email"]
    date_hierarchy = "changed_at"
    show_full_result_count = False


@admin.register(RfmScore)
class RfmScoreAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """The list shows the chart of buyers per segment above it and links the CSV export,
    which streams the rows the list's filters select."""

    change_list_template = "admin/promotions/rfmscore/change_list.html"
    list_display = ["buyer", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]
    list_filter = ["segment", "r_score", "f_score", "m_score"]
    list_select_related = ["buyer"]
    search_fields = ["buyer__email"]
    show_full_result_count = False

    def page_urls(self):
        return [self.staff_page("export/", self.export_view, "export", permissions.RFM_EXPORT)]

    def changelist_view(self, request, extra_context=None):
        counts = selectors.rfm_segment_counts()
        extra = {
            **(extra_context or {}),
            "segment_chart": {
                "type": "bar",
                "categories": [label for _value, label, _n in counts],
                "series": [{"name": gettext("Buyers"), "data": [n for _value, _label, n in counts]}],
                "unit": gettext("buyers"),
            },
            "export_url": self.page_url("export") + ("?" + request.GET.urlencode() if request.GET else ""),
        }
        return super().changelist_view(request, extra_context=extra)

    def export_view(self, request):
        """The filtered list as CSV, streamed (100,000 rows never sit in memory at once)."""
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # A filter the list does not offer: the list itself answers it (its "?e=1" page).
            return redirect(self.page_url("changelist") + "?e=1")
        language = translation.get_language()

        def rows():
            yield [
                gettext("Buyer ID"),
                gettext("E-mail"),
                gettext("Days since the last paid order"),
                gettext("Paid orders in 12 months"),
                gettext("Goods paid in 12 months"),
                "R",
                "F",
                "M",
                gettext("Segment"),
                gettext("As of"),
            ]
            for score in queryset.order_by("buyer_id").iterator(chunk_size=2000):
                yield [
                    score.buyer_id,
                    score.buyer.email,
                    score.recency_days,
                    score.frequency,
                    score.monetary,
                    score.r_score or "",
                    score.f_score or "",
                    score.m_score or "",
                    score.get_segment_display(),
                    timezone.localtime(score.computed_at).date().isoformat(),
                ]

        def lines():
            with translation.override(language):
                for line in csv_lines(rows(), bom=True):
                    yield line.encode("utf-8")

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="rfm.csv"'
        patch_cache_control(response, private=True, no_store=True)
        return response
