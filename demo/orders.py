"""Demo orders for `make run`: the three demo buyers' orders of the four live demo merchants
over the last three months, in every merchant order state, with their payments, parcels,
refunds, after-sales requests, one open dispute, reviews and a complaint.

Everything goes through the orders services (checkout_place, payment_start and a signed
sandbox callback, merchant_order_ship, merchant_order_confirm_receipt, the after-sales and
refund services, …), so the data obeys the production rules: stock is reserved, shipped and
returned, lines freeze their commission, refunds reverse it. The services stamp their rows
with `timezone.now()`; the demo moves that clock (`clock`, with unittest.mock) to the moment
each step happens, so placed, paid, shipped and completed dates look real.

Completion dates are chosen for the settlements demo (demo/settlements.py), which
settles the two calendar months before the current one (`demo_periods`). With T + days (the
contract's settlement days, 15 by default) an order completed before
`settleable_cutoff(period, days)` is settled in that period:
- "first" orders are completed in the first month, before its cutoff (settled in it);
- "second" orders between the first month's cutoff and the second's (settled in the second);
- "recent" orders after that (settled by next month's run).
Special cases: a return received and refunded in the first month (settled with its order), a
partial refund in the second month of an order settled in the first (a clawback), an open
dispute on a "second" order (listed as frozen, not paid), a rejected request with a
complaint, a return waiting for the goods, a request waiting for the merchant, and orders
waiting for payment, paid, shipped, delivered and cancelled (unpaid; paid and refunded).

Idempotent: when buyer1@demo.local has any order, the step creates nothing.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from django.utils import timezone

from catalog.choices import WarehouseKind
from catalog.models import SKU, Stock, Warehouse
from demo.catalog import SHOPS
from marketplace.money import quantize
from marketplace.sandbox import sandbox_enabled
from merchants.choices import MerchantStatus
from merchants.models import Merchant
from merchants.selectors import current_contract
from orders import services
from orders.gateways import sandbox
from orders.models import Address, BuyerOrder, MerchantOrder, OrderLine, ShipmentLine, ShippingRate
from settlements.periods import Period, local_midnight, settleable_cutoff

#: When this buyer has an order, the orders demo has run.
MARKER_BUYER = "buyer1@demo.local"

# One saved address per demo buyer, in three regions (stock ships from the nearest warehouses).
ADDRESSES = {
    "buyer1@demo.local": {
        "recipient": "李娜",
        "phone": "13800000001",
        "region": "east",
        "province": "上海市",
        "city": "上海市",
        "district": "浦东新区",
        "line": "世纪大道 1198 号 2 栋 1602 室",
        "postcode": "200122",
    },
    "buyer2@demo.local": {
        "recipient": "王伟",
        "phone": "13800000002",
        "region": "north",
        "province": "北京市",
        "city": "北京市",
        "district": "朝阳区",
        "line": "建国路 88 号 SOHO 现代城 5 号楼 1203 室",
        "postcode": "100022",
    },
    "buyer3@demo.local": {
        "recipient": "张敏",
        "phone": "13800000003",
        "region": "south",
        "province": "广东省",
        "city": "广州市",
        "district": "天河区",
        "line": "天河路 385 号太古汇公寓 A 座 908 室",
        "postcode": "510620",
    },
}

# Shipping fees two shops set in their portal before these orders (the others keep the
# platform default: ¥8.00, free from ¥99.00): (flat fee, free from or None for never).
SHIPPING_RATES = {"merchant2@demo.local": ("10.00", "999.00"), "merchant4@demo.local": ("15.00", None)}

CARRIERS = [("顺丰速运", "SF"), ("中通快递", "ZTO"), ("圆通速递", "YT"), ("京东物流", "JDVA"), ("韵达快递", "YD")]

# Completed orders per window (see the module docstring).
WINDOW_ORDERS = {"first": 12, "second": 14, "recent": 8}

REVIEWS = [
    (5, "质量很好，做工精细，和描述的一样，物流也很快，好评！"),
    (4, "整体不错，包装完好，就是快递慢了一天。"),
    (5, "第二次回购了，一如既往的好用，推荐给家人朋友。"),
    (3, "东西还可以，但颜色和图片有一点色差，凑合用吧。"),
    (5, "客服态度很好，耐心解答问题，发货速度快。"),
    (4, "性价比高，用了一周没发现问题，满意。"),
    (5, "包装很用心，送人很有面子，对方很喜欢。"),
    (3, "质量一般，价格偏高，希望商家改进。"),
    (4, "尺寸合适，材质摸起来舒服，会继续关注店铺。"),
    (5, "非常满意，比实体店便宜，正品有保障。"),
]


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    """Run the services as if it were `moment` (every `timezone.now()` returns it)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def demo_periods(today: datetime.date | None = None) -> tuple[Period, Period]:
    """The two settled demo months: the two calendar months before the current one."""
    today = today or timezone.localdate()
    second = Period(today.year, today.month).previous
    return second.previous, second


