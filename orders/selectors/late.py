"""Merchant orders shipped later than promised (settlements' late-shipment penalty rule)."""

from __future__ import annotations

import datetime

from django.db.models import F, QuerySet

from ..models import MerchantOrder


def merchant_orders_shipped_late(*, promised_hours: int, shipped_since: datetime.datetime) -> QuerySet:
    """Merchant orders shipped since `shipped_since` more than `promised_hours` after they
    were paid, oldest shipment first, as rows (id, merchant_id, number, paid_at, shipped_at)."""
    return (
        MerchantOrder.objects.filter(
            paid_at__isnull=False,
            shipped_at__gte=shipped_since,
            shipped_at__gt=F("paid_at") + datetime.timedelta(hours=promised_hours),
        )
        .order_by("shipped_at", "pk")
        .values_list("pk", "merchant_id", "number", "paid_at", "shipped_at")
    )
