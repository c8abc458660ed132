"""Operations' promotion screens: the approval queue (approve, or refuse with a reason; both
recorded), platform promotions created and edited through the services, budgets, and who may
do what (operations; finance and reviewers may not)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from marketplace.models import AuditLogEntry
from promotions.models import Promotion, PromotionStep
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.promotions.pages_factories import platform_promotion, shop_promotion

pytestmark = pytest.mark.django_db

ADMIN = "/admin/promotions/promotion/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def staff(group: str | None):
    user = UserFactory(is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _form(**overrides) -> dict:
    data = {
        "name": "Double 12",
        "description": "",
        "channel": "automatic",
        "starts_at_0": "2026-12-10",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-12-13",
        "ends_at_1": "00:00:00",
        "priority": "0",
        "scope": "platform",
        "benefit_type": "spend_and_save",
        "steps_text": "200:20, 300:40",
    }
    data.update(overrides)
    return data


def _state():
    return (
        list(Promotion.objects.order_by("pk").values_list("pk", "name", "status", "status_reason", "updated_at")),
        PromotionStep.objects.count(),
        AuditLogEntry.objects.count(),
    )


def _errors(response) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", e)
        for e in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    ]


@pytest.fixture
def asking():
    merchant, _ = live_merchant()
    return shop_promotion(merchant, live=True, platform_share=Decimal("0.4"))


def test_the_queue_lists_promotions_waiting_for_approval_first(client, asking):
    platform_promotion(name="Later one")
    client.force_login(staff("operations"))
    body = client.get(ADMIN, **EN).content.decode()
    names = re.findall(r'<th class="field-name"><a href="[^"]+">([^<]+)</a>', body)
    assert names == ["Spring sale", "Later one"]


def test_approve_records_who_and_when(client, asking):
    operator = staff("operations")
    client.force_login(operator)
    response = client.post(f"{ADMIN}{asking.pk}/approve/", **EN)
    assert response.status_code == 302
    asking.refresh_from_db()
    assert (asking.status, asking.approved_by, asking.approved_at is not None) == ("active", operator, True)
    entry = AuditLogEntry.objects.filter(action="promotions.approve").get()
    assert (entry.actor, entry.object_id) == (operator, str(asking.pk))


def test_refuse_needs_a_reason_the_merchant_reads(client, asking):
    client.force_login(staff("operations"))
    before = _state()
    response = client.post(f"{ADMIN}{asking.pk}/reject/", {"reason": ""}, **EN)
    assert response.status_code == 200
    assert _errors(response) == ["This field is required."]
    assert _state() == before
    client.post(f"{ADMIN}{asking.pk}/reject/", {"reason": "40 % is above this month's budget"}, **EN)
    asking.refresh_from_db()
    assert (asking.status, asking.status_reason) == ("rejected", "40 % is above this month's budget")
    assert (
        AuditLogEntry.objects.filter(action="promotions.reject", reason="40 % is above this month's budget").count()
        == 1
    )


@pytest.mark.parametrize("group", ["finance", "reviewer", None])
def test_other_staff_cannot_decide(client, asking, group):
    client.force_login(staff(group))
    before = _state()
    for action in ("approve", "reject", "pause", "end"):
        assert client.post(f"{ADMIN}{asking.pk}/{action}/", {"reason": "no"}, **EN).status_code == 403
    assert client.post(f"{ADMIN}add/", _form(), **EN).status_code == 403
    assert _state() == before


def test_create_and_edit_a_platform_promotion_through_the_services(client):
    client.force_login(staff("operations"))
    response = client.post(f"{ADMIN}add/", _form(budget_amount="5000.00", max_uses="100"), **EN)
    assert response.status_code == 302
    promotion = Promotion.objects.get()
    assert (promotion.level, promotion.merchant, promotion.platform_share, promotion.status) == (
        "platform",
        None,
        Decimal("1.0000"),
        "draft",
    )
    assert list(promotion.steps.values_list("threshold", "amount")) == [
        (Decimal("200.00"), Decimal("20.00")),
        (Decimal("300.00"), Decimal("40.00")),
    ]
    assert AuditLogEntry.objects.filter(action="promotions.created").count() == 1
    client.post(f"{ADMIN}{promotion.pk}/change/", _form(name="Double 12 (final)", steps_text="100:10"), **EN)
    promotion.refresh_from_db()
    assert promotion.name == "Double 12 (final)"
    assert list(promotion.steps.values_list("threshold", "amount")) == [(Decimal("100.00"), Decimal("10.00"))]
    client.post(f"{ADMIN}{promotion.pk}/activate/", **EN)
    promotion.refresh_from_db()
    assert promotion.status == "active"
    # Active: shown, no longer editable.
    before = _state()
    assert client.post(f"{ADMIN}{promotion.pk}/change/", _form(name="Too late"), **EN).status_code == 403
    assert _state() == before


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"steps_text": "200:20, 300:10"},
            ["Each step needs a higher threshold and a larger amount than the one before."],
        ),
        ({"steps_text": "200-20"}, ["Write each step as threshold:amount, e.g. 200:20, 300:40."]),
        ({"ends_at_0": "2026-12-01"}, ["The promotion must end after it starts."]),
        ({"benefit_type": "percentage", "percent": "100"}, ["The percentage is between 0 and 100."]),
        ({"scope": "categories"}, ["Choose at least one category."]),
    ],
)
def test_refusals_show_on_the_form_and_write_nothing(client, overrides, errors):
    client.force_login(staff("operations"))
    before = _state()
    response = client.post(f"{ADMIN}add/", _form(**overrides), **EN)
    assert response.status_code == 200
    assert [e for e in _errors(response) if e != "Please correct the error below."] == errors
    assert _state() == before


def test_budget_columns(client):
    promotion = platform_promotion(live=True, budget_amount=Decimal("1000.00"), max_uses=20)
    Promotion.objects.filter(pk=promotion.pk).update(budget_spent=Decimal("250.50"), uses_count=7)
    client.force_login(staff("operations"))
    body = client.get(ADMIN, **EN).content.decode()
    cells = {
        name: re.sub(r"<[^>]+>", "", value).strip()
        for name, value in re.findall(
            r'<td class="field-(budget_committed|budget_used|budget_left|uses|funding)[^"]*">(.*?)</td>', body
        )
    }
    assert cells == {
        "funding": "The platform",
        "budget_committed": "¥1,000.00",
        "budget_used": "¥250.50",
        "budget_left": "¥749.50",
        "uses": "7 / 20",
    }