def demo_tax_year(today: datetime.date | None = None) -> int:
    """The tax year of the demo's tax rebate (demo/subsidies.py): the calendar year before the
    first demo month's, so it has ended by then and its December settles before the demo months
    (usually last year; in January and February the year before)."""
    first, _second = demo_periods(today)
    return first.year - 1


def settlement_days(merchant: Merchant) -> int:
    contract = current_contract(merchant)
    return contract.settlement_days if contract else settings.DEFAULT_SETTLEMENT_DAYS


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return local_midnight(day) + timedelta(hours=hour, minutes=minute)


def _day(period: Period, day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return _at(period.first_day + timedelta(days=day - 1), hour, minute)


@dataclass
class Plan:
    """When each step of an order happens (None: it does not happen)."""

    placed: datetime.datetime
    paid: datetime.datetime | None = None
    shipped: datetime.datetime | None = None
    delivered: datetime.datetime | None = None
    completed: datetime.datetime | None = None


@dataclass
class _Context:
    rng: random.Random
    now: datetime.datetime
    buyers: list
    addresses: dict[int, Address]
    merchants: list[Merchant]
    skus: dict[int, list[SKU]]
    available: dict[int, int]
    created: int = 0
    completed: list[MerchantOrder] = field(default_factory=list)

    def merchant(self, n: int) -> Merchant:
        return self.merchants[n % len(self.merchants)]

    def buyer(self, n: int):
        return self.buyers[n % len(self.buyers)]


def _backwards(rng: random.Random, completed: datetime.datetime, *, delivered: bool = True) -> Plan:
    """A plausible journey ending with the buyer confirming receipt at `completed`."""
    delivered_at = completed - timedelta(hours=rng.randint(4, 60))
    shipped = delivered_at - timedelta(hours=rng.randint(20, 72))
    paid = shipped - timedelta(hours=rng.randint(2, 30))
    return Plan(
        placed=paid - timedelta(minutes=rng.randint(1, 12)),
        paid=paid,
        shipped=shipped,
        delivered=delivered_at if delivered else None,
        completed=completed,
    )


def _items(ctx: _Context, merchant: Merchant, lines: int) -> list[services.CheckoutItem]:
    """Up to `lines` SKUs of the merchant with stock to spare."""
    choices = [sku for sku in ctx.skus.get(merchant.pk, []) if ctx.available[sku.pk] >= 6]
    items = []
    for sku in ctx.rng.sample(choices, min(lines, len(choices))):
        quantity = ctx.rng.choice((1, 1, 1, 2, 2, 3))
        ctx.available[sku.pk] -= quantity
        items.append(services.CheckoutItem(sku.pk, quantity))
    return items


def _pay(order: BuyerOrder) -> None:
    """Pay through the sandbox gateway: a payment, then its signed success callback."""
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    outcome = services.gateway_event_process(gateway="sandbox", event=event)
    if outcome != "paid":
        raise RuntimeError(f"demo payment of {order.number} failed: {outcome}")


def _order(ctx: _Context, buyer, merchants: list[Merchant], plan: Plan, *, lines: int = 0) -> list[MerchantOrder]:
    """Place an order with items of `merchants` and take each merchant order through `plan`."""
    items = [item for m in merchants for item in _items(ctx, m, lines or ctx.rng.choice((1, 1, 2)))]
    if not items:
        return []
    with clock(plan.placed):
        order = services.checkout_place(buyer=buyer, address=ctx.addresses[buyer.pk], items=items)
    ctx.created += 1
    if plan.paid:
        with clock(plan.paid):
            _pay(order)
    merchant_orders = list(order.merchant_orders.select_related("merchant__owner").order_by("pk"))
    for n, merchant_order in enumerate(merchant_orders):
        later = timedelta(hours=3 * n)  # the second shop of an order ships a little later
        if plan.shipped:
            carrier, prefix = ctx.rng.choice(CARRIERS)
            with clock(plan.shipped + later):
                services.merchant_order_ship(
                    order=merchant_order,
                    merchant=merchant_order.merchant,
                    actor=merchant_order.merchant.owner,
                    carrier=carrier,
                    tracking_number=f"{prefix}{ctx.rng.randint(10**11, 10**12 - 1)}",
                )
        if plan.delivered:
            with clock(plan.delivered + later):
                services.merchant_order_deliver(order=merchant_order)
        if plan.completed:
            with clock(plan.completed + later):
                services.merchant_order_confirm_receipt(order=merchant_order, actor=buyer)
    return list(MerchantOrder.objects.filter(pk__in=[m.pk for m in merchant_orders]).order_by("pk"))


def _single(ctx: _Context, buyer, merchant: Merchant, plan: Plan) -> MerchantOrder | None:
    """An order of one line from one shop (None when it has nothing in stock)."""
    orders = _order(ctx, buyer, [merchant], plan, lines=1)
    return orders[0] if orders else None


def _windows(ctx: _Context) -> dict[str, tuple[datetime.date, datetime.date]]:
    """The completion dates (first, last) of each window of the module docstring."""
    first, second = demo_periods(timezone.localdate(ctx.now))
    days = {settlement_days(m) for m in ctx.merchants}
    first_cutoffs = [settleable_cutoff(first, d).date() for d in days]
    second_cutoffs = [settleable_cutoff(second, d).date() for d in days]
    one = timedelta(days=1)
    return {
        "first": (first.first_day, min(first_cutoffs) - one),
        "second": (max(first_cutoffs), min(second_cutoffs) - one),
        "recent": (max(second_cutoffs), timezone.localdate(ctx.now) - 2 * one),
    }


def _completed_orders(ctx: _Context) -> int:
    """Completed orders spread over the three windows, every merchant in each; one in five
    buys from two shops at once (one buyer order, two merchant orders)."""
    n = 0
    for window, (low, high) in _windows(ctx).items():
        for _k in range(WINDOW_ORDERS[window]):
            day = low + timedelta(days=ctx.rng.randint(0, max(0, (high - low).days)))
            completed = _at(day, ctx.rng.randint(9, 17), ctx.rng.randint(0, 59))
            merchants = [ctx.merchant(n)]
            if ctx.rng.random() < 0.2 and len(ctx.merchants) > 1:
                merchants.append(ctx.merchant(n + 1 + ctx.rng.randrange(len(ctx.merchants) - 1)))
            plan = _backwards(ctx.rng, completed, delivered=ctx.rng.random() < 0.85)
            ctx.completed.extend(_order(ctx, ctx.buyer(n), merchants, plan))
            n += 1
    return n


def _line_amount(line: OrderLine, quantity: int) -> Decimal:
    """The paid amount of `quantity` units of the line."""
    return quantize(line.paid * quantity / line.quantity)


def _return_warehouse(merchant: Merchant, line: OrderLine) -> Warehouse:
    own = Warehouse.objects.filter(merchant=merchant, kind=WarehouseKind.MERCHANT, is_active=True).first()
    if own is not None:
        return own
    return ShipmentLine.objects.select_related("shipment__warehouse").filter(order_line=line).first().shipment.warehouse


def _return_refunded_in_first_month(ctx: _Context, first: Period) -> None:
    """A return received and refunded within the first month: settled with its order there."""
    buyer = ctx.buyer(1)
    order = _single(ctx, buyer, ctx.merchant(1), _backwards(ctx.rng, _day(first, 2, 20)))
    if order is not None:
        owner = order.merchant.owner
        line = order.lines.first()
        with clock(_day(first, 4, 10)):
            request = services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="return_refund",
                reason="尺码偏小，穿着不合身，申请退货退款。",
                items=[(line.pk, 1, _line_amount(line, 1))],
            )
        with clock(_day(first, 4, 15, 30)):
            services.after_sales_accept(
                request=request, merchant=order.merchant, actor=owner, note="同意退货，请保持吊牌完好并寄回。"
            )
        with clock(_day(first, 9, 11)):
            services.after_sales_return_received(
                request=request,
                merchant=order.merchant,
                actor=owner,
                warehouse=_return_warehouse(order.merchant, line),
            )


