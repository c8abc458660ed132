"""The dashboards draw their charts with the vendored ECharts under the Content-Security-Policy:
the merchant's portal home (both spans), the operations dashboard and finance's period page
render a canvas per chart, and the browser reports no console error or policy violation (the
`new_page` fixture fails the test on any)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.models import TopBrand
from marketplace.roles import FINANCE, OPERATIONS, sync_staff_groups
from tests.factories import PASSWORD, UserFactory
from tests.orders.dashboard_world import Shop, after_sales, days_ago, paid_order, shipped_order


def _staff(group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    sync_staff_groups()  # the live server's database is flushed between tests
    return user


def _admin_log_in(page: Page, user, next_url: str) -> None:
    page.goto(f"/admin/login/?next={next_url}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_the_portal_homes_charts_render_for_both_spans(page: Page, log_in):
    shop = Shop()
    after_sales(shipped_order(shop, [("10.00", 1)], when=days_ago(2)), when=days_ago(1))
    paid_order(shop, [("25.00", 2)], when=days_ago(1))
    paid_order(shop, [("10.00", 1)], when=days_ago(60))
    log_in(page, shop.merchant.owner.email, next_url="/portal/")
    for element in ("#dashboard-sales", "#dashboard-orders", "#dashboard-after-sales"):
        expect(page.locator(f"{element} canvas")).to_be_visible()
    expect(page.locator("#figure-orders")).to_have_text("2")
    page.get_by_role("link", name="90 days").click()
    expect(page.locator("#figure-orders")).to_have_text("3")
    expect(page.locator("#dashboard-sales canvas")).to_be_visible()


def test_the_operations_dashboards_charts_render(page: Page):
    shop = Shop()
    paid_order(shop, [("10.00", 1)], when=days_ago(1))
    TopBrand.objects.create(category=shop.category, name="Midea", rank=1)
    _admin_log_in(page, _staff(OPERATIONS, "ops@example.com"), "/admin/")
    page.get_by_role("link", name="Operations dashboard").click()
    for element in ("#operations-gmv", "#operations-orders", "#operations-tiers"):
        expect(page.locator(f"{element} canvas")).to_be_visible()
    expect(page.locator("#target-core")).to_have_text("1 / 200")
    page.get_by_role("link", name="90 days").click()
    expect(page.locator("#operations-gmv canvas")).to_be_visible()


def test_the_finance_pages_charts_render(page: Page):
    from tests.settlements.test_finance_dashboard import _october

    _october(count=2)
    _admin_log_in(page, _staff(FINANCE, "finance@example.com"), "/admin/dashboards/finance/?period=2026-10")
    for element in ("#finance-statements", "#finance-payouts"):
        expect(page.locator(f"{element} canvas")).to_be_visible()
    expect(page.locator("#payouts-failed")).to_have_text("1")
