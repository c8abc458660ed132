"""Flash sales through HTTP: the API (admission with a cached token), the storefront page,
the merchant portal and the admin, with their permissions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from merchants.models import MerchantMember
from orders import selectors as order_selectors
from promotions import flash_redis
from promotions.models import FlashReservation, FlashSale
from tests.factories import UserFactory
from tests.promotions.flash_factories import _flash_redis_clean, live_sale, stocked_sku  # noqa: F401

pytestmark = pytest.mark.django_db

API = "/api/v1/promotions/flash-sales/"


def token_client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def staff(*groups: str):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


# --- API ----------------------------------------------------------------------------------------


def test_the_public_list_shows_sales_on_now_and_to_come_but_not_ended_ones():
    live = live_sale(price="199.99", special="99.00", quantity=10, limit=2)
    upcoming = live_sale(starts_in=timedelta(hours=1))
    ended = live_sale(starts_in=timedelta(hours=-3), lasts=timedelta(hours=1))
    body = APIClient().get(API).json()
    assert [row["id"] for row in body["results"]] == [live.pk, upcoming.pk]
    row = body["results"][0]
    assert {k: row[k] for k in ("price", "special_price", "quantity", "remaining", "per_buyer_limit", "state")} == {
        "price": "199.99",
        "special_price": "99.00",
        "quantity": 10,
        "remaining": 10,
        "per_buyer_limit": 2,
        "state": "live",
    }
    assert body["results"][1]["state"] == "upcoming"
    assert APIClient().get(f"{API}{ended.pk}/").status_code == 404


def test_admission_answers_a_reservation_then_the_reason_of_each_refusal(settings):
    settings.FLASH_SALE_HOLD_MINUTES = 5
    sale = live_sale(quantity=3, limit=2)
    buyer = UserFactory()
    client = token_client(buyer)
    answer = client.post(f"{API}{sale.pk}/admit/", {"quantity": 2}, format="json")
    assert answer.status_code == 201
    reservation = FlashReservation.objects.get()
    assert answer.json() == {
        "reservation": reservation.pk,
        "sale": sale.pk,
        "sku": sale.sku_id,
        "units": 2,
        "expires_at": answer.json()["expires_at"],
    }
    refused = client.post(f"{API}{sale.pk}/admit/", {}, format="json")
    assert (refused.status_code, refused.json()) == (
        409,
        {
            "code": "limit_reached",
            "message": "You have reached the limit per buyer of this flash sale.",
            "extra": {"left": 0},
        },
    )
    other = token_client(UserFactory())
    assert other.post(f"{API}{sale.pk}/admit/", {"quantity": 2}, format="json").json()["code"] == "sold_out"
    assert other.post(f"{API}{sale.pk}/admit/", {"quantity": 0}, format="json").json()["code"] == "validation_error"
    assert FlashReservation.objects.count() == 1


def test_a_refused_admission_with_a_known_token_asks_the_database_nothing():
    sale = live_sale(quantity=1)
    first, second = token_client(UserFactory()), token_client(UserFactory())
    assert first.post(f"{API}{sale.pk}/admit/", format="json").status_code == 201
    assert second.post(f"{API}{sale.pk}/admit/", format="json").status_code == 409  # its token is now cached
    with CaptureQueriesContext(connection) as queries:
        answer = second.post(f"{API}{sale.pk}/admit/", format="json")
    assert (answer.status_code, answer.json()["code"]) == (409, "sold_out")
    assert [q["sql"] for q in queries] == []


def test_admission_needs_a_signed_in_buyer_and_a_sale_that_exists():
    sale = live_sale()
    assert APIClient().post(f"{API}{sale.pk}/admit/", format="json").status_code == 401
    operations = token_client(staff("operations"))
    assert operations.post(f"{API}{sale.pk}/admit/", format="json").status_code == 404
    assert token_client(UserFactory()).post(f"{API}987654/admit/", format="json").status_code == 404
    bad = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.post(f"{API}{sale.pk}/admit/", format="json").status_code == 401
    assert FlashReservation.objects.count() == 0
    assert flash_redis.snapshot(sale.pk).get("remaining", "10") == "10"


# --- Storefront page ----------------------------------------------------------------------------


def test_the_page_lists_the_sales_with_their_countdown_and_button(client):
    live = live_sale(special="99.00")
    upcoming = live_sale(starts_in=timedelta(hours=1))
    page = client.get(reverse("promotions:flash_sales"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("data-flash-until=") == 2 and html.count("data-flash-join") == 2
    assert f'action="/promotions/flash-sales/{upcoming.pk}/join/"' in html and "disabled" in html
    assert f'action="/promotions/flash-sales/{live.pk}/join/"' in html
    assert "js/flash.js" in html and "¥99.00" in html


def test_joining_from_the_page_holds_the_units_and_puts_them_in_the_cart(client):
    sale = live_sale(quantity=1)
    buyer = UserFactory()
    client.force_login(buyer)
    answer = client.post(reverse("promotions:flash_sale_join", args=[sale.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302 and answer["Location"] == reverse("orders:cart")
    assert [level for level, _text in messages_of(answer)] == ["success"]
    assert FlashReservation.objects.filter(buyer=buyer, units=1).count() == 1
    cart = order_selectors.cart_find(buyer=buyer)
    assert [(i.sku_id, i.quantity) for i in cart.items.all()] == [(sale.sku_id, 1)]
    other = UserFactory()
    client.force_login(other)
    refused = client.post(reverse("promotions:flash_sale_join", args=[sale.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert refused["Location"] == reverse("promotions:flash_sales")
    assert messages_of(refused)[-1] == ("error", "Sold out: every unit of this flash sale is taken.")
    assert FlashReservation.objects.count() == 1


def test_joining_needs_a_login_and_is_not_for_staff(client):
    sale = live_sale()
    url = reverse("promotions:flash_sale_join", args=[sale.pk])
    assert client.post(url)["Location"].startswith(reverse("login"))
    assert client.get(url).status_code == 405
    client.force_login(staff("operations"))
    assert client.post(url).status_code == 404
    assert FlashReservation.objects.count() == 0


# --- Merchant portal ----------------------------------------------------------------------------


def _form(sku, **overrides) -> dict:
    start = timezone.localtime(timezone.now() + timedelta(days=1))
    data = {
        "sku_code": sku.code,
        "special_price": "59.00",
        "quantity": "20",
        "per_buyer_limit": "2",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return data


def test_the_owner_creates_lists_and_pauses_flash_sales(client):
    sku = stocked_sku(price="99.00", stock=50)
    merchant = sku.merchant
    client.force_login(merchant.owner)
    created = client.post(reverse("portal_promotions:flash_create"), _form(sku), HTTP_ACCEPT_LANGUAGE="en")
    assert created.status_code == 302
    sale = FlashSale.objects.get()
    assert (sale.merchant_id, sale.special_price, sale.quantity, sale.per_buyer_limit, sale.funding) == (
        merchant.pk,
        Decimal("59.00"),
        20,
        2,
        "merchant",
    )
    listing = client.get(reverse("portal_promotions:flash_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200 and sku.code in listing.content.decode()
    paused = client.post(reverse("portal_promotions:flash_pause", args=[sale.pk]), {"paused": "1"})
    assert paused.status_code == 302
    sale.refresh_from_db()
    assert sale.is_paused is True


def test_a_refused_creation_shows_why_and_writes_nothing(client):
    sku = stocked_sku(price="99.00", stock=50)
    client.force_login(sku.merchant.owner)
    for overrides, text in [
        ({"special_price": "99.00"}, "The special price must be above zero and below the SKU"),
        ({"quantity": "51"}, "The quantity must be from 1 to the 50 units available now."),
        ({"sku_code": stocked_sku().code}, "You have no SKU with the code"),
    ]:
        answer = client.post(
            reverse("portal_promotions:flash_create"), _form(sku, **overrides), HTTP_ACCEPT_LANGUAGE="en"
        )
        assert answer.status_code == 400
        assert text in answer.content.decode()
    assert FlashSale.objects.count() == 0


def test_other_merchants_and_members_without_the_catalog_role_get_404(client):
    sale = live_sale()
    other = stocked_sku().merchant
    orders_member = UserFactory()
    MerchantMember.objects.create(merchant=sale.merchant, user=orders_member, role="orders")
    for user in (other.owner, orders_member, UserFactory()):
        client.force_login(user)
        assert client.post(reverse("portal_promotions:flash_pause", args=[sale.pk]), {"paused": "1"}).status_code == 404
    client.force_login(orders_member)
    assert client.get(reverse("portal_promotions:flash_list")).status_code == 404
    sale.refresh_from_db()
    assert sale.is_paused is False


# --- Admin --------------------------------------------------------------------------------------


def test_operations_create_a_platform_funded_sale_and_pause_it_in_the_admin(client):
    sku = stocked_sku(price="80.00", stock=30)
    client.force_login(staff("operations"))
    start = timezone.localtime(timezone.now() + timedelta(days=1))
    data = {
        "sku": sku.pk,
        "special_price": "40.00",
        "quantity": "10",
        "per_buyer_limit": "1",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": (start + timedelta(hours=1)).strftime("%Y-%m-%d"),
        "ends_at_1": (start + timedelta(hours=1)).strftime("%H:%M:%S"),
        "funding": "split",
        "platform_share": "0.2500",
        "reservations-TOTAL_FORMS": "0",
        "reservations-INITIAL_FORMS": "0",
    }
    answer = client.post(reverse("admin:promotions_flashsale_add"), data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    sale = FlashSale.objects.get()
    assert (sale.merchant_id, sale.funding, sale.platform_share, sale.created_by.is_staff) == (
        sku.merchant_id,
        "split",
        Decimal("0.2500"),
        True,
    )
    assert client.post(reverse("admin:promotions_flashsale_pause", args=[sale.pk]), {}).status_code == 302
    sale.refresh_from_db()
    assert sale.is_paused is True


def test_staff_without_the_permissions_get_403_in_the_admin(client):
    sale = live_sale()
    client.force_login(staff("reviewer"))
    assert client.get(reverse("admin:promotions_flashsale_add")).status_code == 403
    assert client.post(reverse("admin:promotions_flashsale_pause", args=[sale.pk]), {}).status_code == 403
    sale.refresh_from_db()
    assert (sale.is_paused, FlashSale.objects.count()) == (False, 1)
