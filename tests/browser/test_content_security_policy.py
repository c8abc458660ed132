"""The main pages work under the Content-Security-Policy (no inline script or style): the
browser reports no violation (the `new_page` fixture fails a test on any), the static
script runs, Swagger UI renders from its separate init script, and the admin works."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.catalog.factories import live_merchant, product
from tests.factories import PASSWORD, UserFactory


def test_main_pages_load_without_a_policy_violation(page: Page, new_page, log_in):
    merchant, (category,) = live_merchant()
    item = product(merchant, category, title="Desk lamp", price="99.00")
    staff = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)

    for path in ["/", f"/c/{category.slug}/", f"/p/{item.pk}/", "/search/?q=lamp", "/cart/", "/accounts/signup/"]:
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]

    # The language menu's script is a static file now: choosing a language applies it.
    page.goto("/")
    page.locator("#lang-select").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#lang-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The merchant portal.
    portal = new_page()
    log_in(portal, merchant.owner.email, next_url="/portal/")
    for path in ["/portal/", "/portal/catalog/products/", "/portal/orders/", "/portal/catalog/stock/"]:
        assert portal.goto(path).status == 200, path

    # Swagger UI renders the API from its init script, served apart from the page.
    docs = new_page()
    docs.goto("/api/v1/docs/")
    expect(docs.locator(".swagger-ui .info .title")).to_contain_text("Marketplace API")

    # The admin: log in, a list with status badges, a change form with its widgets.
    admin = new_page()
    admin.goto("/admin/")
    admin.get_by_label("Email address").fill(staff.email)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    expect(admin.locator("#site-name")).to_be_visible()
    for path in ["/admin/catalog/product/", f"/admin/catalog/product/{item.pk}/change/", "/admin/merchants/merchant/"]:
        assert admin.goto(path).status == 200, path
    expect(admin.locator(".mp-badge").first).to_be_visible()
