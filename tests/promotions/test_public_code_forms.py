"""A coupon promotion's public code from the portal's promotion form and the admin's
platform-promotion form: set, changed, removed; refusals on the field, nothing written."""

from __future__ import annotations

import pytest

from promotions.models import CouponCode, Promotion
from tests.promotions.test_portal_promotions import BASE, EN, _form, shop  # noqa: F401
from tests.promotions.test_promotions_admin import ADMIN, _errors, _state, staff
from tests.promotions.test_promotions_admin import _form as _admin_form

pytestmark = pytest.mark.django_db


def _coupon_form(**overrides) -> dict:
    return _form(channel="coupon", **overrides)


def test_the_portal_form_sets_changes_and_removes_the_public_code(client, shop):  # noqa: F811
    merchant, _category = shop
    client.force_login(merchant.owner)
    created = client.post(BASE + "new/", _coupon_form(public_code="double12"), **EN)
    assert created.status_code == 302
    promotion = Promotion.objects.get()
    assert list(CouponCode.objects.values_list("promotion_id", "code")) == [(promotion.pk, "DOUBLE12")]
    edit = client.get(f"{BASE}{promotion.pk}/edit/", **EN)
    assert edit.context["form"].initial["public_code"] == "DOUBLE12"
    changed = client.post(f"{BASE}{promotion.pk}/edit/", _coupon_form(public_code="SAVE20"), **EN)
    assert changed.status_code == 302
    assert list(CouponCode.objects.values_list("promotion_id", "code")) == [(promotion.pk, "SAVE20")]
    removed = client.post(f"{BASE}{promotion.pk}/edit/", _coupon_form(public_code=""), **EN)
    assert removed.status_code == 302
    assert CouponCode.objects.count() == 0


@pytest.mark.parametrize(
    ("channel", "code", "message"),
    [
        ("coupon", "AB", "A code has 4 to 32 letters and digits."),
        ("coupon", "NO-DASH", "A code has 4 to 32 letters and digits."),
        ("coupon", "TAKEN1", "Another promotion already uses this code."),
        ("automatic", "AUTO1234", "Only coupon promotions have codes."),
    ],
)
def test_a_refused_public_code_lands_on_the_field_and_creates_nothing(client, shop, channel, code, message):  # noqa: F811
    merchant, _category = shop
    client.force_login(merchant.owner)
    if code == "TAKEN1":
        assert client.post(BASE + "new/", _coupon_form(name="First", public_code="taken1"), **EN).status_code == 302
    before = (
        set(Promotion.objects.values_list("pk", flat=True)),
        list(CouponCode.objects.values_list("code", flat=True)),
    )
    response = client.post(BASE + "new/", _form(channel=channel, public_code=code), **EN)
    assert response.status_code == 400
    assert response.context["form"].errors["public_code"] == [message]
    after = set(Promotion.objects.values_list("pk", flat=True)), list(CouponCode.objects.values_list("code", flat=True))
    assert after == before


def test_a_refused_public_code_leaves_the_edited_promotion_as_it_was(client, shop):  # noqa: F811
    merchant, _category = shop
    client.force_login(merchant.owner)
    client.post(BASE + "new/", _coupon_form(name="Other", public_code="TAKEN2"), **EN)
    client.post(BASE + "new/", _coupon_form(name="Mine", public_code="MINE2"), **EN)
    mine = Promotion.objects.get(name="Mine")
    response = client.post(f"{BASE}{mine.pk}/edit/", _coupon_form(name="Renamed", public_code="taken2"), **EN)
    assert response.status_code == 400
    assert response.context["form"].errors["public_code"] == ["Another promotion already uses this code."]
    mine.refresh_from_db()
    assert mine.name == "Mine"
    assert mine.public_code.code == "MINE2"


# --- Admin: platform promotions --------------------------------------------------------------------


def test_the_admin_form_sets_changes_and_removes_the_public_code(client):
    client.force_login(staff("operations"))
    assert client.post(f"{ADMIN}add/", _admin_form(channel="coupon", public_code="plat50"), **EN).status_code == 302
    promotion = Promotion.objects.get()
    assert list(CouponCode.objects.values_list("promotion_id", "code")) == [(promotion.pk, "PLAT50")]
    page = client.get(f"{ADMIN}{promotion.pk}/change/", **EN)
    assert page.context["adminform"].form.fields["public_code"].initial == "PLAT50"
    changed = client.post(f"{ADMIN}{promotion.pk}/change/", _admin_form(channel="coupon", public_code="PLAT60"), **EN)
    assert changed.status_code == 302
    assert list(CouponCode.objects.values_list("code", flat=True)) == ["PLAT60"]
    client.post(f"{ADMIN}{promotion.pk}/change/", _admin_form(channel="coupon", public_code=""), **EN)
    assert CouponCode.objects.count() == 0


@pytest.mark.parametrize(
    ("channel", "code", "message"),
    [
        ("coupon", "X1", "A code has 4 to 32 letters and digits."),
        ("coupon", "TAKEN3", "Another promotion already uses this code."),
        ("automatic", "AUTO1234", "Only coupon promotions have codes."),
    ],
)
def test_an_admin_refused_public_code_lands_on_the_field_and_writes_nothing(client, channel, code, message):
    client.force_login(staff("operations"))
    if code == "TAKEN3":
        client.post(f"{ADMIN}add/", _admin_form(name="First", channel="coupon", public_code=code), **EN)
    before = _state(), list(CouponCode.objects.values_list("code", flat=True))
    response = client.post(f"{ADMIN}add/", _admin_form(channel=channel, public_code=code.lower()), **EN)
    assert response.status_code == 200
    assert [e for e in _errors(response) if e != "Please correct the error below."] == [message]
    assert response.context["adminform"].form.errors["public_code"] == [message]
    assert (_state(), list(CouponCode.objects.values_list("code", flat=True))) == before


def test_an_admin_refused_code_leaves_the_edited_promotion_as_it_was(client):
    client.force_login(staff("operations"))
    client.post(f"{ADMIN}add/", _admin_form(name="Other", channel="coupon", public_code="TAKEN4"), **EN)
    client.post(f"{ADMIN}add/", _admin_form(name="Mine", channel="coupon"), **EN)
    mine = Promotion.objects.get(name="Mine")
    before = _state()
    response = client.post(
        f"{ADMIN}{mine.pk}/change/", _admin_form(name="Renamed", channel="coupon", public_code="TAKEN4"), **EN
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["public_code"] == ["Another promotion already uses this code."]
    assert _state() == before
    assert not CouponCode.objects.filter(promotion=mine).exists()
