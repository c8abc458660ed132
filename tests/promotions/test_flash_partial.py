"""Flash sales at checkout: a hold used in part gives the rest back at once; ordering more
than held prices only the held units at the special price."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import TestCase

from orders import services as order_services
from orders.models import OrderLine
from orders.services import CheckoutItem
from promotions import flash_redis
from promotions.choices import FlashReservationStatus
from promotions.errors import FlashSaleConflict
from promotions.models import FlashReservation, FlashSale
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.flash_factories import _flash_redis_clean, live_sale  # noqa: F401

pytestmark = pytest.mark.django_db


def _counts(sale) -> tuple[int, int]:
    sale.refresh_from_db()
    return sale.sold_units, sale.reserved_units


def _line(order) -> OrderLine:
    return OrderLine.objects.get(merchant_order__buyer_order=order)


def _place(buyer, sku_id, quantity):
    return order_services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku_id, quantity)]
    )


def test_ordering_one_of_three_held_units_prices_one_and_returns_two_at_once():
    sale = live_sale(price="199.99", special="99.00", quantity=5, limit=3)
    buyer = UserFactory()
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=3)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "2"
    with TestCase.captureOnCommitCallbacks(execute=True):
        order = _place(buyer, sale.sku_id, 1)
    line = _line(order)
    # One unit at 99.00: discount 100.99, the merchant's.
    assert (line.gross, line.merchant_discount, line.platform_discount, line.paid) == (
        Decimal("199.99"),
        Decimal("100.99"),
        Decimal("0.00"),
        Decimal("99.00"),
    )
    reservation.refresh_from_db()
    assert (reservation.status, reservation.units, reservation.order_number) == (
        FlashReservationStatus.CONSUMED,
        1,
        order.merchant_orders.get().number,
    )
    # Sold 1, nothing held any more: the 2 unused units are back in the pool (database and
    # Redis), and the buyer's limit counts only the unit bought.
    assert _counts(sale) == (1, 0)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("4", {buyer.pk: 1})
    other = UserFactory()
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=other.pk, units=3).units == 3
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=1).units == 1
    assert _counts(sale) == (1, 4)


def test_a_second_reservation_not_needed_expires_and_returns_its_units():
    sale = live_sale(price="20.00", special="5.00", quantity=10, limit=4)
    buyer = UserFactory()
    first = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    second = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order = _place(buyer, sale.sku_id, 2)
    line = _line(order)
    assert (line.gross, line.merchant_discount, line.paid) == (Decimal("40.00"), Decimal("30.00"), Decimal("10.00"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.units) == (FlashReservationStatus.CONSUMED, 2)
    assert (second.status, second.units) == (FlashReservationStatus.EXPIRED, 2)
    assert _counts(sale) == (2, 0)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("8", {buyer.pk: 2})


def test_ordering_more_than_held_gives_the_special_price_to_the_held_units_only():
    # Held 2, ordered 5: 2 × 6.00 + 3 × 10.00 = 42.00; never more units at the special price
    # than the buyer was admitted to (the sale's quantity and the limit hold).
    sale = live_sale(price="10.00", special="6.00", quantity=2, limit=2)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    order = _place(buyer, sale.sku_id, 5)
    line = _line(order)
    assert (line.gross, line.merchant_discount, line.platform_discount, line.paid) == (
        Decimal("50.00"),
        Decimal("8.00"),
        Decimal("0.00"),
        Decimal("42.00"),
    )
    assert _counts(sale) == (2, 0)
    assert FlashReservation.objects.get().units == 2
    # And nothing more at the special price in a second order: the limit is reached.
    with pytest.raises(FlashSaleConflict) as refused:
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    assert refused.value.code == "limit_reached"
    line = _line(_place(buyer, sale.sku_id, 1))
    assert (line.merchant_discount, line.paid) == (Decimal("0.00"), Decimal("10.00"))


def test_cancelling_an_order_of_a_partly_used_hold_returns_the_units_bought_once():
    sale = live_sale(price="10.00", special="6.00", quantity=3, limit=3)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=3)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order = _place(buyer, sale.sku_id, 2)
    assert _counts(sale) == (2, 0)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "1"
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_services.buyer_order_cancel_unpaid(buyer_order=order, actor=buyer)
    assert _counts(sale) == (0, 0)
    assert FlashReservation.objects.get().status == FlashReservationStatus.RETURNED
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("3", {})


def test_a_refused_checkout_uses_no_part_of_the_hold():
    sale = live_sale(quantity=3, limit=3, stock=3)
    buyer = UserFactory()
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=3)
    with pytest.raises(Exception) as refused:
        _place(buyer, sale.sku_id, 4)
    assert getattr(refused.value, "code", "") == "insufficient_stock"
    reservation.refresh_from_db()
    assert (reservation.status, reservation.units) == (FlashReservationStatus.PENDING, 3)
    assert _counts(sale) == (0, 3)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "0"


@pytest.mark.django_db(transaction=True)
def test_two_checkouts_of_one_hold_at_once_use_it_once():
    # The buyer holds 2 and sends two checkouts of 1 at the same time: the reservation is
    # locked by the first; the second sees it consumed and pays the normal price. Sold 1,
    # the other unit back in the pool; never two units at the special price.
    sale = live_sale(price="10.00", special="4.00", quantity=2, limit=2)
    buyer = UserFactory()
    address = address_for(buyer)
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    barrier = threading.Barrier(2)
    paid: list[Decimal] = []
    errors: list[BaseException] = []

    def place() -> None:
        try:
            barrier.wait()
            order = order_services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(sale.sku_id, 1)])
            paid.append(_line(order).paid)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(paid) == [Decimal("4.00"), Decimal("10.00")]
    sale = FlashSale.objects.get(pk=sale.pk)
    assert (sale.sold_units, sale.reserved_units) == (1, 0)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "1"
