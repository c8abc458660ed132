"""Flash sales: admission (Redis decides, the database holds), concurrency, expiry, rebuild,
checkout pricing and cancellation."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.errors import NotFoundError
from orders import services as order_services
from orders.models import OrderLine
from orders.services import CheckoutItem
from promotions import flash_redis
from promotions.choices import FlashReservationStatus
from promotions.errors import FlashSaleConflict, FlashSaleError
from promotions.models import FlashReservation, FlashSale
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401

pytestmark = pytest.mark.django_db


def _refusal(sale, buyer, units=1, now=None) -> tuple[str, dict]:
    with pytest.raises(FlashSaleConflict) as refused:
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=units, now=now)
    return refused.value.code, refused.value.extra


def _counts(sale) -> tuple[int, int, int]:
    sale.refresh_from_db()
    return sale.sold_units, sale.reserved_units, FlashReservation.objects.filter(sale=sale).count()


# --- Admission ----------------------------------------------------------------------------------


def test_an_admission_holds_a_reservation_for_the_hold_time(settings):
    settings.FLASH_SALE_HOLD_MINUTES = 5
    sale = live_sale(quantity=3, limit=2)
    buyer = UserFactory()
    now = timezone.now()
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2, now=now)
    assert (reservation.units, reservation.status, reservation.expires_at) == (
        2,
        FlashReservationStatus.PENDING,
        now + timedelta(minutes=5),
    )
    assert _counts(sale) == (0, 2, 1)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("1", {buyer.pk: 2})


def test_refusals_have_their_code_and_ask_the_database_nothing():
    sale = live_sale(quantity=1, limit=1)
    first, second = UserFactory(), UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=first.pk)
    with CaptureQueriesContext(connection) as queries:
        assert _refusal(sale, first) == ("limit_reached", {"left": 0})
        assert _refusal(sale, second) == ("sold_out", {"left": 0})
        assert _refusal(sale, second, now=sale.starts_at - timedelta(seconds=1))[0] == "not_started"
        assert _refusal(sale, second, now=sale.ends_at)[0] == "ended"
    assert len(queries) == 0
    assert _counts(sale) == (0, 1, 1)


def test_a_paused_sale_refuses_and_a_resumed_one_admits_again():
    sale = live_sale(quantity=5)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=UserFactory().pk)  # the state exists
    with _on_commit_now():
        flash.flash_sale_set_paused(sale=sale, paused=True, actor=sale.merchant.owner, merchant=sale.merchant)
    assert _refusal(sale, buyer) == ("paused", {"left": 0})
    with _on_commit_now():
        flash.flash_sale_set_paused(sale=sale, paused=False, actor=sale.merchant.owner, merchant=sale.merchant)
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk).units == 1
    assert _counts(sale) == (0, 2, 2)


def test_another_merchant_cannot_pause_the_sale():
    sale = live_sale()
    other = live_sale().merchant
    with pytest.raises(NotFoundError):
        flash.flash_sale_set_paused(sale=sale, paused=True, actor=other.owner, merchant=other)
    sale.refresh_from_db()
    assert sale.is_paused is False


def test_an_unknown_sale_is_not_found_and_bad_quantities_are_refused():
    buyer = UserFactory()
    with pytest.raises(NotFoundError):
        flash.flash_sale_admit(sale_id=987654321, buyer_id=buyer.pk)
    sale = live_sale()
    for units in (0, -1, 101, True, "1"):
        with pytest.raises(FlashSaleError) as refused:
            flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=units)
        assert refused.value.code == "invalid_quantity"
    assert _counts(sale) == (0, 0, 0)


def test_the_database_refuses_what_a_stale_redis_admits_and_redis_is_rebuilt():
    sale = live_sale(quantity=2)
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=UserFactory().pk)
    # Redis wrongly believes there are 5 left (as after a lost give-back gone wrong).
    flash_redis.client().hset(flash_redis.keys(sale.pk)[0], "remaining", 5)
    FlashSale.objects.filter(pk=sale.pk).update(reserved_units=2)  # another unit held meanwhile
    code, _extra = _refusal(sale, UserFactory())
    assert code == "sold_out"
    assert _counts(sale) == (0, 2, 1)
    assert flash_redis.snapshot(sale.pk) == {}  # dropped: the next admission rebuilds it
    assert _refusal(sale, UserFactory())[0] == "sold_out"
    assert flash_redis.snapshot(sale.pk)["remaining"] == "0"


# --- Concurrency (real threads, real Redis, one connection each) ---------------------------------


def _burst(sale_id: int, buyer_ids: list[int]) -> tuple[list[int], dict[str, int], list[BaseException]]:
    barrier = threading.Barrier(len(buyer_ids))
    admitted: list[int] = []
    refused: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def admit(buyer_id: int) -> None:
        try:
            barrier.wait()
            flash.flash_sale_admit(sale_id=sale_id, buyer_id=buyer_id)
            with lock:
                admitted.append(buyer_id)
        except FlashSaleConflict as refusal:
            with lock:
                refused[refusal.code] = refused.get(refusal.code, 0) + 1
        except BaseException as error:  # any other error fails the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=admit, args=(buyer_id,)) for buyer_id in buyer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return admitted, refused, errors


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_buyers_never_over_admits():
    sale = live_sale(quantity=7, limit=1)
    buyers = [UserFactory().pk for _ in range(40)]
    admitted, refused, errors = _burst(sale.pk, buyers)
    assert errors == []
    assert (len(admitted), refused) == (7, {"sold_out": 33})
    assert _counts(sale) == (0, 7, 7)
    assert sorted(FlashReservation.objects.values_list("buyer_id", flat=True)) == sorted(admitted)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "0"


@pytest.mark.django_db(transaction=True)
def test_one_buyer_racing_for_more_than_the_limit_gets_exactly_the_limit():
    sale = live_sale(quantity=50, limit=3)
    buyer = UserFactory()
    admitted, refused, errors = _burst(sale.pk, [buyer.pk] * 20)
    assert errors == []
    assert (len(admitted), refused) == (3, {"limit_reached": 17})
    assert _counts(sale) == (0, 3, 3)
    assert flash_redis.snapshot(sale.pk)["buyers"] == {buyer.pk: 3}


@pytest.mark.django_db(transaction=True)
def test_a_burst_with_the_redis_state_missing_rebuilds_it_once_and_never_over_admits():
    sale = live_sale(quantity=5, limit=1)
    assert flash_redis.snapshot(sale.pk) == {}
    admitted, refused, errors = _burst(sale.pk, [UserFactory().pk for _ in range(30)])
    assert errors == []
    assert (len(admitted), refused) == (5, {"sold_out": 25})
    assert _counts(sale) == (0, 5, 5)


# --- Expiry and rebuild --------------------------------------------------------------------------


class _on_commit_now:
    """Run the on-commit callbacks of the block (the test's transaction never commits)."""

    def __enter__(self):
        from django.test import TestCase

        self._ctx = TestCase.captureOnCommitCallbacks(execute=True)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_expired_reservations_return_their_units_once():
    sale = live_sale(quantity=2, limit=1)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=first.pk)
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=second.pk)
    assert _refusal(sale, third)[0] == "sold_out"
    later = timezone.now() + timedelta(minutes=10)
    with _on_commit_now():
        assert flash.flash_reservations_expire(now=later) == 2
    with _on_commit_now():
        assert flash.flash_reservations_expire(now=later) == 0  # nothing twice
    assert _counts(sale) == (0, 0, 2)
    assert set(FlashReservation.objects.values_list("status", flat=True)) == {FlashReservationStatus.EXPIRED}
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("2", {})
    # The units are back, and the first buyer's limit with them.
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=first.pk).units == 1
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=third.pk).units == 1
    assert _counts(sale) == (0, 2, 4)


