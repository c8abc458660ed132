"""What settlement reads of orders: the orders selectors settlement reads through.

Settlement never imports orders' models; it reads orders here, so what it depends on is
named in one place that orders owns and keeps working when its models change.

The run's SQL. Settlement sums a month of orders in SQL (INSERT … SELECT … GROUP BY, see
`settlements/services/computation.py`). It does not spell orders' tables, columns or statuses:
it reads the rows below, as SQL that the ORM compiles here from orders' models and
`OrderStatus`, under column names that are this module's promise to settlement. A renamed
table, column or status changes the SQL with it; a removed field fails when the SQL is
compiled (FieldError), not silently in a settlement run.

Each function returns (sql, params) for a SELECT that settlement uses as a subquery in FROM;
PostgreSQL pulls such a subquery up into the outer query, so the plan is the one a
hand-written join would get (the settlement benchmark checks it).
"""

from __future__ import annotations

import datetime

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Round

from .choices import OrderStatus, PaymentStatus, RefundStatus
from .models import (
    AfterSalesRequest,
    BuyerOrder,
    MerchantOrder,
    OrderLine,
    OrderLineDiscount,
    Payment,
    Refund,
    RefundLine,
)

#: The status whose orders are settled (domain.md "Settlement": completed orders only).
SETTLEABLE_STATUS = OrderStatus.COMPLETED


def _sql(queryset: QuerySet) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def settleable_orders_sql(*, completed_before: datetime.datetime, frozen: bool) -> tuple[str, tuple]:
    """Merchant orders completed before `completed_before`, frozen by an open dispute or not.

    Columns: `order_id`, `order_merchant`, `completed`, and the order's frozen totals `goods`
    (Σ lines paid = goods total − discounts: the order's `goods_total` is the gross),
    `platform_discount`, `shipping`, `commission`, `paid` (what the buyer paid for it,
    shipping included)."""
    orders = MerchantOrder.objects.filter(
        status=SETTLEABLE_STATUS, completed_at__lt=completed_before, is_frozen=frozen
    ).order_by()
    return _sql(
        orders.values(
            order_id=F("pk"),
            order_merchant=F("merchant_id"),
            completed=F("completed_at"),
            goods=F("goods_total") - F("discount_total"),
            platform_discount=F("platform_discount_total"),
            shipping=F("shipping_fee"),
            commission=F("commission_total"),
            paid=F("paid_total"),
        )
    )


def _order_columns(prefix: str) -> dict:
    """The columns of a refund's merchant order that settlement selects refunds by."""
    return {
        "order_id": F(f"{prefix}merchant_order_id"),
        "order_merchant": F(f"{prefix}merchant_order__merchant_id"),
        "order_settleable": ExpressionWrapper(
            Q(**{f"{prefix}merchant_order__status": SETTLEABLE_STATUS}), output_field=BooleanField()
        ),
        "order_completed": F(f"{prefix}merchant_order__completed_at"),
        "refund_completed": F(f"{prefix}completed_at"),
    }


