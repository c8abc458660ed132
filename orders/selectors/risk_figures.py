"""Per-merchant order figures over a window, for risk's alert jobs: one aggregate query each
over every merchant (never a query per merchant)."""

from __future__ import annotations

import datetime

from django.db.models import Count, F, Q

from ..choices import AfterSalesKind
from ..models import AfterSalesRequest, Complaint, MerchantOrder


def orders_paid_by_merchant(*, since: datetime.datetime, until: datetime.datetime) -> dict[int, int]:
    """Merchant orders paid in [since, until), counted by merchant id."""
    rows = (
        MerchantOrder.objects.filter(paid_at__gte=since, paid_at__lt=until)
        .order_by()
        .values("merchant_id")
        .annotate(n=Count("id"))
        .values_list("merchant_id", "n")
    )
    return dict(rows)


def complaints_by_merchant(*, since: datetime.datetime, until: datetime.datetime) -> dict[int, int]:
    """Complaints made in [since, until), counted by merchant id."""
    rows = (
        Complaint.objects.filter(created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("merchant_id")
        .annotate(n=Count("id"))
        .values_list("merchant_id", "n")
    )
    return dict(rows)


def returns_by_merchant(*, since: datetime.datetime, until: datetime.datetime) -> dict[int, int]:
    """Return-and-refund requests (goods sent back; refund-only requests are not returns) opened
    in [since, until), counted by merchant id."""
    rows = (
        AfterSalesRequest.objects.filter(kind=AfterSalesKind.RETURN_REFUND, created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("merchant_order__merchant_id")
        .annotate(n=Count("id"))
        .values_list("merchant_order__merchant_id", "n")
    )
    return dict(rows)


def shipping_on_time_by_merchant(
    *, since: datetime.datetime, until: datetime.datetime, promised_hours: int
) -> dict[int, tuple[int, int]]:
    """For merchant orders paid in [since, until) whose promised shipping time has passed by
    `until`: (orders due, shipped on time), by merchant id. An order not shipped by its promised
    time counts as due and late."""
    promised = datetime.timedelta(hours=promised_hours)
    rows = (
        MerchantOrder.objects.filter(paid_at__gte=since, paid_at__lt=until - promised)
        .order_by()
        .values("merchant_id")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=Q(shipped_at__isnull=False, shipped_at__lte=F("paid_at") + promised)),
        )
        .values_list("merchant_id", "due", "on_time")
    )
    return {merchant_id: (due, on_time) for merchant_id, due, on_time in rows}
