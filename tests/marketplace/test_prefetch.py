"""`set_prefetched`: rows a service holds, read through the relation without a query, as
after `prefetch_related`."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from marketplace.prefetch import set_prefetched
from tests.factories import UserFactory
from tests.orders.factories import address_for

pytestmark = pytest.mark.django_db


def test_children_are_read_from_memory_in_the_given_order_and_filters_still_ask_the_database():
    buyer = UserFactory()
    first, second = address_for(buyer), address_for(buyer, region="north")
    set_prefetched(buyer, "addresses", [second, first])
    with CaptureQueriesContext(connection) as reading:
        assert list(buyer.addresses.all()) == [second, first]
        assert buyer.addresses.all()[0] is second
        assert buyer.addresses.count() == 2
    assert len(reading) == 0
    # The cache is where prefetch_related puts it: the same key, a queryset of the relation.
    loaded = get_user_model().objects.prefetch_related("addresses").get(pk=buyer.pk)
    assert buyer._prefetched_objects_cache.keys() == loaded._prefetched_objects_cache.keys() == {"addresses"}
    with CaptureQueriesContext(connection) as filtering:
        assert list(buyer.addresses.filter(region="north")) == [second]
    assert len(filtering) == 1
    # Setting it again replaces the list; refresh_from_db() forgets it.
    set_prefetched(buyer, "addresses", [first])
    assert list(buyer.addresses.all()) == [first]
    buyer.refresh_from_db()
    with CaptureQueriesContext(connection) as refreshed:
        assert sorted(a.pk for a in buyer.addresses.all()) == sorted([first.pk, second.pk])
    assert len(refreshed) == 1


def test_a_reverse_one_to_one_reads_the_row_or_none_without_a_query():
    buyer = UserFactory()
    token = Token.objects.create(user=buyer)
    other = UserFactory()
    set_prefetched(other, "auth_token", None)
    set_prefetched(buyer, "auth_token", token)
    with CaptureQueriesContext(connection) as reading:
        assert getattr(other, "auth_token", None) is None
        assert buyer.auth_token is token
    assert len(reading) == 0


def test_only_reverse_relations_are_accepted():
    buyer = UserFactory()
    address = address_for(buyer)
    with pytest.raises(TypeError, match=r"^Address\.buyer is not a reverse foreign key or one-to-one$"):
        set_prefetched(address, "buyer", [buyer])
    with pytest.raises(TypeError, match="groups is not a reverse foreign key or one-to-one"):
        set_prefetched(buyer, "groups", [])