def refund_lines_sql() -> tuple[str, tuple]:
    """Every refund line of a merchant order.

    Columns: `refund_pk`, `refund_line_pk`, the refund's `refund_completed` (when it was
    decided), its order's `order_id`, `order_merchant`, `order_completed` and `order_settleable` (the order
    is in the settled status), and the line's `line_amount`, `shipping` (0: shipping is
    refunded by the refund itself, see `refund_shipping_sql`), `base_back`
    (refunded base), `discount_back` and `commission_back`.

    A group buy's difference refund (README "Promotions", settlement) is a price reduction,
    not a return: its row reads `base_back` = the merchant-funded part of the difference
    (`later_merchant_part`), `discount_back` = minus the platform-funded part (negative: the
    platform reimburses it, as it does a platform discount, rather than taking any back) and
    `commission_back` = the line's commission × merchant part / base. A later refund of R on
    that line reverses s = R / (paid − difference) of the line as the difference left it:
    base − merchant part, platform discount + platform part, commission − the commission
    returned (so a full return after the difference gives back exactly what is left). Every
    other refund line reads the shares `refunds.reversal` froze (domain.md: base, platform
    discount and commission × R / paid)."""
    # Filtered on a column of the order (never empty), so PostgreSQL joins the order inner.
    lines = RefundLine.objects.filter(refund__merchant_order__merchant__isnull=False).order_by()
    later = _group_buy_later_discount()
    lines = lines.annotate(later_merchant=later("later_merchant_part"), later_platform=later("later_platform_part"))
    is_group_buy = Q(refund__reference__startswith=GROUP_BUY_REFUND_PREFIX)
    difference = Q(is_group_buy, later_merchant__isnull=False, amount=F("later_merchant") + F("later_platform"))
    # A refund after the difference reverses its share of the line as the difference left it.
    earlier_difference = RefundLine.objects.filter(
        is_group_buy, order_line=OuterRef("order_line_id"), refund_id__lt=OuterRef("refund_id")
    )
    after = Q(later_merchant__isnull=False, after_difference=True)
    lines = lines.annotate(after_difference=Exists(earlier_difference))
    money = MerchantOrder._meta.get_field("shipping_fee")
    left_paid = F("order_line__paid") - F("later_merchant") - F("later_platform")

    def share_left(value):
        """`value` × R / the paid left after the difference, rounded half-up."""
        return Round(
            ExpressionWrapper(
                value * F("amount") / NullIf(left_paid, Value(0, output_field=money)), output_field=money
            ),
            2,
        )

    return _sql(
        lines.values(
            refund_pk=F("refund_id"),
            refund_line_pk=F("pk"),
            **_order_columns("refund__"),
            line_amount=F("amount"),
            shipping=Value(0, output_field=money),
            base_back=Case(
                When(difference, then=F("later_merchant")),
                When(after, then=share_left(F("order_line__base") - F("later_merchant"))),
                default=F("refunded_base"),
                output_field=money,
            ),
            discount_back=Case(
                When(difference, then=-F("later_platform")),
                When(after, then=share_left(F("order_line__platform_discount") + F("later_platform"))),
                default=F("platform_discount_back"),
                output_field=money,
            ),
            commission_back=Case(
                When(difference, then=_commission_on("later_merchant")),
                When(after, then=share_left(F("order_line__commission") - _commission_on("later_merchant"))),
                default=F("commission_returned"),
                output_field=money,
            ),
        )
    )


#: The reference prefix of the refunds a group buy's close issues (`group_buys.py`).
GROUP_BUY_REFUND_PREFIX = "group-buy-"


def _group_buy_later_discount():
    """A refund line's order line's group-buy discount given after placement, one part
    (`later_merchant_part` or `later_platform_part`); NULL when the line has none."""
    rows = OrderLineDiscount.objects.filter(line=OuterRef("order_line_id"), group_buy__isnull=False).order_by()
    rows = rows.filter(Q(later_merchant_part__gt=0) | Q(later_platform_part__gt=0))

    def part(field):
        return Subquery(rows.values(field)[:1], output_field=MerchantOrder._meta.get_field("shipping_fee"))

    return part


def _commission_on(field: str):
    """The line's commission on the base lowered by `field` (a price reduction, not a
    return): commission × `field` / base, rounded half-up to the cent (PostgreSQL's ROUND
    on numeric rounds halves away from zero; the amounts are positive)."""
    money = MerchantOrder._meta.get_field("shipping_fee")
    share = ExpressionWrapper(
        F("order_line__commission") * F(field) / NullIf(F("order_line__base"), Value(0, output_field=money)),
        output_field=money,
    )
    return Coalesce(Round(share, 2), Value(0, output_field=money), output_field=money)


def refund_shipping_sql() -> tuple[str, tuple]:
    """The shipping part of the refunds of merchant orders that give shipping back: the same
    columns as `refund_lines_sql`, with `refund_line_pk` empty and only `shipping` non-zero."""
    money = MerchantOrder._meta.get_field("shipping_fee")
    refunds = Refund.objects.filter(merchant_order__merchant__isnull=False, shipping_amount__gt=0).order_by()
    return _sql(
        refunds.values(
            refund_pk=F("pk"),
            refund_line_pk=Cast(Value(None), output_field=BigIntegerField()),
            **_order_columns(""),
            line_amount=Value(0, output_field=money),
            shipping=F("shipping_amount"),
            base_back=Value(0, output_field=money),
            discount_back=Value(0, output_field=money),
            commission_back=Value(0, output_field=money),
        )
    )


