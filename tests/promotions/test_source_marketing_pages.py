"""The marketing pages of a flash sale and of a group-buy campaign (issue #13): the promotion's
page, charts and CSV, in the admin for operations and in the portal for the merchant's own
(another shop's → 404), linked from their lists and pages. Figures from
`tests.orders.test_source_marketing` (exact, placed through the services)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.roles import FINANCE, OPERATIONS
from orders.models import OrderLineDiscount
from tests.catalog.factories import live_merchant
from tests.orders.test_portal_orders import member
from tests.promotions.flash_factories import _flash_redis_clean  # noqa: F401
from tests.promotions.source_marketing_world import build_closed_group_world, build_flash_world
from tests.promotions.test_marketing_pages import DAY_HEADER, chart, client_for, csv_rows, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def flash_world():
    return build_flash_world()


@pytest.fixture
def group_world():
    return build_closed_group_world()


EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZERO_ROW = ["0.00", "0.00", "0.00", "0", "0.00", "0", ""]
FLASH_TODAY = ["37.50", "12.50", "50.00", "2", "200.00", "1", "4.0"]
GROUP_TODAY = ["50.00", "50.00", "100.00", "5", "400.00", "5", "4.0"]


def _days(starts_at, today_row) -> list[list[str]]:
    """The CSV of a window that started at `starts_at` and is still open: a zero row per
    earlier day, the figures today (every order was paid today)."""
    first, today = timezone.localdate(starts_at), timezone.localdate()
    rows = [DAY_HEADER]
    day = first
    while day < today:
        rows.append([day.isoformat(), *ZERO_ROW])
        day += datetime.timedelta(days=1)
    return [*rows, [today.isoformat(), *today_row]]


# --- Operations' admin ----------------------------------------------------------------------------


def test_operations_see_a_flash_sales_figures_chart_and_csv(flash_world):
    client = client_for(staff(OPERATIONS))
    response = client.get(reverse("promotions_marketing:flash_sale", args=[flash_world.pk]), **EN)
    assert response.status_code == 200
    assert response.context["subject"].name == f"Flash sale #{flash_world.pk}: {flash_world.sku.code}"
    assert response.context["roi_text"] == "4.0 : 1"
    html = response.content.decode()
    assert "¥50.00 (merchant-funded ¥37.50, platform-funded ¥12.50)" in html
    assert "the SKU's price less the special price" in html
    assert 'src="/static/vendor/echarts/5.6.0/echarts.min.js"' in html
    cost = chart(response, "marketing-cost")
    assert (cost["series"][0]["data"][-1], cost["series"][1]["data"][-1]) == (37.5, 12.5)
    assert chart(response, "marketing-gmv")["series"][0]["data"][-1] == 200.0
    csv_url = reverse("promotions_marketing:flash_sale_csv", args=[flash_world.pk])
    assert f'href="{csv_url}"' in html
    response = client.get(csv_url, **EN)
    assert response["Content-Disposition"] == f'attachment; filename="flash-sale-{flash_world.pk}-marketing.csv"'
    assert csv_rows(response) == _days(flash_world.starts_at, FLASH_TODAY)


def test_operations_see_a_group_buys_figures_and_csv(group_world):
    world, _participants = group_world
    client = client_for(staff(OPERATIONS))
    response = client.get(reverse("promotions_marketing:group_buy", args=[world.campaign.pk]), **EN)
    assert response.status_code == 200
    assert response.context["roi_text"] == "4.0 : 1"
    html = response.content.decode()
    assert "¥100.00 (merchant-funded ¥50.00, platform-funded ¥50.00)" in html
    assert "plus the difference refunded when the group closed" in html
    assert f"{world.shop} · Active" in html
    response = client.get(reverse("promotions_marketing:group_buy_csv", args=[world.campaign.pk]), **EN)
    assert response["Content-Disposition"] == f'attachment; filename="group-buy-{world.campaign.pk}-marketing.csv"'
    assert csv_rows(response) == _days(world.campaign.starts_at, GROUP_TODAY)


def test_the_admin_lists_link_to_the_pages(flash_world, group_world):
    world, _participants = group_world
    client = client_for(staff(is_superuser=True))
    flash_list = client.get(reverse("admin:promotions_flashsale_changelist")).content.decode()
    assert f'href="{reverse("promotions_marketing:flash_sale", args=[flash_world.pk])}"' in flash_list
    group_list = client.get(reverse("admin:promotions_groupbuycampaign_changelist")).content.decode()
    assert f'href="{reverse("promotions_marketing:group_buy", args=[world.campaign.pk])}"' in group_list


@pytest.mark.parametrize(
    ("who", "answer"),
    [("anonymous", "login"), ("buyer", "login"), ("merchant", "login"), (FINANCE, 403), (OPERATIONS, 200)],
)
def test_the_admin_pages_are_for_operations(flash_world, group_world, who, answer):
    world, participants = group_world
    user = {
        "anonymous": lambda: None,
        "buyer": lambda: participants[0].buyer,
        "merchant": lambda: world.shop.owner,
    }.get(who, lambda: staff(who))()
    client = client_for(user)
    for name, pk in [
        ("promotions_marketing:flash_sale", flash_world.pk),
        ("promotions_marketing:flash_sale_csv", flash_world.pk),
        ("promotions_marketing:group_buy", world.campaign.pk),
        ("promotions_marketing:group_buy_csv", world.campaign.pk),
    ]:
        response = client.get(reverse(name, args=[pk]))
        if answer == "login":
            assert (response.status_code, response["Location"][:13]) == (302, "/admin/login/"), name
        else:
            assert response.status_code == answer, name


def test_unknown_ids_are_404_in_the_admin(flash_world):
    client = client_for(staff(OPERATIONS))
    for name in ("flash_sale", "flash_sale_csv", "group_buy", "group_buy_csv"):
        assert client.get(reverse(f"promotions_marketing:{name}", args=[flash_world.pk + 1000])).status_code == 404


# --- The merchant's portal ------------------------------------------------------------------------


def test_the_owner_sees_its_flash_sales_figures_linked_from_its_list(flash_world):
    client = client_for(flash_world.merchant.owner)
    page = reverse("portal_marketing:flash_sale", args=[flash_world.pk])
    assert f'href="{page}"' in client.get(reverse("portal_promotions:flash_list")).content.decode()
    response = client.get(page, **EN)
    assert response.status_code == 200
    assert response.context["roi_text"] == "4.0 : 1"
    html = response.content.decode()
    assert "¥50.00 (merchant-funded ¥37.50, platform-funded ¥12.50)" in html
    assert 'src="/static/js/charts.js"' in html
    csv_url = reverse("portal_marketing:flash_sale_csv", args=[flash_world.pk])
    assert f'href="{csv_url}"' in html
    assert csv_rows(client.get(csv_url, **EN)) == _days(flash_world.starts_at, FLASH_TODAY)


def test_the_owner_sees_its_group_buys_figures_linked_from_its_page(group_world):
    world, _participants = group_world
    client = client_for(world.shop.owner)
    page = reverse("portal_marketing:group_buy", args=[world.campaign.pk])
    detail = client.get(reverse("portal_group_buys:detail", args=[world.campaign.pk])).content.decode()
    assert f'href="{page}"' in detail
    response = client.get(page, **EN)
    assert response.status_code == 200
    assert "¥100.00 (merchant-funded ¥50.00, platform-funded ¥50.00)" in response.content.decode()
    csv = client.get(reverse("portal_marketing:group_buy_csv", args=[world.campaign.pk]), **EN)
    assert csv_rows(csv) == _days(world.campaign.starts_at, GROUP_TODAY)


def test_a_catalog_member_sees_them_a_finance_member_does_not(flash_world):
    url = reverse("portal_marketing:flash_sale", args=[flash_world.pk])
    assert client_for(member(flash_world.merchant, "catalog")).get(url).status_code == 200
    assert client_for(member(flash_world.merchant, "finance")).get(url).status_code == 404


@pytest.mark.parametrize("who", ["other_merchant", "buyer", OPERATIONS, "superuser"])
def test_anyone_but_the_shop_gets_404_in_the_portal(flash_world, group_world, who):
    world, participants = group_world
    user = {
        "other_merchant": lambda: live_merchant()[0].owner,
        "buyer": lambda: participants[0].buyer,
        "superuser": lambda: staff(is_superuser=True),
    }.get(who, lambda: staff(who))()
    client = client_for(user)
    rows_before = OrderLineDiscount.objects.count()
    for name, pk in [
        ("portal_marketing:flash_sale", flash_world.pk),
        ("portal_marketing:flash_sale_csv", flash_world.pk),
        ("portal_marketing:group_buy", world.campaign.pk),
        ("portal_marketing:group_buy_csv", world.campaign.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    assert OrderLineDiscount.objects.count() == rows_before


def test_another_shops_flash_sale_is_404_to_an_owner(flash_world, group_world):
    world, _participants = group_world
    # The group buy's shop owns a shop too, just not the flash sale's (and the reverse).
    assert (
        client_for(world.shop.owner).get(reverse("portal_marketing:flash_sale", args=[flash_world.pk])).status_code
        == 404
    )
    assert (
        client_for(flash_world.merchant.owner)
        .get(reverse("portal_marketing:group_buy", args=[world.campaign.pk]))
        .status_code
        == 404
    )


def test_anonymous_is_sent_to_log_in_from_the_portal(flash_world):
    response = Client().get(reverse("portal_marketing:flash_sale", args=[flash_world.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_the_pages_are_read_only(flash_world):
    client = client_for(flash_world.merchant.owner)
    assert client.post(reverse("portal_marketing:flash_sale", args=[flash_world.pk])).status_code == 405