def _clawback_in_second_month(ctx: _Context, first: Period, second: Period) -> None:
    """A partial refund in the second month of an order settled in the first: a clawback."""
    buyer = ctx.buyer(0)
    order = _single(ctx, buyer, ctx.merchant(0), _backwards(ctx.rng, _day(first, 6, 19)))
    if order is not None:
        line = order.lines.first()
        with clock(_day(second, 8, 9, 30)):
            request = services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="refund",
                reason="收到后发现外壳有明显划痕，不影响使用，申请部分退款。",
                items=[(line.pk, line.quantity, quantize(line.paid * Decimal("0.2")))],
            )
        with clock(_day(second, 8, 16)):
            services.after_sales_accept(
                request=request, merchant=order.merchant, actor=order.merchant.owner, note="抱歉给您带来不便，已退款。"
            )


def _open_dispute(ctx: _Context, second: Period) -> None:
    """The open dispute: completed in the second month's window, rejected, escalated. Its money
    is frozen: the second month's statement lists it without paying it."""
    buyer = ctx.buyer(2)
    order = _single(ctx, buyer, ctx.merchant(2), _backwards(ctx.rng, _day(second, 4, 18, 30)))
    if order is not None:
        line = order.lines.first()
        with clock(_day(second, 6, 20)):
            request = services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="refund",
                reason="使用三天后无法开机，申请全额退款。",
                items=[(line.pk, line.quantity, line.paid)],
            )
        with clock(_day(second, 7, 11)):
            services.after_sales_reject(
                request=request,
                merchant=order.merchant,
                actor=order.merchant.owner,
                note="经检测为人为进水损坏，不在保修范围内。",
            )
        with clock(_day(second, 8, 9, 15)):
            services.after_sales_escalate(
                request=request, buyer=buyer, statement="机器从未进水，商家拒绝提供检测报告，请平台介入处理。"
            )


