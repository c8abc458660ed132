"""The pages of members and RFM: the buyer's membership page, operations' admin for levels
and the RFM list with its chart and CSV export; who may see and do what."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from marketplace.models import AuditLogEntry
from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from promotions.models import Membership, MembershipLevel, RfmScore
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory

from .member_factories import at, levels

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
AS_OF = at(2026, 12, 7)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def staff(group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def merchant_owner():
    merchant, _categories = live_merchant()
    return merchant.owner


@pytest.fixture
def scored():
    """Three buyers with RFM rows: two champions and one lost."""
    buyers = [UserFactory(email=f"rfm{n}@example.com") for n in range(3)]
    rows = [
        (2, 3, "6000.00", 5, 5, 5, "champions"),
        (3, 2, "900.00", 5, 4, 4, "champions"),
        (400, 0, "0.00", 1, 1, 1, "lost"),
    ]
    for buyer, (rec, freq, mon, r, f, m, seg) in zip(buyers, rows, strict=True):
        RfmScore.objects.create(
            buyer=buyer,
            recency_days=rec,
            frequency=freq,
            monetary=Decimal(mon),
            r_score=r,
            f_score=f,
            m_score=m,
            segment=seg,
            computed_at=AS_OF,
        )
    return buyers


# --- The buyer's page ----------------------------------------------------------------------------


def test_the_membership_page_needs_a_login():
    response = client_for(None).get(reverse("members:membership"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_the_buyer_sees_their_level_spend_and_what_the_next_level_needs():
    lv = levels(("regular", "Regular", "0"), ("silver", "Silver", "1000"), ("gold", "Gold", "5000"))
    buyer, other = UserFactory(), UserFactory()
    Membership.objects.create(buyer=buyer, level=lv[1], spend_12m=Decimal("1234.50"), computed_at=AS_OF)
    Membership.objects.create(buyer=other, level=lv[2], spend_12m=Decimal("7777.00"), computed_at=AS_OF)
    response = client_for(buyer).get(reverse("members:membership"), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="level-title">Silver</h2>' in html
    assert "Goods paid in the last 12 months: <strong>¥1,234.50</strong>" in html
    assert "Spend ¥3,765.50 more to reach Gold." in html
    assert "As of 2026-12-07" in html
    assert "7,777.00" not in html  # another buyer's figures never show


def test_a_buyer_the_run_has_not_reached_holds_the_base_level():
    levels(("regular", "Regular", "0"), ("silver", "Silver", "1000"))
    response = client_for(UserFactory()).get(reverse("members:membership"), **EN)
    html = response.content.decode()
    assert '<h2 id="level-title">Regular</h2>' in html
    assert "Spend ¥1,000.00 more to reach Silver." in html
    assert "Your level is computed every night once you have paid for an order." in html


def test_the_account_menu_links_the_membership_page(buyer):
    html = client_for(buyer).get(reverse("orders:addresses"), **EN).content.decode()
    assert f'href="{reverse("members:membership")}"' in html


# --- Levels in the admin -------------------------------------------------------------------------

LEVELS_URL = "admin:promotions_membershiplevel_changelist"
ADD_URL = "admin:promotions_membershiplevel_add"


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("buyer", 302), ("merchant", 302), (REVIEWER, 403), (FINANCE, 403), (OPERATIONS, 200)],
)
def test_who_may_see_the_levels(who, expected):
    user = {"anonymous": None, "buyer": UserFactory(), "merchant": None}.get(who)
    if who == "merchant":
        user = merchant_owner()
    elif who in (REVIEWER, FINANCE, OPERATIONS):
        user = staff(who)
    response = client_for(user).get(reverse(LEVELS_URL))
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/admin/login/")


def _add_level(user, threshold: str):
    return client_for(user).post(
        reverse(ADD_URL), {"code": "diamond", "name": "Diamond", "threshold": threshold, "benefits": ""}, **EN
    )


def test_operations_add_a_level_through_the_service_audited():
    response = _add_level(staff(OPERATIONS), "50000")
    assert response.status_code == 302
    level = MembershipLevel.objects.get(code="diamond")
    assert level.threshold == Decimal("50000.00")
    assert (
        AuditLogEntry.objects.filter(action="promotions.membership_level_created", object_id=str(level.pk)).count() == 1
    )


def test_a_duplicate_threshold_is_refused_on_the_form_and_nothing_is_written():
    before = MembershipLevel.objects.count()
    response = _add_level(staff(OPERATIONS), "1000")
    assert response.status_code == 200
    assert (
        "Another level already starts at this spend: thresholds must be strictly increasing."
        in response.content.decode()
    )
    assert MembershipLevel.objects.count() == before
    assert not AuditLogEntry.objects.filter(action="promotions.membership_level_created").exists()


def test_the_base_level_cannot_be_raised_from_the_admin():
    base = MembershipLevel.objects.get(code="regular")
    url = reverse("admin:promotions_membershiplevel_change", args=[base.pk])
    response = client_for(staff(OPERATIONS)).post(
        url, {"code": "regular", "name": base.name, "threshold": "10", "benefits": ""}, **EN
    )
    assert response.status_code == 200
    assert "One membership level must start at ¥0." in response.content.decode()
    base.refresh_from_db()
    assert base.threshold == Decimal("0.00")


@pytest.mark.parametrize("group", [FINANCE, REVIEWER])
def test_other_staff_cannot_add_or_change_levels(group):
    user = staff(group)
    before = list(MembershipLevel.objects.values_list("code", "threshold"))
    assert _add_level(user, "50000").status_code == 403
    silver = MembershipLevel.objects.get(code="silver")
    url = reverse("admin:promotions_membershiplevel_change", args=[silver.pk])
    response = client_for(user).post(url, {"code": "silver", "name": "S", "threshold": "1500", "benefits": ""})
    assert response.status_code == 403
    assert list(MembershipLevel.objects.values_list("code", "threshold")) == before


# --- RFM in the admin ----------------------------------------------------------------------------

RFM_URL = "admin:promotions_rfmscore_changelist"
EXPORT_URL = "admin:promotions_rfmscore_export"


def test_the_rfm_list_draws_the_chart_from_vendored_echarts(scored):
    response = client_for(staff(OPERATIONS)).get(reverse(RFM_URL), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/vendor/echarts/5.6.0/echarts.min.js" defer></script>' in html
    assert '<script src="/static/js/charts.js" defer></script>' in html
    assert (
        '<script id="rfm-segments-data" type="application/json">{"type": "bar", "categories": ["Champions", "Loyal", '
        '"New", "Potential", "At risk", "Hibernating", "Lost"], "series": [{"name": "Buyers", "data": [2, 0, 0, 0, 0, 0, 1]}], '
        '"unit": "buyers"}</script>'
    ) in html
    assert '<div id="rfm-segments" class="mp-chart" data-chart="rfm-segments-data" role="img"' in html
    # No inline script anywhere: the policy allows scripts from this site only.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html


def test_the_vendored_files_are_there_with_their_licence():
    from django.contrib.staticfiles import finders

    for name in ("echarts.min.js", "LICENSE", "NOTICE", "licenses/LICENSE-d3"):
        assert finders.find(f"vendor/echarts/5.6.0/{name}"), name
    assert finders.find("js/charts.js") and finders.find("css/charts.css")


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_the_csv_export_streams_the_filtered_list(scored):
    client = client_for(staff(OPERATIONS))
    response = client.get(reverse(EXPORT_URL), {"segment__exact": "champions"}, **EN)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="rfm.csv"'
    rows = _csv(response)
    assert rows == [
        [
            "Buyer ID",
            "E-mail",
            "Days since the last paid order",
            "Paid orders in 12 months",
            "Goods paid in 12 months",
            "R",
            "F",
            "M",
            "Segment",
            "As of",
        ],
        [str(scored[0].pk), "rfm0@example.com", "2", "3", "6000.00", "5", "5", "5", "Champions", "2026-12-07"],
        [str(scored[1].pk), "rfm1@example.com", "3", "2", "900.00", "5", "4", "4", "Champions", "2026-12-07"],
    ]
    assert len(_csv(client.get(reverse(EXPORT_URL), **EN))) == 4


def test_the_list_links_the_export_with_its_filters(scored):
    html = client_for(staff(OPERATIONS)).get(reverse(RFM_URL), {"segment__exact": "lost"}, **EN).content.decode()
    assert f'href="{reverse(EXPORT_URL)}?segment__exact=lost"' in html


def test_bad_filters_of_the_export_are_answered_as_the_list_answers_them(scored):
    client = client_for(staff(OPERATIONS))
    # A value the filter cannot take: back to the list's error page, as the list itself does.
    response = client.get(reverse(EXPORT_URL), {"r_score__exact": "abc"})
    assert response.status_code == 302
    assert response["Location"] == reverse(RFM_URL) + "?e=1"
    # A lookup the list does not offer: 400 (Django's DisallowedModelAdminLookup), never a file.
    for url in (reverse(RFM_URL), reverse(EXPORT_URL)):
        assert client.get(url, {"buyer__password__startswith": "x"}).status_code == 400


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("buyer", 302), ("merchant", 302), (REVIEWER, 403), (FINANCE, 403), (OPERATIONS, 200)],
)
def test_who_may_see_and_export_rfm(who, expected, scored):
    user = {"buyer": UserFactory()}.get(who)
    if who == "merchant":
        user = merchant_owner()
    elif who in (REVIEWER, FINANCE, OPERATIONS):
        user = staff(who)
    client = client_for(user)
    for url in (reverse(RFM_URL), reverse(EXPORT_URL)):
        response = client.get(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("model", ["membership", "membershipchange", "rfmscore"])
def test_the_nightly_runs_rows_are_read_only_in_the_admin(model):
    client = client_for(staff(OPERATIONS))
    assert client.get(reverse(f"admin:promotions_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:promotions_{model}_add")).status_code == 403
