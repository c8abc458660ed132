"""Group buy API (/api/v1/promotions/group-buys/): who may call what, and the answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import BuyerOrder
from promotions.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyParticipant, GroupBuyStep
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.orders.test_portal_orders import member
from tests.promotions.group_buy_world import build_group_world, join

pytestmark = pytest.mark.django_db

API = "/api/v1/promotions/group-buys/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def world():
    return build_group_world()


def identities(world) -> dict:
    return {
        "anonymous": None,
        "buyer": UserFactory(),
        "other_merchant": world.other_shop.owner,
        "owner": world.shop.owner,
        "catalog_member": member(world.shop, "catalog"),
        "orders_member": member(world.shop, "orders"),
        "staff": UserFactory(is_staff=True, is_superuser=True),
    }


# --- Public reads --------------------------------------------------------------------------------


def test_anyone_reads_open_campaigns_and_a_group_with_masked_names(world):
    first, _ = join(world, buyer=UserFactory(first_name="Wei", last_name="Wang"))
    join(world, group=first.group, paid=False)
    for user in identities(world).values():
        listed = client_for(user).get(API)
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()["results"]] == [world.campaign.pk]
        answer = client_for(user).get(f"{API}groups/{first.group_id}/")
        assert answer.status_code == 200
    body = answer.json()
    assert body["paid_count"] == 1
    assert body["current_percent"] is None  # 1 paid: below the first step (2)
    assert body["next_step"] == {"participants": 2, "percent": "10.00"}
    assert body["needed"] == 1
    assert (body["members"][0]["name"], body["members"][0]["paid"]) == ("W**", True)
    assert body["members"][1]["paid"] is False
    assert all("@" not in m["name"] for m in body["members"])
    detail = client_for(None).get(f"{API}{world.campaign.pk}/").json()
    assert (detail["unit_price"], detail["first_step_price"]) == ("100.00", "90.00")
    assert detail["steps"] == [
        {"participants": 2, "percent": "10.00"},
        {"participants": 5, "percent": "20.00"},
        {"participants": 10, "percent": "30.00"},
    ]


def test_unknown_ids_are_404(world):
    assert client_for(None).get(f"{API}groups/999999/").status_code == 404
    assert client_for(None).get(f"{API}999999/").status_code == 404


# --- Joining ----------------------------------------------------------------------------------------


def test_join_permissions_and_answer(world):
    people = identities(world)
    url = f"{API}{world.campaign.pk}/join/"
    assert client_for(None).post(url, {"address": 1}, format="json").status_code == 401
    assert client_for(people["staff"]).post(url, {"address": 1}, format="json").status_code == 404
    assert BuyerOrder.objects.count() == 0
    buyer = people["buyer"]
    address = address_for(buyer)
    answer = client_for(buyer).post(url, {"address": address.pk, "quantity": 2}, format="json")
    assert answer.status_code == 201
    body = answer.json()
    participant = GroupBuyParticipant.objects.get()
    assert body == {
        "participant": participant.pk,
        "group": participant.group_id,
        "order_number": BuyerOrder.objects.get().number,
        "payable_total": "188.00",
    }
    # Joining the same group again: 409, nothing written.
    again = client_for(buyer).post(url, {"address": address.pk, "group": participant.group_id}, format="json", **EN)
    assert (again.status_code, again.json()["code"]) == (409, "already_joined")
    assert (BuyerOrder.objects.count(), GroupBuyParticipant.objects.count()) == (1, 1)


def test_join_with_another_buyers_address_is_refused(world):
    buyer, other = UserFactory(), UserFactory()
    address = address_for(other)
    answer = client_for(buyer).post(f"{API}{world.campaign.pk}/join/", {"address": address.pk}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_address")
    assert (BuyerOrder.objects.count(), GroupBuyGroup.objects.count()) == (0, 0)


def test_join_a_closed_group_is_409(world):
    first, _ = join(world)
    now = timezone.now()
    GroupBuyGroup.objects.filter(pk=first.group_id).update(
        opened_at=now - timedelta(hours=30), closes_at=now - timedelta(hours=6)
    )
    buyer = UserFactory()
    answer = client_for(buyer).post(
        f"{API}{world.campaign.pk}/join/", {"address": address_for(buyer).pk, "group": first.group_id}, format="json"
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "group_closed")
    assert BuyerOrder.objects.count() == 1


# --- The merchant's campaigns ----------------------------------------------------------------------


def test_merchant_endpoints_are_for_the_owner_and_catalog_members_only(world):
    people = identities(world)
    base = f"{API}merchant/"
    expected = {
        "anonymous": 401,
        "buyer": 404,
        "other_merchant": 200,  # its own (empty) list
        "owner": 200,
        "catalog_member": 200,
        "orders_member": 404,
        "staff": 404,
    }
    for name, user in people.items():
        assert client_for(user).get(base).status_code == expected[name], name
    assert client_for(people["other_merchant"]).get(base).json()["results"] == []
    detail = {**expected, "other_merchant": 404}
    for name, user in people.items():
        assert client_for(user).get(f"{base}{world.campaign.pk}/").status_code == detail[name], name
        assert client_for(user).get(f"{base}{world.campaign.pk}/groups/").status_code == detail[name], name
    # Another merchant cannot pause it: 404 and nothing changed.
    answer = client_for(people["other_merchant"]).post(f"{base}{world.campaign.pk}/pause/")
    assert answer.status_code == 404
    world.campaign.refresh_from_db()
    assert world.campaign.status == "active"


def test_the_owner_creates_pauses_resumes_and_ends(world):
    client = client_for(world.shop.owner)
    now = timezone.now()
    body = {
        "sku": world.sku.pk,
        "name": "Three friends",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "steps": [{"participants": 3, "percent": "15"}, {"participants": 6, "percent": "25.5"}],
    }
    created = client.post(f"{API}merchant/", body, format="json")
    assert created.status_code == 201
    campaign = GroupBuyCampaign.objects.get(name="Three friends")
    assert list(campaign.steps.values_list("participants", "percent")) == [(3, Decimal("15.00")), (6, Decimal("25.50"))]
    assert (created.json()["platform_share"], created.json()["group_count"]) == ("0.0000", 0)
    url = f"{API}merchant/{campaign.pk}/"
    assert client.post(f"{url}pause/").json()["status"] == "paused"
    assert client.post(f"{url}resume/").json()["status"] == "active"
    assert client.post(f"{url}end/").json()["status"] == "ended"
    refused = client.post(f"{url}resume/")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")


def test_a_bad_ladder_is_400_and_nothing_is_written(world):
    client = client_for(world.shop.owner)
    now = timezone.now()
    body = {
        "sku": world.sku.pk,
        "name": "Bad",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "steps": [{"participants": 5, "percent": "20"}, {"participants": 2, "percent": "30"}],
    }
    before = (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count())
    answer = client.post(f"{API}merchant/", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "steps_not_increasing")
    assert (GroupBuyCampaign.objects.count(), GroupBuyStep.objects.count()) == before


def test_another_merchants_sku_is_404(world):
    now = timezone.now()
    body = {
        "sku": world.sku.pk,
        "name": "Not mine",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "steps": [{"participants": 2, "percent": "10"}],
    }
    answer = client_for(world.other_shop.owner).post(f"{API}merchant/", body, format="json")
    assert answer.status_code == 404
    assert GroupBuyCampaign.objects.count() == 1


def test_the_merchant_sees_its_figures_and_groups(world):
    first, _ = join(world)
    join(world, group=first.group)
    join(world, paid=False)
    client = client_for(world.shop.owner)
    body = client.get(f"{API}merchant/{world.campaign.pk}/").json()
    assert (body["group_count"], body["succeeded_count"], body["paid_participants"]) == (2, 0, 2)
    groups = client.get(f"{API}merchant/{world.campaign.pk}/groups/").json()
    assert [(g["paid_count"], len(g["members"]), g["current_percent"]) for g in groups] == [
        (0, 1, None),
        (2, 2, "10.00"),
    ]