def test_a_give_back_after_a_rebuild_is_dropped_since_the_rebuild_counted_it():
    sale = live_sale(quantity=3)
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=UserFactory().pk)
    flash.flash_sale_rebuild(sale_id=sale.pk, force=True)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "2"
    assert not flash_redis.give_back(sale.pk, gen=reservation.redis_gen, buyer_id=reservation.buyer_id, units=1)
    assert flash_redis.snapshot(sale.pk)["remaining"] == "2"


def test_the_state_rebuilt_after_a_redis_flush_has_the_same_remaining_and_buyers():
    sale = live_sale(quantity=10, limit=3)
    buyers = [UserFactory() for _ in range(3)]
    for units, buyer in zip((3, 1, 2), buyers, strict=True):
        flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=units)
    before = flash_redis.snapshot(sale.pk)
    flash_redis.client().flushdb()
    assert flash_redis.snapshot(sale.pk) == {}
    assert _refusal(sale, buyers[0])[0] == "limit_reached"  # rebuilt on the way
    after = flash_redis.snapshot(sale.pk)
    assert (
        (after["remaining"], after["buyers"])
        == (before["remaining"], before["buyers"])
        == (
            "4",
            {buyers[0].pk: 3, buyers[1].pk: 1, buyers[2].pk: 2},
        )
    )
    assert flash.flash_sales_rebuild_all() == 0  # current already: nothing to rebuild
    assert flash_redis.snapshot(sale.pk)["remaining"] == "4"


