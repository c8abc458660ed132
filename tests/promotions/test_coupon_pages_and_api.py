"""The coupon centre, "my coupons" and the coupon API: what each identity gets, exact
contents, claims through pages and API, and that refusals change nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from promotions import services
from promotions.models import Coupon
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.promotions.coupon_factories import coupon_promotion

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    merchant, _cats = live_merchant()
    shop = coupon_promotion(merchant=merchant, amount="20.00", min_spend="100.00", max_uses=2, per_buyer_limit=1)
    platform = coupon_promotion(amount="5.00", min_spend=None, ends_at=timezone.now() + timedelta(days=30))
    coded = coupon_promotion(amount="8.00", code="VIP8")  # claimed by its code, not listed
    buyer, other = UserFactory(), UserFactory()
    staff = UserFactory(is_staff=True)
    return {
        "merchant": merchant,
        "shop": shop,
        "platform": platform,
        "coded": coded,
        "buyer": buyer,
        "other": other,
        "staff": staff,
    }


def _client(client, user):
    if user is not None:
        client.force_login(user)
    return client


# --- Pages -------------------------------------------------------------------------------------


def test_coupon_centre_lists_claimable_coupons_for_everyone(client, world):
    response = client.get(reverse("coupons:centre"), **EN)
    assert response.status_code == 200
    shown = [p.pk for p in response.context["page"].object_list]
    assert shown == [world["shop"].pk, world["platform"].pk]  # ending soonest first; the coded one not listed
    body = response.content.decode()
    assert "Sign in to claim" in body
    assert "¥20.00 off" in body and "On eligible items of ¥100.00 or more" in body
    assert f"In {world['merchant'].display_name} only" in body


def test_claiming_from_the_centre_shows_claimed_and_the_limit(client, world):
    _client(client, world["buyer"])
    response = client.post(reverse("coupons:claim", args=[world["shop"].pk]), follow=True, **EN)
    coupon = Coupon.objects.get(buyer=world["buyer"])
    assert coupon.promotion_id == world["shop"].pk
    assert f"Coupon claimed: {world['shop'].name}. Its code is {coupon.code}." in response.content.decode()
    cards = {p.pk: p for p in response.context["page"].object_list}
    assert (cards[world["shop"].pk].claimed, cards[world["shop"].pk].limit_reached) == (1, True)
    assert "You hold as many as you may" in response.content.decode()
    # A second claim is refused with the reason and writes nothing.
    response = client.post(reverse("coupons:claim", args=[world["shop"].pk]), follow=True, **EN)
    assert "You already hold as many of these coupons as one buyer may (1)." in response.content.decode()
    assert Coupon.objects.count() == 1
    assert Coupon.objects.filter(promotion=world["shop"]).count() == 1


def test_the_centre_says_all_claimed_and_empty_state(client, world):
    for _ in range(2):
        services.coupon_claim(promotion=world["shop"], buyer=UserFactory())
    response = client.get(reverse("coupons:centre"), **EN)
    assert "All claimed" in response.content.decode()
    type(world["shop"]).objects.update(status="ended")
    response = client.get(reverse("coupons:centre"), **EN)
    assert "No coupons to claim right now" in response.content.decode()


def test_claim_by_code_page(client, world):
    _client(client, world["buyer"])
    response = client.post(reverse("coupons:claim_code"), {"code": "vip8"}, follow=True, **EN)
    assert response.redirect_chain[-1][0] == reverse("coupons:mine")
    assert [c.promotion_id for c in response.context["page"].object_list] == [world["coded"].pk]
    response = client.post(reverse("coupons:claim_code"), {"code": "NOPE"}, follow=True, **EN)
    assert "There is no coupon with this code." in response.content.decode()
    assert Coupon.objects.count() == 1


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_claim_pages_refuse_anonymous_and_staff_and_write_nothing(client, world, who):
    user = world["staff"] if who == "staff" else None
    _client(client, user)
    for url, data in (
        (reverse("coupons:claim", args=[world["shop"].pk]), {}),
        (reverse("coupons:claim_code"), {"code": "VIP8"}),
    ):
        response = client.post(url, data)
        if who == "anonymous":
            assert response.status_code == 302 and response.url.startswith(reverse("login"))
        else:
            assert response.status_code == 404
    assert Coupon.objects.count() == 0


def test_claiming_an_unlisted_promotion_is_404(client, world):
    _client(client, world["buyer"])
    assert client.post(reverse("coupons:claim", args=[world["coded"].pk])).status_code == 404
    assert client.post(reverse("coupons:claim", args=[999999])).status_code == 404
    assert Coupon.objects.count() == 0


def test_my_coupons_tabs_and_pagination(client, world):
    buyer = world["buyer"]
    used = services.coupon_claim(promotion=world["shop"], buyer=buyer)
    services.coupon_use(coupon=used, buyer=buyer, order_id=5, order_number="B2612070000000005")
    available = [services.coupon_claim(promotion=world["platform"], buyer=buyer) for _ in range(13)]
    expired = coupon_promotion(
        starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() + timedelta(seconds=60)
    )
    gone = services.coupon_claim(promotion=expired, buyer=buyer)
    type(expired).objects.filter(pk=expired.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    services.coupon_claim(promotion=world["platform"], buyer=world["other"])  # not shown
    _client(client, buyer)
    first = client.get(reverse("coupons:mine"), **EN)
    assert first.status_code == 200
    assert [c.pk for c in first.context["page"].object_list] == [c.pk for c in available[:12]]
    second = client.get(reverse("coupons:mine") + "?page=2", **EN)
    assert [c.pk for c in second.context["page"].object_list] == [available[12].pk]
    used_tab = client.get(reverse("coupons:mine") + "?state=used", **EN)
    assert [c.pk for c in used_tab.context["page"].object_list] == [used.pk]
    assert "B2612070000000005" in used_tab.content.decode()
    expired_tab = client.get(reverse("coupons:mine") + "?state=expired", **EN)
    assert [c.pk for c in expired_tab.context["page"].object_list] == [gone.pk]


def test_my_coupons_empty_state_and_login(client, world):
    assert client.get(reverse("coupons:mine")).status_code == 302
    _client(client, world["other"])
    response = client.get(reverse("coupons:mine"), **EN)
    assert "You have no coupons to use" in response.content.decode()


# --- API ---------------------------------------------------------------------------------------

API = "/api/v1/promotions/coupons/"


def test_api_list_claimable_for_anyone_with_claimed_counts(client, world):
    response = client.get(API, **EN)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [world["shop"].pk, world["platform"].pk]
    assert rows[0]["amount"] == "20.00" and rows[0]["min_spend"] == "100.00"
    assert (rows[0]["left"], rows[0]["claimed"], rows[0]["can_claim"]) == (2, 0, True)
    assert rows[0]["shop"] == world["merchant"].display_name and rows[1]["shop"] is None
    services.coupon_claim(promotion=world["shop"], buyer=world["buyer"])
    _client(client, world["buyer"])
    rows = client.get(API).json()["results"]
    assert (rows[0]["left"], rows[0]["claimed"], rows[0]["can_claim"]) == (1, 1, False)


def test_api_claim_mine_and_detail(client, world):
    _client(client, world["buyer"])
    response = client.post(f"{API}{world['shop'].pk}/claim/", **EN)
    assert response.status_code == 201
    body = response.json()
    coupon = Coupon.objects.get()
    assert (body["id"], body["code"], body["state"], body["promotion"]["id"]) == (
        coupon.pk,
        coupon.code,
        "available",
        world["shop"].pk,
    )
    again = client.post(f"{API}{world['shop'].pk}/claim/", **EN)
    assert again.status_code == 409
    assert again.json() == {
        "code": "coupon_limit_reached",
        "message": "You already hold as many of these coupons as one buyer may (1).",
        "extra": {"limit": 1},
    }
    by_code = client.post(f"{API}claim-code/", {"code": "vip8"}, content_type="application/json")
    assert by_code.status_code == 201
    unknown = client.post(f"{API}claim-code/", {"code": "NOPE"}, content_type="application/json", **EN)
    assert (unknown.status_code, unknown.json()["code"]) == (400, "coupon_code_unknown")
    assert Coupon.objects.count() == 2
    mine = client.get(f"{API}mine/").json()["results"]
    assert sorted(r["promotion"]["id"] for r in mine) == sorted([world["shop"].pk, world["coded"].pk])
    assert client.get(f"{API}mine/?state=used").json()["results"] == []
    assert client.get(f"{API}mine/?state=bogus").status_code == 400
    assert client.get(f"{API}mine/{coupon.pk}/").json()["code"] == coupon.code


def test_api_another_buyers_coupon_is_404_and_staff_and_anonymous_are_refused(client, world):
    coupon = services.coupon_claim(promotion=world["shop"], buyer=world["buyer"])
    _client(client, world["other"])
    assert client.get(f"{API}mine/{coupon.pk}/").status_code == 404
    assert client.get(f"{API}mine/").json()["results"] == []
    client.logout()
    assert client.get(f"{API}mine/").status_code == 401
    assert client.post(f"{API}{world['platform'].pk}/claim/").status_code == 401
    _client(client, world["staff"])
    assert client.get(f"{API}mine/").status_code == 404
    assert client.post(f"{API}{world['platform'].pk}/claim/").status_code == 404
    assert client.get(API).status_code == 200
    assert Coupon.objects.count() == 1
    assert Coupon.objects.filter(promotion=world["platform"]).count() == 0


def test_api_claim_of_a_used_up_promotion_is_409_and_writes_nothing(client, world):
    for _ in range(2):
        services.coupon_claim(promotion=world["shop"], buyer=UserFactory())
    _client(client, world["buyer"])
    response = client.post(f"{API}{world['shop'].pk}/claim/", **EN)
    assert (response.status_code, response.json()["code"]) == (409, "coupon_used_up")
    assert Coupon.objects.filter(buyer=world["buyer"]).count() == 0
    assert Coupon.objects.filter(promotion=world["shop"]).count() == 2


def test_the_schema_documents_the_coupon_api(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert {
        "/api/v1/promotions/coupons/",
        "/api/v1/promotions/coupons/{id}/claim/",
        "/api/v1/promotions/coupons/claim-code/",
        "/api/v1/promotions/coupons/mine/",
        "/api/v1/promotions/coupons/mine/{id}/",
    } <= set(paths)
    assert "coupon_limit_reached" in paths["/api/v1/promotions/coupons/{id}/claim/"]["post"]["description"]
    assert "coupon_code" in str(paths["/api/v1/orders/checkout/"]["post"])


def test_the_coupon_pages_and_lists_read_a_constant_number_of_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buyer = world["buyer"]
    _client(client, buyer)
    urls = [reverse("coupons:centre"), reverse("coupons:mine"), API, f"{API}mine/"]

    def counts():
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    services.coupon_claim(promotion=world["platform"], buyer=buyer)
    before = counts()
    for _ in range(4):
        merchant, _cats = live_merchant()
        promotion = coupon_promotion(merchant=merchant, min_spend=None)
        services.coupon_claim(promotion=promotion, buyer=buyer)
    # The API: session, user, the page's count, the rows, their steps. The pages: constant
    # (their base template's own queries come on top).
    assert before[2:] == [5, 5]
    assert counts() == before
