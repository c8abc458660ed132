"""The marketing pages of promotions: operations' admin (every promotion's figures, sortable,
with a streamed CSV; one promotion's page with charts and its CSV per day) and the merchant's
portal (its own promotions only). Exact figures from `marketing_world`; who may see what."""

from __future__ import annotations

import csv
import io
import json
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory
from tests.promotions import marketing_world
from tests.promotions.factories import promotion
from tests.promotions.marketing_world import at, place

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DAY_HEADER = [
    "Day",
    "Merchant-funded cost",
    "Platform-funded cost",
    "Total cost",
    "Orders touched",
    "GMV touched",
    "New buyers",
    "ROI (GMV per yuan of cost)",
]
SHOP_DAYS = [
    DAY_HEADER,
    ["2026-12-01", "0.00", "0.00", "0.00", "0", "0.00", "0", ""],
    # 308 / 30 = 10.27; 120 / 13.34 = 8.996.
    ["2026-12-02", "15.00", "15.00", "30.00", "1", "308.00", "1", "10.3"],
    ["2026-12-03", "6.67", "6.67", "13.34", "1", "120.00", "0", "9.0"],
    ["2026-12-04", "0.00", "0.00", "0.00", "0", "0.00", "0", ""],
]


@pytest.fixture(autouse=True)
def _after_the_window():
    # The pages show the window's days up to today: fixed after both windows closed.
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 10, 12)):
        yield