# --- Checkout and cancellation -------------------------------------------------------------------


def test_checkout_prices_the_reserved_units_at_the_special_price_and_consumes_them():
    sale = live_sale(price="199.99", special="99.00", quantity=10, limit=2)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 3)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # 3 × 199.99 = 599.97; 2 units at 99.00: discount 2 × 100.99 = 201.98, all the merchant's.
    assert (line.gross, line.merchant_discount, line.platform_discount, line.paid, line.base) == (
        Decimal("599.97"),
        Decimal("201.98"),
        Decimal("0.00"),
        Decimal("397.99"),
        Decimal("397.99"),
    )
    merchant_order = order.merchant_orders.get()
    # Goods at their gross, the flash discount among the order's discounts.
    assert (merchant_order.goods_total, merchant_order.discount_total, merchant_order.platform_discount_total) == (
        Decimal("599.97"),
        Decimal("201.98"),
        Decimal("0.00"),
    )
    reservation = FlashReservation.objects.get()
    assert (reservation.status, reservation.order_number) == (FlashReservationStatus.CONSUMED, merchant_order.number)
    assert _counts(sale) == (2, 0, 1)


def test_a_split_funded_sale_divides_the_discount_to_the_cent():
    sku = stocked_sku(price="10.01")
    sale = live_sale(
        sku=sku, special="3.00", quantity=5, limit=3, funding="split", platform_share=Decimal("0.3333"), by_staff=True
    )
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=3)
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sku.pk, 3)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    # 3 × 7.01 = 21.03, the platform's 0.3333 of it: 7.009… → 7.01; the merchant 14.02.
    assert (line.merchant_discount, line.platform_discount, line.paid, line.base) == (
        Decimal("14.02"),
        Decimal("7.01"),
        Decimal("9.00"),
        Decimal("16.01"),
    )
    assert order.merchant_orders.get().platform_discount_total == Decimal("7.01")