def _rejected_request_and_complaint(ctx: _Context) -> None:
    """A rejected request the buyer has not escalated (yet), and the buyer's complaint."""
    now = ctx.now
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    buyer = ctx.buyer(0)
    completed = now - 6 * day
    order = _single(ctx, buyer, ctx.merchant(3), _backwards(ctx.rng, completed))
    if order is not None:
        line = order.lines.first()
        with clock(now - 4 * day - 2 * hour):
            request = services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="return_refund",
                reason="与描述不符：实物色号与详情页差别很大。",
                items=[(line.pk, 1, _line_amount(line, 1))],
            )
        with clock(now - 3 * day - 5 * hour):
            services.after_sales_reject(
                request=request,
                merchant=order.merchant,
                actor=order.merchant.owner,
                note="色号以实物为准，详情页已注明不同屏幕存在色差。",
            )
        with clock(now - 2 * day - 3 * hour):
            services.complaint_create(
                order=order, buyer=buyer, category="not_as_described", text="商品色号与宣传图严重不符，商家拒绝退货。"
            )


def _return_awaiting_goods(ctx: _Context) -> None:
    """A return accepted and waiting for the goods (the order stays delivered: the open request
    pauses automatic completion)."""
    now = ctx.now
    day = timedelta(days=1)
    buyer = ctx.buyer(1)
    plan = Plan(
        placed=now - 8 * day,
        paid=now - 8 * day + timedelta(minutes=4),
        shipped=now - 7 * day,
        delivered=now - 5 * day,
    )
    order = _single(ctx, buyer, ctx.merchant(1), plan)
    if order is not None:
        line = order.lines.first()
        with clock(now - 2 * day):
            request = services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="return_refund",
                reason="面料洗后起球严重，申请退货退款。",
                items=[(line.pk, 1, _line_amount(line, 1))],
            )
        with clock(now - 1 * day):
            services.after_sales_accept(
                request=request,
                merchant=order.merchant,
                actor=order.merchant.owner,
                note="同意退货，请寄回我司自营仓。",
            )


