"""Charts are drawn by the vendored ECharts under the Content-Security-Policy: the RFM list's
chart of buyers per segment renders (a canvas) and the browser reports no violation (the
`new_page` fixture fails the test on any)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from marketplace.roles import OPERATIONS, sync_staff_groups
from promotions.models import RfmScore
from tests.factories import PASSWORD, UserFactory


def test_the_rfm_chart_renders_without_a_policy_violation(page: Page):
    staff = UserFactory(email="ops@example.com", is_staff=True)
    staff.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    sync_staff_groups()  # the live server's database is flushed between tests
    buyer = UserFactory(email="champion@example.com")
    RfmScore.objects.create(
        buyer=buyer,
        recency_days=1,
        frequency=4,
        monetary=Decimal("900.00"),
        r_score=5,
        f_score=5,
        m_score=5,
        segment="champions",
        computed_at=datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC),
    )

    page.goto("/admin/login/?next=/admin/promotions/rfmscore/")
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#rfm-segments canvas")).to_be_visible()
    box = page.locator("#rfm-segments").bounding_box()
    assert box is not None and box["height"] == 320
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()


def test_a_promotions_marketing_charts_render_in_the_portal_without_a_policy_violation(page: Page, log_in):
    from tests.promotions import marketing_world

    world = marketing_world.build()
    log_in(page, world.shop.merchant.owner.email, next_url=f"/portal/promotions/{world.shop_promo.pk}/marketing/")
    for element in ("#marketing-cost", "#marketing-gmv"):
        expect(page.locator(f"{element} canvas")).to_be_visible()
    expect(page.get_by_role("link", name="下载 CSV").or_(page.get_by_role("link", name="Download CSV"))).to_be_visible()


def test_the_risk_alert_queues_chart_of_open_alerts_renders_without_a_policy_violation(page: Page):
    from django.utils import timezone

    from risk.models import RiskAlert
    from tests.merchants.factories import merchant_in_state

    staff = UserFactory(email="ops-risk@example.com", is_staff=True)
    staff.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    sync_staff_groups()  # the live server's database is flushed between tests
    merchant = merchant_in_state("live")
    RiskAlert.objects.create(
        kind="complaint_rate",
        merchant=merchant,
        severity="high",
        condition_key=f"complaint_rate:m:{merchant.pk}",
        figures={"orders": 20, "complaints": 2, "rate": "0.1000"},
        raised_at=timezone.now() - datetime.timedelta(days=3),
    )

    page.goto("/admin/login/?next=/admin/risk/riskalert/")
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#risk-open-alerts canvas")).to_be_visible()
    box = page.locator("#risk-open-alerts").bounding_box()
    assert box is not None and box["height"] == 320
