"""Filters of merchants, shared by the API and the HTML lists."""

from __future__ import annotations

import django_filters

from .choices import MerchantStatus
from .models import Merchant


class MerchantFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MerchantStatus.choices)

    class Meta:
        model = Merchant
        fields = ["status"]
