"""Flash sales: an expired hold is never used at checkout and returns its units at the next
admission of its sale, without waiting for the expiry job (`now` frozen)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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

HOLD = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _hold_minutes(settings):
    settings.FLASH_SALE_HOLD_MINUTES = 5


def _refusal(sale, buyer, now) -> tuple[str, dict]:
    with pytest.raises(FlashSaleConflict) as refused:
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, now=now)
    return refused.value.code, refused.value.extra


def _counts(sale) -> tuple[int, int]:
    sale = FlashSale.objects.get(pk=sale.pk)
    return sale.sold_units, sale.reserved_units


@pytest.mark.django_db
@pytest.mark.parametrize(("after", "paid", "status"), [(-1, "40.00", "consumed"), (0, "100.00", "pending")])
def test_a_hold_is_used_at_checkout_until_its_time_and_never_after(after, paid, status):
    sale = live_sale(price="100.00", special="40.00", quantity=3)
    buyer = UserFactory()
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    frozen = reservation.expires_at + timedelta(seconds=after)
    with mock.patch("django.utils.timezone.now", return_value=frozen):
        order = order_services.checkout_place(
            buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)]
        )
    assert OrderLine.objects.get(merchant_order__buyer_order=order).paid == Decimal(paid)
    reservation.refresh_from_db()
    assert reservation.status == status
    assert _counts(sale) == ((1, 0) if status == "consumed" else (0, 1))


@pytest.mark.django_db(transaction=True)
def test_an_expired_hold_returns_its_units_at_the_next_admission_of_the_sale():
    sale = live_sale(quantity=1, limit=1)
    first, second = UserFactory(), UserFactory()
    t0 = timezone.now()
    held = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=first.pk, now=t0)
    # Before its time: refused, and the refusal asks the database nothing.
    with CaptureQueriesContext(connection) as queries:
        assert _refusal(sale, second, now=t0 + HOLD - timedelta(seconds=1)) == ("sold_out", {"left": 0})
    assert len(queries) == 0
    # At its time, no expiry job having run: the hold expires and the second buyer gets the unit.
    taken = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=second.pk, now=t0 + HOLD)
    held.refresh_from_db()
    assert (held.status, taken.units) == (FlashReservationStatus.EXPIRED, 1)
    assert _counts(sale) == (0, 1)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("0", {second.pk: 1})
    # The job finds nothing left to do; the units came back once.
    assert flash.flash_reservations_expire(now=t0 + HOLD + timedelta(minutes=1)) == 0
    assert _counts(sale) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_buyer_at_the_limit_gets_it_back_when_the_hold_expires():
    sale = live_sale(quantity=5, limit=2)
    buyer = UserFactory()
    t0 = timezone.now()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2, now=t0)
    assert _refusal(sale, buyer, now=t0 + timedelta(minutes=1)) == ("limit_reached", {"left": 0})
    again = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2, now=t0 + HOLD + timedelta(seconds=1))
    assert again.units == 2
    assert list(FlashReservation.objects.order_by("pk").values_list("status", flat=True)) == ["expired", "pending"]
    assert _counts(sale) == (0, 2)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("3", {buyer.pk: 2})


@pytest.mark.django_db(transaction=True)
def test_a_hold_consumed_before_its_time_is_not_returned_by_a_later_admission():
    sale = live_sale(quantity=1, limit=1)
    buyer, other = UserFactory(), UserFactory()
    t0 = timezone.now()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, now=t0)
    order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    assert _refusal(sale, other, now=t0 + HOLD + timedelta(minutes=1)) == ("sold_out", {"left": 0})
    assert FlashReservation.objects.get().status == FlashReservationStatus.CONSUMED
    assert _counts(sale) == (1, 0)
    assert flash_redis.client().zcard(flash._due_key(sale.pk)) == 0  # noted as done


@pytest.mark.django_db(transaction=True)
def test_after_a_redis_loss_the_rebuild_notes_the_holds_and_they_still_expire_lazily():
    sale = live_sale(quantity=1, limit=1)
    first, second = UserFactory(), UserFactory()
    t0 = timezone.now()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=first.pk, now=t0)
    flash_redis.client().flushdb()
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=second.pk, now=t0 + HOLD).units == 1
    assert list(FlashReservation.objects.order_by("pk").values_list("status", flat=True)) == ["expired", "pending"]
    assert _counts(sale) == (0, 1)
