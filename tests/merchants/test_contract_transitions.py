"""A contract is accepted and superseded through CONTRACT_TRANSITIONS (beside `Contract`) and
the kernel's helper, with the refusals it had before."""

import pytest
from django.db import transaction
from django.utils import translation

from marketplace.transitions import transition
from merchants import services
from merchants.choices import MerchantStatus
from merchants.errors import MerchantConflict, MerchantInvalidTransition
from merchants.models import CONTRACT_TRANSITIONS, Contract, Merchant
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state, tier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _contracts(merchant):
    return [
        (c.status, c.accepted_by_id, c.accepted_at is None, c.tier.code)
        for c in Contract.objects.filter(merchant=merchant).select_related("tier").order_by("pk")
    ]


def test_the_contract_table_holds_the_rules():
    assert {a: (sorted(s), t) for a, (s, t) in CONTRACT_TRANSITIONS.table.items()} == {
        "accept": (["offered"], "accepted"),
        "supersede": (["accepted", "offered"], "superseded"),
    }
    assert CONTRACT_TRANSITIONS.can("accept", Contract(status="offered"))
    assert not CONTRACT_TRANSITIONS.can("accept", Contract(status="superseded"))


def test_the_merchant_accepts_the_offered_contract():
    merchant = merchant_in_state(MerchantStatus.APPROVED)
    assert _contracts(merchant) == [("offered", None, True, "core")]
    services.contract_accept(merchant=merchant, actor=merchant.owner)
    assert _contracts(merchant) == [("accepted", merchant.owner.pk, False, "core")]
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.CONTRACT_SIGNED


def test_an_accepted_contract_cannot_be_accepted_again_and_nothing_changes():
    merchant = merchant_in_state(MerchantStatus.CONTRACT_SIGNED)
    contract = Contract.objects.get(merchant=merchant)
    before = _contracts(merchant)
    with pytest.raises(MerchantInvalidTransition) as info, transaction.atomic():
        transition(contract, "accept", table=CONTRACT_TRANSITIONS, changes={"accepted_by": None})
    assert (info.value.status_code, info.value.code) == (409, "invalid_transition")
    assert str(info.value.message) == "This cannot be done while the contract is “Accepted”."
    assert info.value.extra == {"status": "accepted", "action": "accept"}
    assert _contracts(merchant) == before


def test_without_an_offered_contract_nothing_is_accepted():
    merchant = merchant_in_state(MerchantStatus.APPROVED)
    Contract.objects.filter(merchant=merchant).update(status="superseded")
    with pytest.raises(MerchantConflict) as info:
        services.contract_accept(merchant=merchant, actor=merchant.owner)
    assert (info.value.code, str(info.value.message)) == ("no_contract_offered", "There is no contract to accept.")
    assert _contracts(merchant) == [("superseded", None, True, "core")]
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.APPROVED


@pytest.mark.parametrize("state", [MerchantStatus.APPROVED, MerchantStatus.CONTRACT_SIGNED])
def test_a_new_offer_supersedes_the_contract_in_force(state):
    merchant = merchant_in_state(state)
    accepted = state == MerchantStatus.CONTRACT_SIGNED
    # Set up a second review directly: no service sends an approved merchant back to review.
    Merchant.objects.filter(pk=merchant.pk).update(status=MerchantStatus.UNDER_REVIEW)
    services.application_approve(merchant=merchant, actor=UserFactory(is_staff=True), tier=tier("potential"))
    assert _contracts(merchant) == [
        ("superseded", merchant.owner.pk if accepted else None, not accepted, "core"),
        ("offered", None, True, "potential"),
    ]


def test_two_offers_to_one_merchant_on_one_day_get_consecutive_numbers_from_the_sequence():
    """Before, the number was the date, the merchant id and four random hex digits: two offers
    the same day collided once in 65,536 (a 500). The sequence makes them distinct."""
    merchant = merchant_in_state(MerchantStatus.APPROVED)
    Merchant.objects.filter(pk=merchant.pk).update(status=MerchantStatus.UNDER_REVIEW)
    services.application_approve(merchant=merchant, actor=UserFactory(is_staff=True), tier=tier("potential"))
    first, second = Contract.objects.filter(merchant=merchant).order_by("pk")
    value = int(first.number[10:])
    assert (first.number, second.number) == (
        f"MC{first.start_date:%Y%m%d}{value:08d}",
        f"MC{second.start_date:%Y%m%d}{value + 1:08d}",
    )
