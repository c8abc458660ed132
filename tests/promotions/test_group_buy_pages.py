"""Group buy pages: the storefront's campaign and group pages with joining, the merchant's
portal pages, and operations' admin — who reaches each, and what it shows or does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from marketplace.models import AuditLogEntry
from orders.models import BuyerOrder
from promotions.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyParticipant, GroupBuyStep
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import member
from tests.promotions.group_buy_world import build_group_world, join

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    return build_group_world()


def client_of(client, user):
    if user is not None:
        client.force_login(user)
    return client


# --- Storefront ------------------------------------------------------------------------------------


def test_the_group_page_shows_the_step_who_joined_masked_and_a_countdown(client, world):
    first, _ = join(world, buyer=UserFactory(first_name="Wei", last_name="Wang", email="wei@example.com"))
    join(world, group=first.group, buyer=UserFactory(first_name="Li", last_name="Na", email="li@example.com"))
    response = client.get(reverse("group_buys:group", args=[first.group_id]), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 people have paid." in page
    assert "Step reached: 10.00% off." in page
    assert "3 more people for 20.00% off." in page
    assert "W**" in page and "L**" in page
    assert "wei@example.com" not in page and "Wang" not in page
    assert "data-countdown=" in page
    assert "Sign in to join" in page  # anonymous: no form


def test_anyone_reads_the_campaign_page_and_unknown_ids_are_404(client, world):
    assert client.get(reverse("group_buys:campaign", args=[world.campaign.pk]), **EN).status_code == 200
    assert client.get(reverse("group_buys:campaign", args=[999999])).status_code == 404
    assert client.get(reverse("group_buys:group", args=[999999])).status_code == 404


def test_joining_from_the_group_page_places_the_order_and_sends_to_payment(client, world):
    first, _ = join(world)
    buyer = UserFactory()
    address = address_for(buyer)
    client.force_login(buyer)
    url = reverse("group_buys:join", args=[world.campaign.pk]) + f"?group={first.group_id}"
    response = client.post(url, {"address": address.pk, "quantity": "1"})
    order = BuyerOrder.objects.get(buyer=buyer)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:pay", kwargs={"number": order.number})
    assert order.payable_total == Decimal("98.00")
    assert GroupBuyParticipant.objects.get(buyer=buyer).group_id == first.group_id
    # The page now says the buyer is in and offers no form.
    page = client.get(reverse("group_buys:group", args=[first.group_id]), **EN).content.decode()
    assert "You are in this group." in page and "Join this group" not in page


def test_a_bad_quantity_shows_on_the_form_and_writes_nothing(client, world):
    buyer = UserFactory()
    address = address_for(buyer)
    client.force_login(buyer)
    response = client.post(
        reverse("group_buys:join", args=[world.campaign.pk]), {"address": address.pk, "quantity": "9"}, **EN
    )
    assert response.status_code == 400
    assert (BuyerOrder.objects.count(), GroupBuyGroup.objects.count()) == (0, 0)


def test_joining_needs_a_sign_in_and_a_post(client, world):
    url = reverse("group_buys:join", args=[world.campaign.pk])
    response = client.post(url, {})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory())
    assert client.get(url).status_code == 405
    assert GroupBuyGroup.objects.count() == 0


# --- Portal -----------------------------------------------------------------------------------------


def test_portal_pages_are_for_the_owner_and_catalog_members(client, world):
    list_url = reverse("portal_group_buys:list")
    detail_url = reverse("portal_group_buys:detail", args=[world.campaign.pk])
    expected = [
        (None, 302, 302),
        (UserFactory(), 404, 404),
        (world.other_shop.owner, 200, 404),
        (member(world.shop, "orders"), 404, 404),
        (member(world.shop, "catalog"), 200, 200),
        (world.shop.owner, 200, 200),
        (UserFactory(is_staff=True, is_superuser=True), 404, 404),
    ]
    for user, list_status, detail_status in expected:
        client.logout()
        client_of(client, user)
        assert client.get(list_url).status_code == list_status, user
        assert client.get(detail_url).status_code == detail_status, user
    client.logout()
    client.force_login(world.other_shop.owner)
    assert "Lamp for friends" not in client.get(list_url, **EN).content.decode()


def test_the_owner_creates_a_group_buy_in_the_portal(client, world):
    client.force_login(world.shop.owner)
    data = {
        "sku": world.sku.pk,
        "name": "Pairs",
        "starts_at": "2026-12-01T10:00",
        "ends_at": "2026-12-31T10:00",
        "max_quantity": "2",
        "window_hours": "24",
        "step_0_participants": "2",
        "step_0_percent": "5",
        "step_1_participants": "4",
        "step_1_percent": "12.5",
    }
    response = client.post(reverse("portal_group_buys:list"), data)
    campaign = GroupBuyCampaign.objects.get(name="Pairs")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal_group_buys:detail", args=[campaign.pk])
    assert list(campaign.steps.values_list("participants", "percent")) == [(2, Decimal("5.00")), (4, Decimal("12.50"))]


def test_a_bad_ladder_in_the_portal_shows_the_error_and_writes_nothing(client, world):
    client.force_login(world.shop.owner)
    data = {
        "sku": world.sku.pk,
        "name": "Wrong",
        "starts_at": "2026-12-01T10:00",
        "ends_at": "2026-12-31T10:00",
        "max_quantity": "1",
        "window_hours": "24",
        "step_0_participants": "4",
        "step_0_percent": "5",
        "step_1_participants": "2",
        "step_1_percent": "10",
    }
    before = (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count())
    response = client.post(reverse("portal_group_buys:list"), data, **EN)
    assert response.status_code == 400
    assert "Each step needs more participants and a larger percentage than the one before." in response.content.decode()
    assert (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count()) == before


def test_pausing_in_the_portal_and_another_merchant_cannot(client, world):
    url = reverse("portal_group_buys:pause", args=[world.campaign.pk])
    client.force_login(world.other_shop.owner)
    assert client.post(url).status_code == 404
    world.campaign.refresh_from_db()
    assert world.campaign.status == "active"
    client.force_login(world.shop.owner)
    assert client.post(url).status_code == 302
    world.campaign.refresh_from_db()
    assert world.campaign.status == "paused"
    assert client.get(url).status_code == 405


# --- Admin --------------------------------------------------------------------------------------------


def staff(group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_operations_pause_and_set_the_platform_share_reviewers_cannot(client, world):
    pause = reverse("admin:promotions_groupbuycampaign_pause", args=[world.campaign.pk])
    share = reverse("admin:promotions_groupbuycampaign_platform_share", args=[world.campaign.pk])
    client.force_login(staff("reviewer"))
    assert client.post(pause, {}).status_code == 403
    assert client.post(share, {"share": "0.5"}).status_code == 403
    world.campaign.refresh_from_db()
    assert (world.campaign.status, world.campaign.platform_share) == ("active", Decimal("0"))

    operator = staff("operations")
    client.force_login(operator)
    assert client.get(reverse("admin:promotions_groupbuycampaign_change", args=[world.campaign.pk])).status_code == 200
    assert client.post(pause, {}).status_code == 302
    assert client.post(share, {"share": "0.5"}).status_code == 302
    world.campaign.refresh_from_db()
    assert (world.campaign.status, world.campaign.platform_share) == ("paused", Decimal("0.5000"))
    entry = AuditLogEntry.objects.filter(action="promotions.group_buy_platform_share").get()
    assert (entry.actor_id, entry.data) == (operator.pk, {"from": "0.0000", "to": "0.5000"})
    # A share out of range is refused on the form, nothing changes.
    assert client.post(share, {"share": "1.5"}).status_code == 200
    world.campaign.refresh_from_db()
    assert world.campaign.platform_share == Decimal("0.5000")
