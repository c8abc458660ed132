"""Caps on prices, quantities and cart lines, chosen so every total fits its column.

Money columns are numeric(14, 2): at most 999,999,999,999.99. A SKU costs at most
MAX_SKU_PRICE (1,000,000.00), a line holds at most MAX_QUANTITY (999) units and a cart or an
order at most MAX_LINES (100) lines: 99,900,000,000.00 at most for an order's goods."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog import services as catalog_services
from catalog.errors import CatalogError
from catalog.models import MAX_SKU_PRICE, SKU
from orders import services
from orders.errors import OrderError
from orders.models import MAX_LINES, MAX_QUANTITY, CartItem
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db
_n = itertools.count(1)

TOO_DEAR = "99999999999.99"


def test_the_caps_keep_an_order_inside_its_money_column():
    assert Decimal("1000000.00") == MAX_SKU_PRICE
    assert (MAX_QUANTITY, MAX_LINES) == (999, 100)
    assert Decimal("999999999999.99") > MAX_SKU_PRICE * MAX_QUANTITY * MAX_LINES


# --- SKU price ---------------------------------------------------------------------------------


def test_a_sku_price_over_the_cap_is_refused_on_create_and_update():
    merchant, (category,) = live_merchant()
    item = product(merchant, category, publish=False, price="10.00")
    sku = item.skus.get()
    with pytest.raises(CatalogError) as error:
        catalog_services.sku_create(product=item, actor=merchant.owner, data={"code": "X1", "price": TOO_DEAR})
    assert error.value.code == "invalid_price"
    with pytest.raises(CatalogError) as error:
        catalog_services.sku_update(sku=sku, actor=merchant.owner, data={"price": "1000000.01"})
    assert error.value.code == "invalid_price"
    assert list(SKU.objects.filter(product=item).values_list("code", "price")) == [(sku.code, Decimal("10.00"))]
    catalog_services.sku_update(sku=sku, actor=merchant.owner, data={"price": "1000000.00"})
    sku.refresh_from_db()
    assert sku.price == Decimal("1000000.00")


def test_the_database_refuses_a_price_over_the_cap():
    merchant, (category,) = live_merchant()
    sku = product(merchant, category, publish=False, price="10.00").skus.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SKU.objects.filter(pk=sku.pk).update(price=Decimal("1000000.01"))


def test_the_api_refuses_a_price_over_the_cap(api_client):
    merchant, (category,) = live_merchant()
    item = product(merchant, category, publish=False, price="10.00")
    api_client.force_authenticate(merchant.owner)
    response = api_client.post(
        f"/api/v1/catalog/merchant/products/{item.pk}/skus/",
        {"code": "DEAR", "price": TOO_DEAR},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "invalid_price"}
    assert item.skus.count() == 1


# --- Cart lines and the cart view --------------------------------------------------------------


def stocked_sku(*, price="1000000.00", stock=2000, merchant=None, category=None):
    if merchant is None:
        merchant, (category,) = live_merchant()
    item = product(merchant, category, title=f"Item {next(_n)}", skus=[{"code": f"K{next(_n)}", "price": price}])
    sku = item.skus.get()
    catalog_services.stock_receive(
        sku=sku, warehouse=warehouse(), quantity=stock, actor=merchant.owner, merchant=merchant
    )
    return sku


def test_the_dearest_sku_at_the_most_units_shows_in_the_cart(api_client):
    sku = stocked_sku()
    buyer = UserFactory()
    api_client.force_authenticate(buyer)
    added = api_client.post("/api/v1/orders/cart/items/", {"sku": sku.pk, "quantity": 999}, format="json")
    assert added.status_code == 201
    assert api_client.get("/api/v1/orders/cart/").status_code == 200
    assert (
        api_client.post("/api/v1/orders/cart/items/", {"sku": sku.pk, "quantity": 11}, format="json").status_code == 201
    )
    assert list(CartItem.objects.values_list("sku_id", "quantity")) == [(sku.pk, 999)]


def test_a_cart_holds_at_most_max_lines_lines(api_client):
    merchant, (category,) = live_merchant()
    skus = [stocked_sku(price="1.00", stock=1, merchant=merchant, category=category) for _ in range(MAX_LINES + 1)]
    buyer = UserFactory()
    cart = services.cart_get_or_create(buyer=buyer)
    for sku in skus[:MAX_LINES]:
        services.cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    with pytest.raises(OrderError) as error:
        services.cart_add(cart=cart, sku_id=skus[-1].pk, quantity=1)
    assert error.value.code == "cart_full"
    assert CartItem.objects.filter(cart=cart).count() == MAX_LINES
    # More units of a line already there is not a new line.
    services.cart_add(cart=cart, sku_id=skus[0].pk, quantity=2)
    assert CartItem.objects.get(cart=cart, sku=skus[0]).quantity == 3

    api_client.force_authenticate(buyer)
    response = api_client.post("/api/v1/orders/cart/items/", {"sku": skus[-1].pk, "quantity": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "cart_full"
    assert CartItem.objects.filter(cart=cart).count() == MAX_LINES


# --- Checkout ------------------------------------------------------------------------------------


def test_checkout_refuses_a_sku_repeated_past_the_quantity_cap():
    sku = stocked_sku(price="1000000.00")
    buyer = UserFactory()
    address = address_for(buyer)
    with pytest.raises(OrderError) as error:
        services.checkout_place(
            buyer=buyer,
            address=address,
            items=[services.CheckoutItem(sku.pk, 999), services.CheckoutItem(sku.pk, 999)],
        )
    assert error.value.code == "invalid_quantity"
    assert not buyer.orders.exists()


def test_checkout_refuses_more_than_max_lines_lines():
    buyer = UserFactory()
    address = address_for(buyer)
    items = [services.CheckoutItem(sku_id, 1) for sku_id in range(1, MAX_LINES + 2)]
    with pytest.raises(OrderError) as error:
        services.checkout_place(buyer=buyer, address=address, items=items)
    assert error.value.code == "too_many_lines"
    assert not buyer.orders.exists()


def test_checkout_of_the_dearest_line_fits():
    sku = stocked_sku(price="1000000.00")
    buyer = UserFactory()
    order = services.checkout_place(
        buyer=buyer, address=address_for(buyer), items=[services.CheckoutItem(sku.pk, MAX_QUANTITY)]
    )
    assert order.goods_total == Decimal("999000000.00")
