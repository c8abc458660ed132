"""Filters of the settlements API's statement list."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from ..choices import StatementStatus
from ..models import Statement, SubsidyAccrual


class StatementFilter(django_filters.FilterSet):
    """Period (exact, "2026-10"), merchant id and status. The queryset is always the
    caller's (a selector call), so a merchant filtering by another merchant gets nothing."""

    period = django_filters.CharFilter(max_length=7, label=_("Period"))
    merchant = django_filters.NumberFilter(field_name="merchant_id", label=_("Merchant"))
    status = django_filters.ChoiceFilter(choices=StatementStatus.choices, label=_("Status"))

    class Meta:
        model = Statement
        fields: list[str] = []


class SubsidyAccrualFilter(django_filters.FilterSet):
    """The paying statement's period ("2026-10") and the accrual's state: `paid` (kept) or
    `clawed_back` (its order was fully refunded after it was paid). The queryset is always the
    caller's merchant's (a selector call)."""

    period = django_filters.CharFilter(field_name="statement__period", max_length=7, label=_("Period"))
    state = django_filters.ChoiceFilter(
        choices=[("paid", _("Paid")), ("clawed_back", _("Clawed back"))], method="filter_state", label=_("State")
    )

    class Meta:
        model = SubsidyAccrual
        fields: list[str] = []

    def filter_state(self, queryset, name, value):
        return queryset.filter(clawed_back_in__isnull=(value == "paid"))
