"""Gifts under concurrent checkouts (real threads and connections): the last units of a gift
go to as many orders as they cover and never more; every other order is still placed,
without the gift, told so, and its promotion not counted. "Buy X, get X" too: the ordered
units always come first."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from catalog.models import Stock
from marketplace.errors import DomainError
from orders import services
from orders.models import BuyerOrder, MerchantOrder, OrderEvent, OrderLine, OrderLineDiscount
from orders.services import CheckoutItem
from promotions.choices import BenefitType
from promotions.models import PromotionRedemption
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_checkout import _stocked_sku
from tests.orders.test_checkout_promotions import _shop
from tests.promotions.factories import promotion

D = Decimal


def _race(sku, quantity: int, buyers) -> list[str]:
    barrier = threading.Barrier(len(buyers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def checkout(buyer, address):
        try:
            barrier.wait()
            services.checkout_place(buyer=buyer, address=address, items=[CheckoutItem(sku.pk, quantity)])
            result = "order"
        except DomainError as exc:
            result = exc.code
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=checkout, args=(b, address_for(b))) for b in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _totals_add_up() -> None:
    for part in MerchantOrder.objects.all():
        lines = OrderLine.objects.filter(merchant_order=part).aggregate(
            gross=Sum("gross"), paid=Sum("paid"), shipping=Sum("shipping_share")
        )
        assert (part.goods_total, part.goods_total - part.discount_total, part.shipping_fee) == (
            lines["gross"],
            lines["paid"],
            lines["shipping"],
        )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_share_the_last_gifts_and_all_orders_go_through():
    merchant, category = _shop()
    lamp, _ = _stocked_sku(price="150.00", merchant=merchant, category=category, quantity=100)
    gift, _ = _stocked_sku(price="25.00", merchant=merchant, category=category, quantity=3)
    made = promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=gift.pk, max_uses=100)

    outcomes = _race(lamp, 1, [UserFactory() for _ in range(8)])

    assert outcomes == ["order"] * 8
    assert OrderLine.objects.filter(is_gift=True).count() == 3
    assert (Stock.objects.get(sku=gift).reserved, Stock.objects.get(sku=lamp).reserved) == (3, 8)
    assert OrderEvent.objects.filter(action="gift_out_of_stock").count() == 5
    made.refresh_from_db()
    assert (made.uses_count, PromotionRedemption.objects.count(), OrderLineDiscount.objects.count()) == (3, 3, 3)
    assert sorted(BuyerOrder.objects.values_list("discount_total", flat=True)) == [D("0.00")] * 5 + [D("25.00")] * 3
    _totals_add_up()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_buy_x_get_x_never_takes_an_ordered_unit_for_a_gift():
    merchant, category = _shop()
    mug, _ = _stocked_sku(price="30.00", merchant=merchant, category=category, quantity=7)
    promotion(merchant=merchant, benefit=BenefitType.GIFT_SKU, gift_sku_id=mug.pk)

    outcomes = _race(mug, 1, [UserFactory() for _ in range(4)])

    # 4 ordered units and 3 gifts: 7, the stock, whatever the order the checkouts ran in.
    assert outcomes == ["order"] * 4
    assert list(OrderLine.objects.filter(is_gift=False).values_list("quantity", flat=True)) == [1] * 4
    assert OrderLine.objects.filter(is_gift=True).count() == 3
    assert Stock.objects.get(sku=mug).reserved == 7
    assert OrderEvent.objects.filter(action="gift_out_of_stock").count() == 1
    _totals_add_up()
