"""After-sales requests are checked whole, under the order's lock, against what remains of
each line and of shipping; returned goods go back to stock once (issue #10, finding 4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Stock, StockMovement
from marketplace.models import JobFailure
from orders import services
from orders.errors import OrderConflict, OrderError
from orders.gateways import sandbox
from orders.models import AfterSalesLine, AfterSalesRequest, OrderLine, Refund
from orders.services import CheckoutItem, RefundItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db


def _shipped_order(*, lines=(("279.00", 1), ("50.00", 2)), shipping_fee=None):
    """A paid and shipped order of one merchant; `shipping_fee` sets the shop's flat fee."""
    merchant, (cat,) = live_merchant()
    if shipping_fee is not None:
        services.shipping_rate_set(merchant=merchant, flat_fee=shipping_fee, free_over=None, actor=merchant.owner)
    wh = warehouse()
    skus = []
    for n, (price, _qty) in enumerate(lines):
        sku = product(merchant, cat, skus=[{"code": f"W{n}", "price": price}]).skus.get()
        catalog_services.stock_receive(merchant=merchant, sku=sku, warehouse=wh, quantity=10, actor=merchant.owner)
        skus.append(sku)
    buyer = UserFactory()
    order = services.checkout_place(
        buyer=buyer,
        address=address_for(buyer),
        items=[CheckoutItem(s.pk, q) for s, (_p, q) in zip(skus, lines, strict=True)],
    )
    payment = services.payment_start(buyer_order=order)
    body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
    event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
    services.gateway_event_process(gateway="sandbox", event=event)
    merchant_order = order.merchant_orders.get()
    services.merchant_order_ship(
        order=merchant_order, merchant=merchant, actor=merchant.owner, carrier="SF", tracking_number="SF1"
    )
    merchant_order.refresh_from_db()
    return merchant_order, buyer, merchant, wh


def _state(order):
    """Everything a refused request must leave as it was."""
    return (
        AfterSalesRequest.objects.filter(merchant_order=order).count(),
        AfterSalesLine.objects.filter(request__merchant_order=order).count(),
        Refund.objects.filter(merchant_order=order).count(),
        sorted(OrderLine.objects.filter(merchant_order=order).values_list("pk", "refunded", "returned_quantity")),
        sorted(Stock.objects.values_list("pk", "on_hand", "reserved")),
        order.__class__.objects.filter(pk=order.pk).values_list("after_sales_open", flat=True).get(),
    )


def _legacy_request(order, buyer, kind, rows, *, hours_ago=49):
    """A request as it could be written before whole-request checks (same line twice)."""
    request = AfterSalesRequest.objects.create(
        merchant_order=order,
        buyer=buyer,
        kind=kind,
        reason="written before the fix",
        respond_by=timezone.now() - timedelta(hours=hours_ago - 48),
    )
    AfterSalesLine.objects.bulk_create(
        [AfterSalesLine(request=request, order_line=line, quantity=q, amount=Decimal(a)) for line, q, a in rows]
    )
    return request


# --- One line twice --------------------------------------------------------------------------------


def test_the_same_line_twice_is_refused_through_the_api_and_nothing_is_written():
    order, buyer, _merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    before = _state(order)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(buyer)
    item = {"order_line": line.pk, "quantity": 1, "amount": "279.00"}
    response = client.post(
        f"/api/v1/orders/merchant-orders/{order.pk}/after-sales/",
        {"kind": "refund", "reason": "Broken", "items": [item, item]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "duplicate_line",
        "message": "Each item can appear only once in a request.",
        "extra": {"line": line.pk},
    }
    assert _state(order) == before


def test_a_return_of_two_units_listed_twice_is_refused():
    order, buyer, _merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("50.00"))
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order,
            buyer=buyer,
            kind="return_refund",
            reason="Wrong colour",
            items=[(line.pk, 2, Decimal("100.00")), (line.pk, 2, Decimal("100.00"))],
        )
    assert (info.value.code, info.value.extra) == ("duplicate_line", {"line": line.pk})
    assert _state(order) == before


def test_refund_issue_refuses_the_same_line_twice():
    order, _buyer, _merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.refund_issue(
            merchant_order=order,
            items=[RefundItem(line.pk, Decimal("279.00"), 1), RefundItem(line.pk, Decimal("279.00"), 1)],
            reason="twice",
        )
    assert info.value.code == "duplicate_line"
    assert _state(order) == before


# --- What remains of a line ------------------------------------------------------------------------


def test_a_request_counts_what_was_already_refunded_on_the_line():
    order, buyer, _merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    services.refund_issue(merchant_order=order, items=[RefundItem(line.pk, Decimal("200.00"))], reason="goodwill")
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order, buyer=buyer, kind="refund", reason="Broken", items=[(line.pk, 1, Decimal("79.01"))]
        )
    assert (info.value.code, info.value.extra) == ("refund_exceeds_paid", {"line": line.pk, "max": "79.00"})
    assert _state(order) == before
    request = services.after_sales_request_create(
        order=order, buyer=buyer, kind="refund", reason="Broken", items=[(line.pk, 1, Decimal("79.00"))]
    )
    assert request.total == Decimal("79.00")


