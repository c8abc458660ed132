"""The cart and checkout pages show the signed-in buyer's live flash-sale holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders import services as order_services
from promotions.models import FlashReservation
from promotions.services import flash
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.flash_factories import _flash_redis_clean, live_sale  # noqa: F401

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _render(user) -> str:
    request = RequestFactory().get("/cart/")
    request.user = user
    return Template("{% load flash %}{% flash_holds %}").render(Context({"request": request}))


def test_the_cart_and_checkout_pages_show_the_buyers_live_holds(client):
    sale = live_sale(price="80.00", special="30.00", quantity=5, limit=2)
    buyer = UserFactory()
    address_for(buyer)
    reservation = flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk, units=2)
    order_services.cart_add(buyer=buyer, sku_id=sale.sku_id, quantity=2)
    until = timezone.localtime(reservation.expires_at).strftime("%H:%M")
    client.force_login(buyer)
    for name in ("orders:cart", "orders:checkout"):
        page = client.get(reverse(name), **EN).content.decode()
        assert f"2 at ¥30.00 each, held until {until}" in page, name
        assert "Flash-sale holds" in page


def test_only_live_holds_of_the_buyer_and_nothing_for_visitors_or_staff():
    from django.contrib.auth.models import AnonymousUser

    sale = live_sale(price="80.00", special="30.00", quantity=5, limit=2)
    buyer, other = UserFactory(), UserFactory()
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=other.pk)
    assert "flash-hold" not in _render(buyer)
    flash.flash_sale_admit(sale_id=sale.pk, buyer_id=buyer.pk)
    assert _render(buyer).count('class="flash-hold"') == 1
    FlashReservation.objects.filter(buyer=buyer).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "flash-hold" not in _render(buyer)  # past its time: checkout would not use it
    with CaptureQueriesContext(connection) as queries:
        assert "flash-hold" not in _render(AnonymousUser())
        assert "flash-hold" not in _render(UserFactory.build(is_staff=True))
    assert len(queries) == 0