def _request_awaiting_answer(ctx: _Context) -> None:
    """A request waiting for the merchant's answer (accepted automatically after 48 hours)."""
    now = ctx.now
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    buyer = ctx.buyer(2)
    order = _single(ctx, buyer, ctx.merchant(0), _backwards(ctx.rng, now - 3 * day))
    if order is not None:
        line = order.lines.first()
        with clock(now - 6 * hour):
            services.after_sales_request_create(
                order=order,
                buyer=buyer,
                kind="refund",
                reason="少发了一个配件，申请部分退款。",
                items=[(line.pk, 1, quantize(_line_amount(line, 1) * Decimal("0.1")))],
            )


def _after_sales(ctx: _Context) -> None:
    """The after-sales cases of the module docstring, each on an order of its own."""
    first, second = demo_periods(timezone.localdate(ctx.now))
    _return_refunded_in_first_month(ctx, first)
    _clawback_in_second_month(ctx, first, second)
    _open_dispute(ctx, second)
    _rejected_request_and_complaint(ctx)
    _return_awaiting_goods(ctx)
    _request_awaiting_answer(ctx)


def _open_orders(ctx: _Context) -> None:
    """Orders in every state before completion, and two cancelled ones."""
    now = ctx.now
    minute = timedelta(minutes=1)
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    m = ctx.merchant
    # Waiting for payment: placed two minutes ago, 28 minutes left to pay (then cancelled
    # automatically by the periodic job).
    _order(ctx, ctx.buyer(0), [m(3), m(0)], Plan(placed=now - 2 * minute))
    # Paid, waiting to ship.
    _order(ctx, ctx.buyer(1), [m(2)], Plan(placed=now - 20 * hour, paid=now - 20 * hour + 3 * minute))
    _order(ctx, ctx.buyer(2), [m(0), m(1)], Plan(placed=now - 2 * hour, paid=now - 2 * hour + 5 * minute))
    # Shipped.
    _order(ctx, ctx.buyer(0), [m(1)], Plan(placed=now - 3 * day, paid=now - 3 * day + minute, shipped=now - 2 * day))
    _order(ctx, ctx.buyer(2), [m(3)], Plan(placed=now - 2 * day, paid=now - 2 * day + minute, shipped=now - day))
    # Delivered, not confirmed yet.
    _order(
        ctx,
        ctx.buyer(1),
        [m(0)],
        Plan(placed=now - 6 * day, paid=now - 6 * day + 2 * minute, shipped=now - 5 * day, delivered=now - 3 * day),
    )
    # Cancelled unpaid: the payment time ran out.
    placed = now - 12 * day - 3 * hour
    order = _single(ctx, ctx.buyer(1), m(2), Plan(placed=placed))
    if order is not None:
        with clock(placed + timedelta(minutes=settings.ORDER_PAYMENT_MINUTES) + minute):
            services.buyer_order_cancel_unpaid(buyer_order=order.buyer_order, note="payment time limit passed")
    # Paid, then cancelled by the buyer before shipping: refunded in full, shipping too.
    placed = now - 9 * day - 5 * hour
    buyer = ctx.buyer(2)
    order = _single(ctx, buyer, m(1), Plan(placed=placed, paid=placed + 2 * minute))
    if order is not None:
        with clock(placed + 50 * minute):
            services.merchant_order_cancel_by_buyer(order=order, buyer=buyer, reason="拍错了颜色，重新下单。")


