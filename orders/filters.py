"""Filters of orders, shared by the merchant portal's order list and the merchant API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.filters import BooleanFilter

from .choices import OrderStatus
from .models import MerchantOrder


class _MerchantOrderFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", _("The end date is before the start date."))
        return data


class MerchantOrderFilter(django_filters.FilterSet):
    """Status, placement date range (platform time zone, both days included), order number
    (the merchant order's or the buyer order's, any part of it), and the money-frozen and
    after-sales flags. The queryset is always the acting merchant's (a selector call)."""

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, empty_label=_("Any"), label=_("Status"))
    placed_from = django_filters.DateFilter(
        field_name="placed_at",
        lookup_expr="date__gte",
        label=_("Placed from"),
        widget=forms.DateInput({"type": "date"}),
    )
    placed_to = django_filters.DateFilter(
        field_name="placed_at",
        lookup_expr="date__lte",
        label=_("Placed until"),
        widget=forms.DateInput({"type": "date"}),
    )
    number = django_filters.CharFilter(method="filter_number", max_length=40, label=_("Order number"))
    is_frozen = BooleanFilter(label=_("Money frozen (dispute)"))
    after_sales_open = BooleanFilter(label=_("After-sales open"))

    class Meta:
        model = MerchantOrder
        fields: list[str] = []
        form = _MerchantOrderFilterForm

    def filter_number(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(buyer_order__number__icontains=value))