@pytest.mark.parametrize(
    ("amount", "shipping", "extra"),
    [("0.00", None, "line"), ("-1.00", None, "line"), ("1.00", "-5.00", None)],
)
def test_a_zero_or_negative_sum_is_an_invalid_amount_not_too_much(amount, shipping, extra):
    order, buyer, _merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order,
            buyer=buyer,
            kind="refund",
            reason="Broken",
            items=[(line.pk, 1, Decimal(amount))],
            shipping_amount=Decimal(shipping) if shipping else None,
        )
    assert (info.value.code, info.value.extra) == ("invalid_amount", {"line": line.pk} if extra else {})
    assert _state(order) == before


def test_goods_come_back_once_and_a_second_return_of_them_is_refused():
    order, buyer, merchant, wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("50.00"))
    request = services.after_sales_request_create(
        order=order, buyer=buyer, kind="return_refund", reason="Too big", items=[(line.pk, 2, Decimal("100.00"))]
    )
    services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner)
    on_hand = Stock.objects.get(sku=line.sku, warehouse=wh).on_hand
    services.after_sales_return_received(request=request, merchant=merchant, actor=merchant.owner, warehouse=wh)
    line.refresh_from_db()
    assert (line.returned_quantity, line.refunded) == (2, Decimal("100.00"))
    assert Stock.objects.get(sku=line.sku, warehouse=wh).on_hand == on_hand + 2

    # Nothing is left to return or refund on the line.
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order, buyer=buyer, kind="return_refund", reason="Again", items=[(line.pk, 1, Decimal("0.01"))]
        )
    assert (info.value.code, info.value.extra) == ("refund_exceeds_paid", {"line": line.pk, "max": "0.00"})
    assert _state(order) == before


def test_a_return_counts_units_already_returned():
    order, buyer, merchant, wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("50.00"))
    first = services.after_sales_request_create(
        order=order, buyer=buyer, kind="return_refund", reason="One broke", items=[(line.pk, 1, Decimal("10.00"))]
    )
    services.after_sales_accept(request=first, merchant=merchant, actor=merchant.owner)
    services.after_sales_return_received(request=first, merchant=merchant, actor=merchant.owner, warehouse=wh)
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order, buyer=buyer, kind="return_refund", reason="Both", items=[(line.pk, 2, Decimal("20.00"))]
        )
    assert (info.value.code, info.value.extra) == ("return_exceeds_shipped", {"line": line.pk, "max": 1})
    assert _state(order) == before
    services.after_sales_request_create(
        order=order, buyer=buyer, kind="return_refund", reason="The other", items=[(line.pk, 1, Decimal("20.00"))]
    )


def test_restocking_twice_is_refused_by_the_service_and_by_the_database():
    order, buyer, merchant, wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("50.00"))
    request = services.after_sales_request_create(
        order=order, buyer=buyer, kind="return_refund", reason="Too big", items=[(line.pk, 2, Decimal("100.00"))]
    )
    services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner)
    services.after_sales_return_received(request=request, merchant=merchant, actor=merchant.owner, warehouse=wh)

    # Forced back to "awaiting return" (a bug elsewhere, a hand edit): no second restock.
    AfterSalesRequest.objects.filter(pk=request.pk).update(status="awaiting_return", refund=None)
    before = _state(order)
    movements = StockMovement.objects.count()
    with pytest.raises(OrderConflict) as info:
        services.after_sales_return_received(request=request, merchant=merchant, actor=merchant.owner, warehouse=wh)
    assert (info.value.code, info.value.extra) == ("return_exceeds_shipped", {"line": line.pk, "max": 0})
    assert (_state(order), StockMovement.objects.count()) == (before, movements)

    # And a write that skips the service check fails in the database.
    with pytest.raises(IntegrityError) as db_info, transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(returned_quantity=F("returned_quantity") + 1)
    assert "order_line_returned_within_shipped" in str(db_info.value)
    line.refresh_from_db()
    assert line.returned_quantity == 2


def test_a_legacy_return_listing_a_line_twice_cannot_restock_more_than_shipped():
    order, buyer, merchant, wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("50.00"))
    request = _legacy_request(order, buyer, "return_refund", [(line, 2, "50.00"), (line, 2, "50.00")])
    AfterSalesRequest.objects.filter(pk=request.pk).update(status="awaiting_return")
    before = _state(order)
    with pytest.raises(OrderConflict) as info:
        services.after_sales_return_received(request=request, merchant=merchant, actor=merchant.owner, warehouse=wh)
    assert (info.value.code, info.value.extra) == ("return_exceeds_shipped", {"line": line.pk, "max": 2})
    assert _state(order) == before


# --- Shipping ----------------------------------------------------------------------------------------


