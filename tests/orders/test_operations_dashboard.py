"""The operations dashboard in the admin (orders.operations_dashboard) and the TOP brand lists
it measures coverage against (catalog.TopBrand, edited in the admin through its services):
exact figures, who may open it (operations and superusers; other staff 403; others to the
admin's login), its link on the admin index, and a constant number of queries."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors as catalog_selectors
from catalog.models import TopBrand
from marketplace.models import AuditLogEntry
from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from merchants import selectors as merchant_selectors
from merchants.choices import MerchantStatus
from tests.catalog.factories import product
from tests.factories import UserFactory
from tests.merchants.factories import merchant_in_state
from tests.orders.dashboard_world import Shop, days_ago, paid_order

pytestmark = pytest.mark.django_db

URL = "/admin/dashboards/operations/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def staff(group: str | None = None, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _chart(body: str, element: str) -> dict:
    match = re.search(rf'<script id="{element}-data" type="application/json">(.*?)</script>', body, re.S)
    return json.loads(match.group(1))


def _text(body: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">(.*?)<', body, re.S).group(1).strip()


@pytest.fixture
def world():
    one, two = Shop(), Shop(tier_code="potential")
    paid_order(one, [("10.00", 1)], when=days_ago(1))
    paid_order(two, [("20.00", 2)], when=days_ago(1))
    paid_order(two, [("20.00", 1)], when=days_ago(50))
    merchant_in_state(MerchantStatus.SUBMITTED)
    product(one.merchant, one.category, title="Midea desk fan", price="99.00")
    product(one.merchant, one.category, title="Gree heater", price="99.00", publish=False)
    for rank, name in enumerate(["Midea", "Gree", "Haier"], start=1):
        TopBrand.objects.create(category=one.category, name=name, rank=rank)
    TopBrand.objects.create(category=two.category, name="Midea", rank=1)
    return one, two


def test_the_figures_are_exact(client, world):
    client.force_login(staff(OPERATIONS))
    response = client.get(URL, **EN)
    assert response.status_code == 200
    body = response.content.decode()
    # Yesterday: ¥10 + ¥8 shipping and 2 × ¥20 + ¥8; the order 50 days ago is outside 30 days.
    assert (_text(body, "figure-gmv"), _text(body, "figure-orders")) == ("¥66.00", "2")
    assert (_text(body, "tier-core"), _text(body, "tier-potential"), _text(body, "tier-strategic")) == ("1", "1", "0")
    # SKUs on sale: the two shops' SKUs bought, and the published fan (the heater is a draft).
    assert _text(body, "target-core") == "1 / 200"
    assert _text(body, "target-skus") == "3 / 100000"
    assert _text(body, "coverage-total") == "25.0 %"
    assert _chart(body, "operations-tiers")["series"][0]["data"] == [1, 1, 0]
    assert sum(_chart(body, "operations-orders")["series"][0]["data"]) == 2
    body = client.get(URL + "?days=90", **EN).content.decode()
    assert (_text(body, "figure-gmv"), _text(body, "figure-orders")) == ("¥94.00", "3")
    assert "read again every 5 minutes" in body


def test_the_selectors_behind_it(world):
    one, two = world
    counts = merchant_selectors.merchant_counts_by_status()
    assert counts[MerchantStatus.LIVE] == 2 and counts[MerchantStatus.SUBMITTED] == 1 and counts["draft"] == 0
    assert set(counts) == set(MerchantStatus.values)
    assert [(code, n) for code, _name, n in merchant_selectors.live_merchant_counts_by_tier()] == [
        ("core", 1),
        ("potential", 1),
        ("strategic", 0),
    ]
    coverage = {row.category_id: row for row in catalog_selectors.top_brand_coverage()}
    assert (coverage[one.category.pk].listed, coverage[one.category.pk].covered) == (3, 1)
    assert coverage[one.category.pk].share == Decimal("33.3")
    assert (coverage[two.category.pk].listed, coverage[two.category.pk].covered, coverage[two.category.pk].share) == (
        1,
        0,
        Decimal("0.0"),
    )


def test_a_suspended_shops_product_covers_no_brand(world):
    one, _two = world
    from merchants import services as merchant_services

    merchant_services.merchant_suspend(merchant=one.merchant, actor=staff(), reason="Fake shipping")
    coverage = {row.category_id: row for row in catalog_selectors.top_brand_coverage()}
    assert coverage[one.category.pk].covered == 0
    assert merchant_selectors.live_core_merchant_count() == 0


def test_an_empty_platform_shows_empty_states(client):
    client.force_login(staff(OPERATIONS))
    body = client.get(URL, **EN).content.decode()
    assert "No paid order in these days." in body
    assert 'id="brands-empty"' in body
    assert _text(body, "target-core") == "0 / 200"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("buyer", 302),
        ("merchant", 302),
        (REVIEWER, 403),
        (FINANCE, 403),
        ("no_group", 403),
        (OPERATIONS, 200),
        ("superuser", 200),
    ],
)
def test_who_may_open_it(client, who, status):
    users = {
        "buyer": lambda: UserFactory(),
        "merchant": lambda: Shop().merchant.owner,
        "no_group": lambda: staff(),
        "superuser": lambda: staff(is_superuser=True),
    }
    if who != "anonymous":
        client.force_login(users.get(who, lambda: staff(who))())
    response = client.get(URL, **EN)
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/admin/login/")
    assert client.post(URL, **EN).status_code in ({302} if status == 302 else {403, 405})


@pytest.mark.parametrize(("group", "links"), [(OPERATIONS, ["ops"]), (FINANCE, ["finance"]), (REVIEWER, [])])
def test_the_admin_index_links_the_dashboards_each_role_may_open(client, group, links):
    client.force_login(staff(group))
    body = client.get("/admin/", **EN).content.decode()
    assert ('href="/admin/dashboards/operations/"' in body) == ("ops" in links)
    assert ('href="/admin/dashboards/finance/"' in body) == ("finance" in links)


def test_the_page_reads_a_constant_number_of_queries(client, world):
    one, two = world
    client.force_login(staff(OPERATIONS))
    client.get(URL, **EN)  # the session and the user's permissions, once
    with CaptureQueriesContext(connection) as few:
        client.get(URL + "?days=90", **EN)
    for n in range(3):
        paid_order(one, [("10.00", 1)], when=days_ago(3 + n))
    Shop(tier_code="strategic")
    TopBrand.objects.create(category=two.category, name="Gree", rank=2)
    cache.clear()  # the figures are kept five minutes
    with CaptureQueriesContext(connection) as more:
        body = client.get(URL + "?days=90", **EN).content.decode()
    assert _text(body, "figure-orders") == "6"
    assert len(more) == len(few)


def test_operations_edit_the_top_brand_lists_through_the_services(client, world):
    one, _two = world
    client.force_login(staff(OPERATIONS))
    response = client.post(
        "/admin/catalog/topbrand/add/", {"category": one.category.pk, "name": "  Supor ", "rank": 4}, **EN
    )
    assert response.status_code == 302
    brand = TopBrand.objects.get(name="Supor")
    assert (brand.category_id, brand.rank) == (one.category.pk, 4)
    assert AuditLogEntry.objects.filter(action="catalog.top_brand_created").count() == 1


def test_a_rank_taken_or_out_of_range_is_refused_and_nothing_changes(client, world):
    one, _two = world
    client.force_login(staff(OPERATIONS))
    before = TopBrand.objects.count()
    for rank in (1, 0, 51):
        response = client.post(
            "/admin/catalog/topbrand/add/", {"category": one.category.pk, "name": f"Brand {rank}", "rank": rank}, **EN
        )
        assert response.status_code == 200 and "errornote" in response.content.decode()
    assert TopBrand.objects.count() == before
    assert not AuditLogEntry.objects.filter(action="catalog.top_brand_created").exists()


def test_finance_may_not_edit_the_top_brand_lists(client, world):
    client.force_login(staff(FINANCE))
    assert client.get("/admin/catalog/topbrand/", **EN).status_code == 403


def test_a_brand_is_matched_case_insensitively_and_literally(world):
    one, _two = world
    TopBrand.objects.create(category=one.category, name="mIDEA DESK", rank=4)
    TopBrand.objects.create(category=one.category, name="M%a", rank=5)
    TopBrand.objects.create(category=one.category, name="Midea_desk", rank=6)
    coverage = {row.category_id: row for row in catalog_selectors.top_brand_coverage()}
    # "Midea" and "mIDEA DESK" are in "Midea desk fan"; the wildcards of LIKE match nothing.
    assert (coverage[one.category.pk].listed, coverage[one.category.pk].covered) == (6, 2)


def test_the_figures_are_kept_five_minutes_per_span_and_language(client, world):
    one, _two = world
    client.force_login(staff(OPERATIONS))
    client.get(URL, **EN)
    paid_order(one, [("10.00", 1)], when=days_ago(2))
    with CaptureQueriesContext(connection) as cached:
        body = client.get(URL, **EN).content.decode()
    assert _text(body, "figure-orders") == "2"  # as read first
    assert not any("orders_merchantorder" in q["sql"] for q in cached)
    key = cache.make_and_validate_key("dashboards:operations:30:en")
    assert 295 <= cache._cache.get_client(key).ttl(key) <= 300
    # Another span or language reads afresh.
    assert _text(client.get(URL + "?days=90", **EN).content.decode(), "figure-orders") == "4"
    assert _text(client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode(), "figure-orders") == "3"