@pytest.fixture
def world():
    return marketing_world.build()


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def staff(group: str | None = None, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def chart(response, element_id: str) -> dict:
    html = response.content.decode()
    start = html.index(f'id="{element_id}-data"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


# --- Operations' admin ----------------------------------------------------------------------------


def test_operations_see_a_promotions_figures_charts_and_days(world):
    response = client_for(staff(OPERATIONS)).get(
        reverse("promotions_marketing:detail", args=[world.shop_promo.pk]), **EN
    )
    assert response.status_code == 200
    figures = response.context["figures"]
    assert (figures.merchant_cost, figures.platform_cost, figures.orders, figures.gmv, figures.new_buyers) == (
        marketing_world.D("21.67"),
        marketing_world.D("21.67"),
        2,
        marketing_world.D("428.00"),
        1,
    )
    assert response.context["roi_text"] == "9.9 : 1"
    html = response.content.decode()
    assert "¥43.34 (merchant-funded ¥21.67, platform-funded ¥21.67)" in html
    assert "shipping excluded" in html
    assert 'src="/static/vendor/echarts/5.6.0/echarts.min.js"' in html
    assert chart(response, "marketing-cost") == {
        "type": "bar",
        "categories": ["12-01", "12-02", "12-03", "12-04"],
        "series": [
            {"name": "Merchant-funded", "data": [0.0, 15.0, 6.67, 0.0]},
            {"name": "Platform-funded", "data": [0.0, 15.0, 6.67, 0.0]},
        ],
        "unit": "¥",
    }
    assert chart(response, "marketing-gmv")["series"] == [{"name": "GMV touched", "data": [0.0, 308.0, 120.0, 0.0]}]


def test_the_days_csv_is_exact(world):
    response = client_for(staff(OPERATIONS)).get(reverse("promotions_marketing:csv", args=[world.shop_promo.pk]), **EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="promotion-{world.shop_promo.pk}-marketing.csv"'
    assert "no-store" in response["Cache-Control"]
    assert csv_rows(response) == SHOP_DAYS


def test_the_list_sorts_by_cost_gmv_and_roi_a_promotion_without_roi_last(world):
    idle = promotion(
        merchant=world.other_shop.merchant, name="Idle", starts_at=at(2026, 12, 1), ends_at=at(2026, 12, 2)
    )
    client = client_for(staff(OPERATIONS))
    url = reverse("promotions_marketing:list")
    expected = {
        "": [world.shop_promo, world.platform_promo, idle],  # -cost: 43.34, 14.00, 0
        "?o=cost": [idle, world.platform_promo, world.shop_promo],
        "?o=-gmv": [world.shop_promo, world.platform_promo, idle],  # 428, 356, 0
        "?o=gmv": [idle, world.platform_promo, world.shop_promo],
        "?o=-roi": [world.platform_promo, world.shop_promo, idle],  # 25.4, 9.9, none
        "?o=roi": [world.shop_promo, world.platform_promo, idle],
        "?o=nonsense": [world.shop_promo, world.platform_promo, idle],
    }
    for query, promotions in expected.items():
        response = client.get(url + query, **EN)
        assert response.status_code == 200
        assert [p.pk for p in response.context["page"].object_list] == [p.pk for p in promotions], query
    assert [p.roi_text for p in response.context["page"].object_list] == ["9.9 : 1", "25.4 : 1", "—"]


def test_the_list_csv_is_exact_in_the_lists_order(world):
    response = client_for(staff(OPERATIONS)).get(reverse("promotions_marketing:list_csv") + "?o=-roi", **EN)
    assert response.status_code == 200
    assert csv_rows(response) == [
        ["Promotion ID", "Name", "Level", "Shop", "Status", "Starts", "Ends", *DAY_HEADER[1:]],
        [
            str(world.platform_promo.pk),
            "Double 12",
            "Platform promotion",
            "",
            world.platform_promo.get_status_display(),
            "2026-12-01 00:00",
            "2026-12-03 23:59",
            "0.00",
            "14.00",
            "14.00",
            "1",
            "356.00",
            "1",
            "25.4",
        ],
        [
            str(world.shop_promo.pk),
            "Winter sale",
            "Shop promotion",
            str(world.shop.merchant),
            world.shop_promo.get_status_display(),
            "2026-12-01 00:00",
            "2026-12-04 23:59",
            "21.67",
            "21.67",
            "43.34",
            "2",
            "428.00",
            "1",
            "9.9",
        ],
    ]


def test_the_lists_queries_do_not_grow_with_promotions_or_orders(world):
    client = client_for(staff(OPERATIONS))
    url = reverse("promotions_marketing:list")
    client.get(url)  # warm the session and the language
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(5):
        more = promotion(
            merchant=world.shop.merchant, name=f"More {n}", starts_at=at(2026, 12, 1), ends_at=at(2026, 12, 2)
        )
        place(UserFactory(), [(world.shop, [("100.00", {more: ("5", "0")})])], paid_at=at(2026, 12, 1, 12))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


ADMIN_URLS = [
    ("promotions_marketing:list", False),
    ("promotions_marketing:list_csv", False),
    ("promotions_marketing:detail", True),
    ("promotions_marketing:csv", True),
]


@pytest.mark.parametrize(
    "who, answer",
    [
        ("anonymous", "login"),
        ("buyer", "login"),
        ("merchant", "login"),
        (REVIEWER, 403),
        (FINANCE, 403),
        ("no_group", 403),
        (OPERATIONS, 200),
        ("superuser", 200),
    ],
)
def test_the_admin_pages_are_for_operations(world, who, answer):
    user = {
        "anonymous": lambda: None,
        "buyer": lambda: world.new_buyer,
        "merchant": lambda: world.shop.merchant.owner,
        "no_group": lambda: staff(),
        "superuser": lambda: staff(is_superuser=True),
    }.get(who, lambda: staff(who))()
    client = client_for(user)
    for name, with_id in ADMIN_URLS:
        url = reverse(name, args=[world.shop_promo.pk] if with_id else [])
        response = client.get(url)
        if answer == "login":
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
        else:
            assert response.status_code == answer, url


def test_an_unknown_promotion_is_404_in_the_admin(world):
    client = client_for(staff(OPERATIONS))
    missing = world.shop_promo.pk + world.platform_promo.pk + 1000
    assert client.get(reverse("promotions_marketing:detail", args=[missing])).status_code == 404
    assert client.get(reverse("promotions_marketing:csv", args=[missing])).status_code == 404


# --- The merchant's portal ------------------------------------------------------------------------


def test_the_owner_sees_its_own_promotions_only(world):
    client = client_for(world.shop.merchant.owner)
    response = client.get(reverse("portal_marketing:list"), **EN)
    assert response.status_code == 200
    (row,) = response.context["page"].object_list
    assert row.pk == world.shop_promo.pk
    assert row.roi_text == "9.9 : 1"
    response = client.get(reverse("portal_marketing:detail", args=[world.shop_promo.pk]), **EN)
    assert response.status_code == 200
    assert response.context["roi_text"] == "9.9 : 1"
    assert [row["day"].isoformat() for row in response.context["days"]] == [r[0] for r in SHOP_DAYS[1:]]
    assert chart(response, "marketing-gmv")["series"][0]["data"] == [0.0, 308.0, 120.0, 0.0]
    html = response.content.decode()
    assert "¥43.34 (merchant-funded ¥21.67, platform-funded ¥21.67)" in html
    assert 'src="/static/js/charts.js"' in html
    response = client.get(reverse("portal_marketing:csv", args=[world.shop_promo.pk]), **EN)
    assert response.status_code == 200
    assert csv_rows(response) == SHOP_DAYS


def test_another_shops_or_the_platforms_promotion_is_404_in_the_portal(world):
    other = client_for(world.other_shop.merchant.owner)
    owner = client_for(world.shop.merchant.owner)
    for name in ("portal_marketing:detail", "portal_marketing:csv"):
        assert other.get(reverse(name, args=[world.shop_promo.pk])).status_code == 404
        assert owner.get(reverse(name, args=[world.platform_promo.pk])).status_code == 404
    assert other.get(reverse("portal_marketing:list")).context["page"].object_list == []


@pytest.mark.parametrize("who", ["buyer", OPERATIONS, "superuser"])
def test_buyers_and_staff_get_404_in_the_portal(world, who):
    user = {"buyer": world.new_buyer, "superuser": staff(is_superuser=True)}.get(who) or staff(who)
    client = client_for(user)
    assert client.get(reverse("portal_marketing:list")).status_code == 404
    for name in ("portal_marketing:detail", "portal_marketing:csv"):
        assert client.get(reverse(name, args=[world.shop_promo.pk])).status_code == 404


def test_anonymous_is_sent_to_log_in_from_the_portal(world):
    for name, args in [("portal_marketing:list", []), ("portal_marketing:detail", [world.shop_promo.pk])]:
        response = Client().get(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


def test_a_member_without_the_catalog_section_gets_404(world):
    from merchants.models import MerchantMember

    finance_member = UserFactory()
    MerchantMember.objects.create(merchant=world.shop.merchant, user=finance_member, role="finance")
    client = client_for(finance_member)
    assert client.get(reverse("portal_marketing:detail", args=[world.shop_promo.pk])).status_code == 404


def test_a_new_merchant_has_an_empty_list():
    merchant, _ = live_merchant()
    response = client_for(merchant.owner).get(reverse("portal_marketing:list"), **EN)
    assert response.status_code == 200
    assert "Your shop has no promotions yet." in response.content.decode()


def test_a_promotions_page_queries_do_not_grow_with_its_orders(world):
    client = client_for(world.shop.merchant.owner)
    url = reverse("portal_marketing:detail", args=[world.shop_promo.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for day in (1, 2, 4):
        place(
            UserFactory(),
            [(world.shop, [("100.00", {world.shop_promo: ("5", "5")})])],
            paid_at=at(2026, 12, day, 12),
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.context["figures"].orders == 5
    assert len(many) == len(few)