def test_a_request_counts_shipping_already_refunded():
    order, buyer, merchant, _wh = _shipped_order(shipping_fee="10.00")
    assert order.shipping_fee == Decimal("10.00")
    services.refund_issue(merchant_order=order, items=[], shipping_amount=Decimal("6.00"), reason="late parcel")
    line = order.lines.get(unit_price=Decimal("279.00"))
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_request_create(
            order=order,
            buyer=buyer,
            kind="refund",
            reason="Broken",
            items=[(line.pk, 1, Decimal("279.00"))],
            shipping_amount=Decimal("10.00"),
        )
    assert (info.value.code, info.value.extra) == ("shipping_refund_too_large", {"max": "4.00"})
    assert _state(order) == before
    request = services.after_sales_request_create(
        order=order,
        buyer=buyer,
        kind="refund",
        reason="Broken",
        items=[(line.pk, 1, Decimal("279.00"))],
        shipping_amount=Decimal("4.00"),
    )
    services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner)
    request.refresh_from_db()
    assert (request.status, request.refund.amount, request.refund.shipping_amount) == (
        "refunded",
        Decimal("283.00"),
        Decimal("4.00"),
    )


# --- Accepting checks again -----------------------------------------------------------------------------


def test_accepting_a_request_that_no_longer_fits_is_refused_with_its_code():
    order, buyer, merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    request = services.after_sales_request_create(
        order=order, buyer=buyer, kind="refund", reason="Broken", items=[(line.pk, 1, Decimal("279.00"))]
    )
    # Refunded meanwhile by another way (e.g. staff): the request asks more than remains.
    services.refund_issue(merchant_order=order, items=[RefundItem(line.pk, Decimal("100.00"))], reason="staff")
    before = _state(order)
    with pytest.raises(OrderError) as info:
        services.after_sales_accept(request=request, merchant=merchant, actor=merchant.owner)
    assert (info.value.code, info.value.extra) == ("refund_exceeds_paid", {"line": line.pk, "max": "179.00"})
    assert _state(order) == before
    request.refresh_from_db()
    assert request.status == "open"


def test_a_legacy_duplicated_request_is_refused_at_acceptance_not_a_server_error():
    order, buyer, merchant, _wh = _shipped_order()
    line = order.lines.get(unit_price=Decimal("279.00"))
    request = _legacy_request(order, buyer, "refund", [(line, 1, "279.00"), (line, 1, "279.00")])
    before = _state(order)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(merchant.owner)
    response = client.post(f"/api/v1/orders/after-sales/{request.pk}/accept/", {}, format="json")
    assert (response.status_code, response.json()["code"], response.json()["extra"]) == (
        400,
        "refund_exceeds_paid",
        {"line": line.pk, "max": "279.00"},
    )
    assert _state(order) == before


# --- The nightly auto-accept goes on past a request it cannot accept ----------------------------------------


def test_auto_accept_records_a_request_it_cannot_accept_and_accepts_the_others():
    # The poisoned request is the oldest: before, it failed every run and blocked the others.
    bad_order, bad_buyer, _m, _w = _shipped_order()
    bad_line = bad_order.lines.get(unit_price=Decimal("279.00"))
    poisoned = _legacy_request(
        bad_order, bad_buyer, "refund", [(bad_line, 1, "279.00"), (bad_line, 1, "279.00")], hours_ago=60
    )
    valid = []
    for _n in range(2):
        order, buyer, _merchant, _wh = _shipped_order()
        line = order.lines.get(unit_price=Decimal("50.00"))
        valid.append(
            services.after_sales_request_create(
                order=order, buyer=buyer, kind="refund", reason="Late", items=[(line.pk, 1, Decimal("5.00"))]
            )
        )
    later = timezone.now() + timedelta(hours=49)
    with translation.override("en"):
        assert services.accept_overdue_requests(now=later) == 2
    assert [AfterSalesRequest.objects.get(pk=r.pk).status for r in valid] == ["refunded", "refunded"]
    assert AfterSalesRequest.objects.get(pk=poisoned.pk).status == "open"
    failure = JobFailure.objects.get()
    assert (
        failure.job,
        failure.object_type,
        failure.object_id,
        failure.code,
        failure.message,
        failure.count,
        failure.resolved_at,
    ) == (
        "orders.accept_overdue_requests",
        "orders.aftersalesrequest",
        str(poisoned.pk),
        "refund_exceeds_paid",
        "At most ¥279.00 can still be refunded on this line.",
        1,
        None,
    )
    assert Refund.objects.filter(merchant_order=bad_order).count() == 0

    # The next run fails again on it only: counted on the same row.
    assert services.accept_overdue_requests(now=later) == 0
    failure.refresh_from_db()
    assert (JobFailure.objects.count(), failure.count, failure.resolved_at) == (1, 2, None)

    # Staff correct the request (one line); the next run accepts it and resolves the row.
    AfterSalesLine.objects.filter(request=poisoned).order_by("-pk").first().delete()
    assert services.accept_overdue_requests(now=later) == 1
    failure.refresh_from_db()
    assert (failure.count, failure.resolved_at is not None) == (2, True)
    poisoned.refresh_from_db()
    assert (poisoned.status, poisoned.refund.amount) == ("refunded", Decimal("279.00"))