def _reviews(ctx: _Context) -> None:
    """Reviews of one line of every other completed order, a day or so after completion."""
    reviewed = 0
    for n, order in enumerate(ctx.completed):
        if n % 2 or reviewed == len(REVIEWS):
            continue
        line = order.lines.first()
        rating, text = REVIEWS[reviewed]
        with clock(min(order.completed_at + timedelta(hours=ctx.rng.randint(2, 30)), ctx.now)):
            services.review_create(order_line=line, buyer=order.buyer_order.buyer, rating=rating, text=text)
        reviewed += 1


def _catalog(merchants: list[Merchant]) -> tuple[dict[int, list[SKU]], dict[int, int]]:
    """The merchants' SKUs on sale with stock to sell, and their available units."""
    available = dict(
        Stock.objects.filter(
            sku__merchant__in=merchants,
            sku__is_active=True,
            sku__product__published_at__isnull=False,
            sku__product__withdrawn_at__isnull=True,
            warehouse__is_active=True,
        )
        .values("sku_id")
        .annotate(units=Sum(F("on_hand") - F("reserved")))
        .values_list("sku_id", "units")
    )
    skus: dict[int, list[SKU]] = {}
    for sku in SKU.objects.filter(pk__in=[pk for pk, units in available.items() if units >= 10]).order_by("code"):
        skus.setdefault(sku.merchant_id, []).append(sku)
    return skus, available


def seed_orders(stdout) -> int:
    """Create the demo orders; returns the number of buyer orders created."""
    buyers = list(get_user_model().objects.filter(email__in=ADDRESSES).order_by("email"))
    if len(buyers) < len(ADDRESSES) or BuyerOrder.objects.filter(buyer__email=MARKER_BUYER).exists():
        return 0
    if not sandbox_enabled():
        # The demo pays through the sandbox gateway, which the services refuse while it is off.
        stdout.write("seed_demo: orders: skipped, the sandbox gateway is off (SANDBOX_GATEWAY_ENABLED)")
        return 0
    merchants = list(
        Merchant.objects.filter(owner__email__in=[s.email for s in SHOPS], status=MerchantStatus.LIVE)
        .select_related("owner")
        .order_by("pk")
    )
    skus, available = _catalog(merchants)
    merchants = [m for m in merchants if skus.get(m.pk)]
    if not merchants:
        stdout.write("seed_demo: orders: skipped, no live demo merchant has products in stock")
        return 0
    first, _second = demo_periods()
    with clock(local_midnight(first.first_day - timedelta(days=20)) + timedelta(hours=10)):
        for merchant in merchants:
            rate = SHIPPING_RATES.get(merchant.owner.email)
            if rate and not ShippingRate.objects.filter(merchant=merchant).exists():
                services.shipping_rate_set(merchant=merchant, flat_fee=rate[0], free_over=rate[1], actor=merchant.owner)
    addresses = {}
    for buyer in buyers:
        address = Address.objects.filter(buyer=buyer).first()
        if address is None:
            address = services.address_create(buyer=buyer, data=ADDRESSES[buyer.email], make_default=True)
        addresses[buyer.pk] = address
    ctx = _Context(
        rng=random.Random("demo-orders"),  # noqa: S311 (demo data, not secrets)
        now=timezone.now(),
        buyers=buyers,
        addresses=addresses,
        merchants=merchants,
        skus=skus,
        available=available,
    )
    _completed_orders(ctx)
    _after_sales(ctx)
    _open_orders(ctx)
    _reviews(ctx)
    return ctx.created
