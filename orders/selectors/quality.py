"""The figures of merchant quality (risk's credit rating, quarterly evaluation and renewal,
issue #15), aggregated in SQL: one query per merchant and window, whatever its order count."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
)

from ..choices import AfterSalesKind, AfterSalesStatus, OrderStatus
from ..models import AfterSalesRequest, Complaint, MerchantOrder, Review

#: A return counts once the merchant accepted it (the goods are on their way back or refunded).
ACCEPTED_RETURN_STATES = (AfterSalesStatus.AWAITING_RETURN, AfterSalesStatus.REFUNDED)


@dataclass(frozen=True)
class OrderQuality:
    """Counts over the merchant orders paid in a window.

    `orders`: paid in the window. `shipments_due`: of those, shipped, or not cancelled and
    past their shipping deadline at the window's end (an order still within its deadline is
    not judged yet; one cancelled unshipped was never shipped late). `shipped_on_time`:
    shipped by its deadline (paid + promised hours). `returned`: with an accepted return.
    `complained`: with at least one complaint. `quality_passed`: neither an accepted return
    nor a complaint in `quality_complaints`."""

    orders: int
    shipments_due: int
    shipped_on_time: int
    returned: int
    complained: int
    quality_passed: int


def merchant_order_quality(
    *,
    merchant_id: int,
    paid_from: datetime.datetime,
    paid_until: datetime.datetime,
    promised_hours: int,
    quality_complaints: tuple[str, ...] = (),
) -> OrderQuality:
    """The quality counts (`OrderQuality`) of `merchant_id`'s orders paid in
    [`paid_from`, `paid_until`), in one aggregate query."""
    deadline = ExpressionWrapper(
        F("paid_at") + Value(datetime.timedelta(hours=promised_hours)), output_field=DateTimeField()
    )
    returned = Exists(
        AfterSalesRequest.objects.filter(
            merchant_order=OuterRef("pk"), kind=AfterSalesKind.RETURN_REFUND, status__in=ACCEPTED_RETURN_STATES
        )
    )
    complained = Exists(Complaint.objects.filter(merchant_order=OuterRef("pk")))
    quality_complained = Exists(
        Complaint.objects.filter(merchant_order=OuterRef("pk"), category__in=quality_complaints)
    )
    rows = (
        MerchantOrder.objects.filter(merchant_id=merchant_id, paid_at__gte=paid_from, paid_at__lt=paid_until)
        .annotate(deadline=deadline, is_returned=returned, is_complained=complained, is_failed=quality_complained)
        .aggregate(
            orders=Count("pk"),
            shipments_due=Count(
                "pk",
                filter=Q(shipped_at__isnull=False) | (~Q(status=OrderStatus.CANCELLED) & Q(deadline__lte=paid_until)),
            ),
            shipped_on_time=Count("pk", filter=Q(shipped_at__isnull=False, shipped_at__lte=F("deadline"))),
            returned=Count("pk", filter=Q(is_returned=True)),
            complained=Count("pk", filter=Q(is_complained=True)),
            quality_passed=Count("pk", filter=Q(is_returned=False, is_failed=False)),
        )
    )
    return OrderQuality(**rows)


def merchant_review_figures(
    *, merchant_id: int, created_from: datetime.datetime, created_until: datetime.datetime
) -> tuple[int, Decimal | None]:
    """(number of reviews, their average rating unrounded or None) of `merchant_id` written
    in [`created_from`, `created_until`). A review operations hid (a malicious bad review,
    arbitrated) counts for nothing, as it leaves the shop's shown average."""
    row = Review.objects.filter(
        merchant_id=merchant_id, created_at__gte=created_from, created_at__lt=created_until, is_hidden=False
    ).aggregate(count=Count("pk"), average=Avg("rating", output_field=DecimalField()))
    return row["count"], row["average"]


def merchant_gmv(*, merchant_id: int, paid_from: datetime.datetime, paid_until: datetime.datetime) -> Decimal:
    """What buyers paid for `merchant_id`'s orders paid in [`paid_from`, `paid_until`),
    orders cancelled since excluded (refunds are not deducted: GMV is the gross figure)."""
    total = (
        MerchantOrder.objects.filter(merchant_id=merchant_id, paid_at__gte=paid_from, paid_at__lt=paid_until)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(total=Sum("paid_total"))["total"]
    )
    return total or Decimal("0.00")
