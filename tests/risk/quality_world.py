"""Fixtures of merchant quality tests: a shop with paid orders whose times, returns,
complaints and reviews are set exactly."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.utils import timezone

from orders import services as order_services
from orders.gateways import sandbox
from orders.models import AfterSalesRequest, Complaint, MerchantOrder, Review
from orders.services import CheckoutItem
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.settlements.test_runs import Shop

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime.datetime(*args, tzinfo=SH)


class QualityShop(Shop):
    """A live shop (grade B, category rate 10 %) whose orders are placed and paid through
    the real services, then dated as the test says."""

    def paid_order(self, *, paid, price="100.00", buyer=None) -> MerchantOrder:
        buyer = buyer or UserFactory()
        with mock.patch("django.utils.timezone.now", return_value=paid):
            order = order_services.checkout_place(
                buyer=buyer, address=address_for(buyer), items=[CheckoutItem(self.sku(price).pk, 1)]
            )
            payment = order_services.payment_start(buyer_order=order)
            body = sandbox.callback_body(payment_reference=payment.reference, amount=payment.amount)
            event = sandbox.SandboxGateway().parse_callback(headers={sandbox.HEADER: sandbox.sign(body)}, raw_body=body)
            order_services.gateway_event_process(gateway="sandbox", event=event)
        merchant_order = order.merchant_orders.get()
        MerchantOrder.objects.filter(pk=merchant_order.pk).update(paid_at=paid)
        merchant_order.refresh_from_db()
        merchant_order.buyer = buyer
        return merchant_order

    def shipped_order(self, *, paid, ship_after_hours: int, price="100.00") -> MerchantOrder:
        order = self.paid_order(paid=paid, price=price)
        MerchantOrder.objects.filter(pk=order.pk).update(
            status="shipped", shipped_at=paid + datetime.timedelta(hours=ship_after_hours)
        )
        order.refresh_from_db()
        order.buyer = order.buyer_order.buyer
        return order


def accepted_return(order, *, status="refunded") -> AfterSalesRequest:
    return AfterSalesRequest.objects.create(
        merchant_order=order,
        buyer=order.buyer_order.buyer,
        kind="return_refund",
        status=status,
        reason="Broken",
        respond_by=timezone.now(),
    )


def complaint(order, *, category="service", created=None) -> Complaint:
    row = Complaint.objects.create(
        merchant_order=order, merchant=order.merchant, buyer=order.buyer_order.buyer, category=category, text="Bad"
    )
    if created:
        Complaint.objects.filter(pk=row.pk).update(created_at=created)
    return row


def review(order, rating: int, *, created) -> Review:
    line = order.lines.select_related("sku").first()
    row = Review.objects.create(
        order_line=line,
        merchant=order.merchant,
        product_id=line.sku.product_id,
        buyer=order.buyer_order.buyer,
        rating=rating,
    )
    Review.objects.filter(pk=row.pk).update(created_at=created)
    return row


MONEY = Decimal
