"""The merchant portal's home (/portal/): once the shop has been live, its sales, paid orders
and after-sales rate over 30 or 90 days with their charts (members who see orders or
statements), its payable (the open period's estimate and its last statement: members who see
statements) and its credit grade (every member); a new shop's empty state; only the member's
own merchant; a constant number of queries."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants.choices import MerchantStatus
from merchants.models import Merchant, MerchantMember
from settlements.models import Statement
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.orders.dashboard_world import Shop, after_sales, days_ago, paid_order, shipped_order

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _get(client, user, query=""):
    client.force_login(user)
    return client.get(f"/portal/{query}", **EN)


def _figure(body: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}">(.*?)</strong>', body, re.S)
    return match.group(1).strip() if match else None


def _chart(body: str, element: str) -> dict:
    match = re.search(rf'<script id="{element}-data" type="application/json">(.*?)</script>', body, re.S)
    return json.loads(match.group(1))


@pytest.fixture
def shop():
    shop = Shop()
    first = shipped_order(shop, [("10.00", 1)], when=days_ago(1))
    paid_order(shop, [("25.00", 1)], when=days_ago(1))
    paid_order(shop, [("10.00", 2)], when=days_ago(40))
    after_sales(first, when=days_ago(0, hour=0))
    Merchant.objects.filter(pk=shop.merchant.pk).update(credit_grade="A")
    return shop


def test_the_owner_sees_30_days_of_figures_with_their_charts(client, shop):
    body = _get(client, shop.merchant.owner).content.decode()
    assert _figure(body, "sales") == "¥51.00"
    assert _figure(body, "orders") == "2"
    assert _figure(body, "after-sales").startswith("50.0 %")
    assert _figure(body, "grade") == "A"
    assert _figure(body, "estimate") == "¥0.00"
    assert _figure(body, "statement") == "—"
    sales = _chart(body, "dashboard-sales")
    assert sales["type"] == "line" and len(sales["categories"]) == 30
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).strftime("%m-%d")
    assert sales["series"][0]["data"][sales["categories"].index(yesterday)] == 51.0
    assert sum(_chart(body, "dashboard-orders")["series"][0]["data"]) == 2
    assert _chart(body, "dashboard-after-sales")["series"][0]["data"][-1] == 0.0
    assert "echarts.min.js" in body


def test_90_days_take_in_the_older_order_and_a_bad_toggle_shows_30(client, shop):
    body = _get(client, shop.merchant.owner, "?days=90").content.decode()
    assert (_figure(body, "sales"), _figure(body, "orders")) == ("¥79.00", "3")
    assert len(_chart(body, "dashboard-sales")["categories"]) == 90
    body = _get(client, shop.merchant.owner, "?days=365").content.decode()
    assert (_figure(body, "sales"), _figure(body, "orders")) == ("¥51.00", "2")


def test_the_payable_shows_the_open_periods_estimate_and_the_last_statement(client, shop):
    shop.completed_order([("100.00", 1)], placed=days_ago(0, hour=0), completed=timezone.now())
    Statement.objects.create(merchant=shop.merchant, period="2026-09", status="approved", payable=Decimal("1234.50"))
    Statement.objects.create(merchant=shop.merchant, period="2026-10", status="draft", payable=Decimal("99.00"))
    body = _get(client, shop.merchant.owner).content.decode()
    # ¥100 + ¥8 shipping paid, less the commission of a grade A shop (¥4.50).
    assert _figure(body, "estimate") == "¥103.50"
    assert "¥1,234.50" in _figure(body, "statement")
    assert "2026-09" in body


@pytest.mark.parametrize(
    ("role", "sales", "payable"),
    [("owner", True, True), ("orders", True, False), ("finance", True, True), ("catalog", False, False)],
)
def test_each_member_role_sees_its_part(client, shop, role, sales, payable):
    user = shop.merchant.owner if role == "owner" else _member(shop.merchant, role)
    response = _get(client, user)
    body = response.content.decode()
    assert response.status_code == 200
    assert _figure(body, "grade") == "A"
    assert (_figure(body, "sales") is not None, 'id="dashboard-sales"' in body) == (sales, sales)
    assert (_figure(body, "estimate") is not None, _figure(body, "statement") is not None) == (payable, payable)


def test_another_merchant_sees_only_its_own_figures(client, shop):
    other = Shop()
    body = _get(client, other.merchant.owner).content.decode()
    assert (_figure(body, "sales"), _figure(body, "orders"), _figure(body, "grade")) == ("¥0.00", "0", "B")
    assert 'id="dashboard-empty"' in body
    assert "dashboard-sales" not in body and "echarts.min.js" not in body


def test_a_new_shop_shows_its_empty_state(client):
    shop = Shop()
    body = _get(client, shop.merchant.owner).content.decode()
    assert "No paid order in these days yet" in body
    assert _figure(body, "after-sales") == "—"
    assert "data-chart" not in body


def test_a_merchant_never_live_shows_no_figures(client):
    merchant = merchant_in_state(MerchantStatus.DEPOSIT_PAID)
    body = _get(client, merchant.owner).content.decode()
    assert 'id="shop-figures"' not in body


@pytest.mark.parametrize("who", ["anonymous", "buyer", "staff"])
def test_people_without_a_shop_get_no_figures(client, shop, who):
    if who != "anonymous":
        client.force_login(UserFactory(is_staff=who == "staff"))
    response = client.get("/portal/", **EN)
    if who == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        return
    assert response.status_code == 200
    assert 'id="shop-figures"' not in response.content.decode()


def test_the_home_reads_a_constant_number_of_queries(client, shop):
    client.force_login(shop.merchant.owner)
    with CaptureQueriesContext(connection) as few:
        client.get("/portal/?days=90", **EN)
    for n in range(3):
        paid_order(shop, [("10.00", 1)], when=days_ago(2 + n))
    after_sales(shipped_order(shop, [("10.00", 1)], when=days_ago(9)), when=days_ago(8))
    Statement.objects.create(merchant=shop.merchant, period="2026-09", status="approved", payable=Decimal("1.00"))
    with CaptureQueriesContext(connection) as more:
        body = client.get("/portal/?days=90", **EN).content.decode()
    assert _figure(body, "orders") == "7"
    assert len(more) == len(few)