def test_without_a_live_reservation_the_line_is_priced_normally():
    sale = live_sale(price="50.00", special="10.00", quantity=5)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    FlashReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    other = UserFactory()  # and another buyer's reservation never applies
    order = order_services.checkout_place(buyer=other, address=address_for(other), items=[CheckoutItem(sale.sku_id, 1)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    assert (line.merchant_discount, line.paid) == (Decimal("0.00"), Decimal("50.00"))
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    line = OrderLine.objects.get(merchant_order__buyer_order=order)
    assert (line.merchant_discount, line.paid) == (Decimal("0.00"), Decimal("50.00"))
    assert FlashReservation.objects.get().status == FlashReservationStatus.PENDING  # the job expires it
    assert _counts(sale) == (0, 1, 1)


def test_cancelling_before_payment_returns_the_units_exactly_once():
    sale = live_sale(quantity=1, limit=1)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    order = order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 1)])
    assert _counts(sale) == (1, 0, 1)
    assert _refusal(sale, UserFactory())[0] == "sold_out"
    with _on_commit_now():
        order_services.buyer_order_cancel_unpaid(buyer_order=order, actor=buyer)
    assert _counts(sale) == (0, 0, 1)
    assert FlashReservation.objects.get().status == FlashReservationStatus.RETURNED
    assert flash.flash_reservations_return(order_number=order.merchant_orders.get().number) == 0
    assert _counts(sale) == (0, 0, 1)
    state = flash_redis.snapshot(sale.pk)
    assert (state["remaining"], state["buyers"]) == ("1", {})
    assert flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk).units == 1


def test_a_refused_checkout_consumes_nothing():
    sale = live_sale(quantity=3, limit=1, stock=3)
    buyer = UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    with pytest.raises(Exception) as refused:
        order_services.checkout_place(buyer=buyer, address=address_for(buyer), items=[CheckoutItem(sale.sku_id, 5)])
    assert getattr(refused.value, "code", "") == "insufficient_stock"
    assert FlashReservation.objects.get().status == FlashReservationStatus.PENDING
    assert _counts(sale) == (0, 1, 1)


# --- Creation ------------------------------------------------------------------------------------


def _create(sku, **overrides):
    now = timezone.now()
    terms = {
        "merchant": sku.merchant,
        "actor": sku.merchant.owner,
        "sku": sku,
        "special_price": Decimal("9.90"),
        "quantity": 10,
        "per_buyer_limit": 1,
        "starts_at": now + timedelta(hours=1),
        "ends_at": now + timedelta(hours=2),
    }
    terms.update(overrides)
    return flash.flash_sale_create(**terms)


def test_creation_checks_every_term_and_writes_nothing_when_refused():
    sku = stocked_sku(price="19.90", stock=20)
    now = timezone.now()
    cases = [
        ({"special_price": Decimal("19.90")}, "invalid_special_price"),
        ({"special_price": Decimal("0")}, "invalid_special_price"),
        ({"starts_at": now - timedelta(minutes=1)}, "window_in_past"),
        ({"ends_at": now + timedelta(minutes=30)}, "invalid_window"),
        ({"quantity": 21}, "quantity_exceeds_stock"),
        ({"quantity": 0}, "quantity_exceeds_stock"),
        ({"per_buyer_limit": 11}, "invalid_limit"),
        ({"funding": "platform"}, "funding_not_allowed"),
        ({"funding": "split", "platform_share": Decimal("1.5"), "by_staff": True}, "invalid_platform_share"),
    ]
    for overrides, code in cases:
        with pytest.raises(FlashSaleError) as refused:
            _create(sku, **overrides)
        assert refused.value.code == code, overrides
    assert FlashSale.objects.count() == 0
    sale = _create(sku)
    assert (sale.funding, sale.platform_share, sale.remaining_units) == ("merchant", Decimal("0"), 10)
    with pytest.raises(FlashSaleConflict) as overlap:
        _create(sku, starts_at=now + timedelta(minutes=90), ends_at=now + timedelta(hours=3))
    assert overlap.value.code == "flash_sale_overlaps"
    assert FlashSale.objects.count() == 1


def test_a_merchant_cannot_sell_another_merchants_sku_nor_one_not_on_sale():
    sku = stocked_sku()
    other = stocked_sku().merchant
    with pytest.raises(NotFoundError):
        _create(sku, merchant=other, actor=other.owner)
    sku.is_active = False
    sku.save(update_fields=["is_active"])
    with pytest.raises(FlashSaleError) as refused:
        _create(sku)
    assert refused.value.code == "sku_not_on_sale"
    assert FlashSale.objects.count() == 0
