"""Merchant portal: penalties (list, evidence, appeal) and service fees (plans, subscription,
value-added purchases), their permissions, and their drill-downs on the statement page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from merchants.models import MerchantMember
from settlements import services
from settlements.models import (
    FeeCharge,
    Penalty,
    PenaltyFile,
    Statement,
    Subscription,
    SubscriptionPlan,
    ValueAddedService,
)
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.merchants.factories import pdf_upload
from tests.settlements.charges_defaults import ensure_charge_defaults
from tests.settlements.test_runs import Shop, _settle, at

pytestmark = pytest.mark.django_db

BASE = "/portal/statements/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ensure_charge_defaults()


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _penalty(merchant, **kwargs):
    return services.penalty_raise(
        merchant=merchant,
        kind="counterfeit",
        amount="1000.00",
        reason="Counterfeit brand goods reported by the brand owner",
        actor=UserFactory(is_staff=True),
        evidence=[pdf_upload("report.pdf")],
        **kwargs,
    )


def _identities(merchant, other):
    return {
        "anonymous": None,
        "buyer": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "other merchant": other.owner,
        "catalog member": _member(merchant, "catalog"),
        "orders member": _member(merchant, "orders"),
        "finance member": _member(merchant, "finance"),
        "owner": merchant.owner,
    }


ALLOWED = {"finance member", "owner"}


def test_penalty_pages_and_files_only_for_the_owner_and_finance_members(client):
    merchant, _c = live_merchant()
    other, _c = live_merchant()
    penalty = _penalty(merchant)
    evidence = penalty.files.get()
    urls = [
        f"{BASE}penalties/",
        f"{BASE}penalties/{penalty.pk}/",
        f"{BASE}penalties/{penalty.pk}/files/{evidence.pk}",
        f"{BASE}fees/",
    ]
    for name, user in _identities(merchant, other).items():
        client.logout()
        if user:
            client.force_login(user)
        for url in urls:
            response = client.get(url, **EN)
            if user is None:
                assert (response.status_code, response["Location"].split("?")[0]) == (302, "/accounts/login/"), url
            elif name in ALLOWED:
                assert response.status_code == 200, (name, url)
            elif name == "other merchant" and url.endswith(("penalties/", "fees/")):
                # Another merchant's owner reaches its own lists (without this merchant's rows).
                assert response.status_code == 200, (name, url)
            else:
                assert response.status_code == 404, (name, url)
    client.force_login(merchant.owner)
    page = client.get(f"{BASE}penalties/", **EN).content.decode()
    assert "Counterfeit goods" in page and "¥1,000.00" in page
    body = b"".join(client.get(f"{BASE}penalties/{penalty.pk}/files/{evidence.pk}").streaming_content)
    assert body.startswith(b"%PDF-")
    client.force_login(other.owner)
    assert "Counterfeit" not in client.get(f"{BASE}penalties/", **EN).content.decode()


def test_the_owner_appeals_in_the_portal_with_files_another_merchant_cannot(client):
    merchant, _c = live_merchant()
    other, _c = live_merchant()
    penalty = _penalty(merchant)
    client.force_login(other.owner)
    response = client.post(f"{BASE}penalties/{penalty.pk}/", {"statement": "Not ours"}, **EN)
    assert response.status_code == 404
    penalty.refresh_from_db()
    assert (penalty.status, PenaltyFile.objects.count()) == ("open", 1)

    client.force_login(merchant.owner)
    response = client.post(f"{BASE}penalties/{penalty.pk}/", {"statement": ""}, **EN)
    assert response.status_code == 400
    response = client.post(
        f"{BASE}penalties/{penalty.pk}/",
        {"statement": "Genuine goods: see the brand's authorisation.", "files": [pdf_upload("authorisation.pdf")]},
        **EN,
    )
    assert (response.status_code, response["Location"]) == (302, f"{BASE}penalties/{penalty.pk}/")
    penalty.refresh_from_db()
    assert (penalty.status, penalty.appeal_statement, penalty.appealed_by) == (
        "appealed",
        "Genuine goods: see the brand's authorisation.",
        merchant.owner,
    )
    assert list(penalty.files.order_by("id").values_list("side", "original_name")) == [
        ("evidence", "report.pdf"),
        ("appeal", "authorisation.pdf"),
    ]
    page = client.get(f"{BASE}penalties/{penalty.pk}/", **EN).content.decode()
    assert "Your appeal" in page and "Send the appeal" not in page


def test_an_appeal_with_a_bad_file_writes_nothing(client):
    merchant, _c = live_merchant()
    penalty = _penalty(merchant)
    client.force_login(merchant.owner)
    response = client.post(
        f"{BASE}penalties/{penalty.pk}/",
        {"statement": "See file", "files": [SimpleUploadedFile("a.pdf", b"<html>not a pdf</html>")]},
        **EN,
    )
    assert response.status_code == 400
    assert "Only PDF, PNG and JPEG files are accepted" in response.content.decode()
    penalty.refresh_from_db()
    assert (penalty.status, penalty.files.count()) == ("open", 1)


def test_subscribe_buy_and_end_in_the_portal(client):
    merchant, _c = live_merchant()
    catalog = _member(merchant, "catalog")
    gold = SubscriptionPlan.objects.get(code="gold")
    slot = ValueAddedService.objects.get(kind="homepage_slot")
    client.force_login(catalog)
    assert client.post(f"{BASE}fees/subscribe", {"plan": gold.pk, "cycle": "monthly"}).status_code == 404
    assert client.post(f"{BASE}fees/buy", {"service": slot.pk, "reference": "x"}).status_code == 404
    assert (Subscription.objects.count(), FeeCharge.objects.count()) == (0, 0)

    client.force_login(merchant.owner)
    page = client.get(f"{BASE}fees/", **EN).content.decode()
    assert "物流费用折扣" in page and "¥299.00" in page
    response = client.post(f"{BASE}fees/subscribe", {"plan": gold.pk, "cycle": "monthly"}, **EN)
    assert (response.status_code, response["Location"]) == (302, f"{BASE}fees/")
    response = client.post(f"{BASE}fees/subscribe", {"plan": gold.pk, "cycle": "yearly"}, **EN)
    assert response.status_code == 400
    assert "You already have a subscription" in response.content.decode()
    for _ in range(2):  # the same form sent twice bills once
        assert client.post(f"{BASE}fees/buy", {"service": slot.pk, "reference": "tok-9"}, **EN).status_code == 302
    assert sorted(FeeCharge.objects.filter(merchant=merchant).values_list("kind", "amount")) == [
        ("homepage_slot", Decimal("2000.00")),
        ("subscription", Decimal("299.00")),
    ]
    assert client.post(f"{BASE}fees/subscription/end", **EN).status_code == 302
    assert Subscription.objects.get().ended_on is not None
    assert client.post(f"{BASE}fees/subscription/end", **EN).status_code == 302  # nothing to end: a message
    assert Subscription.objects.get().ended_on is not None


def test_the_statement_page_lists_its_penalties_and_fees(client):
    shop = Shop()
    shop.completed_order([("35.50", 1)], placed=at(2026, 10, 5, 12), completed=at(2026, 10, 12, 18))
    penalty = _penalty(shop.merchant, now=at(2026, 10, 1, 9))
    services.value_added_purchase(
        merchant=shop.merchant,
        service=ValueAddedService.objects.get(kind="keyword_bidding"),
        actor=shop.merchant.owner,
        reference="k-1",
        today=at(2026, 10, 3, 9).date(),
    )
    _settle("2026-10", now=at(2026, 11, 1, 1))
    statement = Statement.objects.get(merchant=shop.merchant)
    services.statement_approve(statement=statement, actor=UserFactory(is_staff=True))
    client.force_login(shop.merchant.owner)
    page = client.get(f"{BASE}{statement.pk}/", **EN).content.decode()
    assert 'href="#penalties">Penalties</a>' in page and 'href="#service-fees">Service fees</a>' in page
    assert f'href="{BASE}penalties/{penalty.pk}/"' in page
    assert "关键词竞价（1,000 次点击）" in page
    csv_text = b"".join(client.get(f"{BASE}{statement.pk}/csv", **EN).streaming_content).decode()
    assert "Penalties" in csv_text and "-1000.00" in csv_text and "-500.00" in csv_text
    assert client.get(f"{BASE}{statement.pk}/pdf", **EN).status_code == 200
    assert Penalty.objects.get().statement == statement
