"""Operations' read-only coupon list: columns, filters by state and promotion, search by code
and buyer e-mail; who may look (operations), nobody adds, edits or deletes."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from marketplace.admin_tools import when
from promotions import services as promotion_services
from promotions.choices import CouponState
from promotions.models import Coupon
from tests.factories import UserFactory
from tests.promotions.coupon_factories import coupon_promotion
from tests.promotions.test_promotions_admin import EN, staff

pytestmark = pytest.mark.django_db

ADMIN = "/admin/promotions/coupon/"


@pytest.fixture
def coupons():
    spring = coupon_promotion(amount="20.00")
    autumn = coupon_promotion(amount="10.00")
    ann, bob = UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")
    first = promotion_services.coupon_claim(promotion=spring, buyer=ann)
    second = promotion_services.coupon_claim(promotion=autumn, buyer=bob)
    used_at = timezone.now()
    # A used coupon names its order (a check constraint): as checkout writes it.
    Coupon.objects.filter(pk=second.pk).update(
        state=CouponState.USED, used_at=used_at, order_id=987, order_number="B20261207000987"
    )
    second.refresh_from_db()
    return spring, autumn, first, second


def _codes(response) -> list[str]:
    return re.findall(r'<th class="field-code"><a href="[^"]+">([A-Z0-9]+)</a>', response.content.decode())


def test_operations_see_every_coupon_with_its_promotion_buyer_state_and_order(client, coupons):
    spring, autumn, first, second = coupons
    client.force_login(staff("operations"))
    response = client.get(ADMIN, **EN)
    assert response.status_code == 200
    assert _codes(response) == [second.code, first.code]  # newest claim first
    rows = response.context["cl"].result_list
    assert [(c.code, c.promotion_id, c.buyer.email, c.state, c.order_number) for c in rows] == [
        (second.code, autumn.pk, "bob@example.com", "used", "B20261207000987"),
        (first.code, spring.pk, "ann@example.com", "available", ""),
    ]
    body = response.content.decode()
    assert "B20261207000987" in body
    assert when(second.used_at) in body and when(first.claimed_at) in body
    assert 'href="/admin/promotions/coupon/add/"' not in body


def test_filters_by_state_and_promotion_and_search_by_code_and_email(client, coupons):
    spring, autumn, first, second = coupons
    client.force_login(staff("operations"))
    assert _codes(client.get(ADMIN, {"state__exact": "used"}, **EN)) == [second.code]
    assert _codes(client.get(ADMIN, {"state__exact": "available"}, **EN)) == [first.code]
    assert _codes(client.get(ADMIN, {"promotion": spring.pk}, **EN)) == [first.code]
    assert _codes(client.get(ADMIN, {"promotion": autumn.pk}, **EN)) == [second.code]
    assert _codes(client.get(ADMIN, {"promotion": "x"}, **EN)) == []
    assert _codes(client.get(ADMIN, {"q": first.code.lower()}, **EN)) == [first.code]
    assert _codes(client.get(ADMIN, {"q": "bob@example"}, **EN)) == [second.code]


def test_only_operations_may_look_and_nobody_changes_a_coupon(client, coupons):
    _spring, _autumn, first, _second = coupons
    before = list(Coupon.objects.order_by("pk").values_list("pk", "state", "order_id"))
    for group in ("finance", "reviewer", None):
        client.force_login(staff(group))
        assert client.get(ADMIN, **EN).status_code == 403
    client.force_login(UserFactory())
    assert client.get(ADMIN, **EN).status_code == 302  # a buyer is sent to the admin's login
    client.force_login(staff("operations"))
    assert client.get(f"{ADMIN}{first.pk}/change/", **EN).status_code == 200  # the read-only view
    assert client.get(f"{ADMIN}add/", **EN).status_code == 403
    assert client.post(f"{ADMIN}{first.pk}/change/", {"state": "used"}, **EN).status_code == 403
    assert client.post(f"{ADMIN}{first.pk}/delete/", {"post": "yes"}, **EN).status_code == 403
    assert list(Coupon.objects.order_by("pk").values_list("pk", "state", "order_id")) == before