def subsidy_orders_sql(*, carriers: list[str], refunds_before: datetime.datetime) -> tuple[str, tuple]:
    """Merchant orders as the per-order subsidies read them (issue #14, logistics subsidy).

    Columns: `order_id`, `order_merchant`, `completed`, `shipped` (the order's shipping
    time), `designated` (it shipped with one of `carriers`, compared trimmed and upper-case),
    `special` (a line's category is fresh or cross-border) and `fully_refunded` (refund
    lines completed before `refunds_before` give back all its goods paid).

    `designated` and `special` are the order's own columns (`shipped_carrier`, written by the
    ship transition, and `has_special_category`, written at placement): the run reads no
    shipment line nor order line for them."""
    refunded = (
        RefundLine.objects.filter(refund__merchant_order=OuterRef("pk"), refund__completed_at__lt=refunds_before)
        .order_by()
        .values("refund__merchant_order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = MerchantOrder._meta.get_field("paid_total")
    codes = sorted({MerchantOrder.carrier_code(c) for c in carriers} - {""})
    orders = MerchantOrder.objects.order_by().annotate(
        designated=ExpressionWrapper(Q(shipped_carrier__in=codes), output_field=BooleanField())
        if codes
        else Value(False, output_field=BooleanField()),
        goods_refunded=Coalesce(Subquery(refunded, output_field=money), Value(0, output_field=money)),
    )
    return _sql(
        orders.values(
            "designated",
            order_id=F("pk"),
            order_merchant=F("merchant_id"),
            completed=F("completed_at"),
            shipped=F("shipped_at"),
            special=F("has_special_category"),
            fully_refunded=ExpressionWrapper(
                Q(goods_total__gt=F("discount_total")) & Q(goods_refunded__gte=F("goods_total") - F("discount_total")),
                output_field=BooleanField(),
            ),
        )
    )


# --- Read by settlement's selectors and reconciliation ------------------------------------


def merchant_orders_with_line_sums() -> QuerySet[MerchantOrder]:
    """Merchant orders, each with `goods` (Σ paid), `platform_discount` and `commission`
    summed from its frozen order lines (the figures a statement's lines are summed from).

    The sums are correlated subqueries rather than a GROUP BY over the joined lines: a page
    computes them for its own rows only, and counting the pages touches no line."""

    def line_sum(field):
        lines = OrderLine.objects.filter(merchant_order=OuterRef("pk")).order_by()
        return Subquery(lines.values("merchant_order").annotate(total=Sum(field)).values("total"))

    return MerchantOrder.objects.annotate(
        goods=line_sum("paid"), platform_discount=line_sum("platform_discount"), commission=line_sum("commission")
    )


def disputed_after_sales() -> QuerySet[AfterSalesRequest]:
    """After-sales requests that went to a dispute, with the dispute, oldest first."""
    return (
        AfterSalesRequest.objects.filter(dispute__isnull=False).select_related("dispute").order_by("created_at", "id")
    )


def payments_succeeded_between(start: datetime.datetime, end: datetime.datetime) -> QuerySet[Payment]:
    """Gateway payments captured in [start, end)."""
    return Payment.objects.filter(status=PaymentStatus.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end)


def buyer_orders_paid_between(start: datetime.datetime, end: datetime.datetime) -> QuerySet[BuyerOrder]:
    """Buyer orders paid in [start, end)."""
    return BuyerOrder.objects.filter(paid_at__gte=start, paid_at__lt=end)


def merchant_order_refunds_between(start: datetime.datetime, end: datetime.datetime) -> QuerySet[Refund]:
    """Refunds of merchant orders decided in [start, end), as settlement counts them (from
    `completed_at`), with their lines. A late payment given back whole (no merchant order)
    is not one of them."""
    return Refund.objects.filter(
        merchant_order__isnull=False, completed_at__gte=start, completed_at__lt=end
    ).prefetch_related("lines")


# --- Read by the ledger (settlements/services/ledger_sources.py) ----------------------------


def payments_captured() -> QuerySet[Payment]:
    """Every payment the gateway captured, whatever happened next: succeeded, or captured
    after its order was cancelled and refunded whole (`refunded`, with `succeeded_at` set)."""
    return Payment.objects.filter(
        status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED], succeeded_at__isnull=False
    )


def refunds_returned() -> QuerySet[Refund]:
    """Every refund whose money the gateway returned to the buyer (status succeeded)."""
    return Refund.objects.filter(status=RefundStatus.SUCCEEDED, succeeded_at__isnull=False)
