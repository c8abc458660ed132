"""Filters of the settlements API's statement list."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from ..choices import StatementStatus
from ..models import Statement


class StatementFilter(django_filters.FilterSet):
    """Period (exact, "2026-10"), merchant id and status. The queryset is always the
    caller's (a selector call), so a merchant filtering by another merchant gets nothing."""

    period = django_filters.CharFilter(max_length=7, label=_("Period"))
    merchant = django_filters.NumberFilter(field_name="merchant_id", label=_("Merchant"))
    status = django_filters.ChoiceFilter(choices=StatementStatus.choices, label=_("Status"))

    class Meta:
        model = Statement
        fields: list[str] = []
