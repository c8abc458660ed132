"""The notification centre: the header's unread count (storefront, portal, admin), the list with
mark-read and mark-all-read, the e-mail preferences form, and the JSON API; a user reaches only
their own notifications (another's id is 404 and changes nothing)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from merchants.choices import MemberRole
from merchants.models import MerchantMember
from notifications import services
from notifications.models import Notification, NotificationPreference, NotificationSettings
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHIPPED = {"order": "M1", "carrier": "SF", "tracking": "SF123"}


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def shipped(user, n=1, link="/orders/BO1/"):
    return [services.notify(user_ids=[user.pk], kind="order_shipped", params=SHIPPED, link=link)[0] for _ in range(n)]


def unread_badge(html: str) -> str:
    marker = "data-unread-count>"
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


def test_the_header_shows_the_unread_count_to_a_signed_in_user_only(client):
    user = UserFactory()
    shipped(user, 3)
    services.notification_mark_read(notification=Notification.objects.first(), user=user)
    anonymous = client.get("/")
    assert "data-unread-count" not in anonymous.content.decode()
    client.force_login(user)
    assert unread_badge(client.get("/").content.decode()) == "2"


def test_the_count_costs_one_query_per_page_and_none_for_anonymous_visitors(client):
    user = UserFactory()
    shipped(user)
    with CaptureQueriesContext(connection) as anonymous:
        client.get("/cart/")
    assert not [q for q in anonymous.captured_queries if "notifications_notification" in q["sql"]]
    client.force_login(user)
    with CaptureQueriesContext(connection) as signed_in:
        client.get("/cart/")
    assert len([q for q in signed_in.captured_queries if "notifications_notification" in q["sql"]]) == 1


def test_the_portal_and_the_admin_headers_show_the_count(client):
    merchant, _cats = live_merchant()
    shipped(merchant.owner, 2)
    client.force_login(merchant.owner)
    assert unread_badge(client.get("/portal/").content.decode()) == "2"
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    shipped(admin_user, 4)
    client.force_login(admin_user)
    assert unread_badge(client.get("/admin/").content.decode()) == "4"


def test_the_list_shows_the_users_own_notifications_newest_first_paginated(client):
    user, other = UserFactory(), UserFactory()
    rows = shipped(user, 21)
    services.notify(user_ids=[other.pk], kind="order_paid", params={"order": "SECRET", "total": "1.00"})
    client.force_login(user)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert [n.pk for n in page.context["page"].object_list] == [r.pk for r in reversed(rows)][:20]
    html = page.content.decode()
    assert "Order M1 shipped with SF, tracking number SF123." in html
    assert "SECRET" not in html
    second = client.get("/notifications/?page=2")
    assert [n.pk for n in second.context["page"].object_list] == [rows[0].pk]


def test_mark_read_and_open_and_mark_all_read(client):
    user = UserFactory()
    first, second, third = shipped(user, 3)
    client.force_login(user)
    response = client.post(f"/notifications/{first.pk}/read/", {"next": "/notifications/?page=1"})
    assert (response.status_code, response["Location"]) == (302, "/notifications/?page=1")
    response = client.post(f"/notifications/{second.pk}/read/", {"open": "1"})
    assert (response.status_code, response["Location"]) == (302, "/orders/BO1/")
    # An outside `next` is not followed.
    response = client.post(f"/notifications/{third.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 0
    shipped(user, 2)
    response = client.post("/notifications/read-all/", follow=True)
    assert response.redirect_chain == [("/notifications/", 302)]
    assert "2 notifications marked read." in response.content.decode()
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 0


def test_another_users_notification_is_not_found_and_stays_unread(client):
    owner, intruder = UserFactory(), UserFactory()
    (row,) = shipped(owner)
    client.force_login(intruder)
    assert client.post(f"/notifications/{row.pk}/read/").status_code == 404
    assert client.post("/notifications/read-all/").status_code == 302
    row.refresh_from_db()
    assert row.read_at is None


def test_mark_read_needs_a_post_and_a_csrf_token():
    user = UserFactory()
    (row,) = shipped(user)
    from django.test import Client

    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    strict.force_login(user)
    assert strict.get(f"/notifications/{row.pk}/read/").status_code == 405
    assert strict.post(f"/notifications/{row.pk}/read/").status_code == 403
    row.refresh_from_db()
    assert row.read_at is None


def test_preferences_show_the_kinds_the_user_can_receive_and_save_them(client):
    buyer = UserFactory()
    client.force_login(buyer)
    form = client.get("/notifications/preferences/").context["form"]
    assert list(form.fields) == [
        "language",
        "email_order_paid",
        "email_order_shipped",
        "email_after_sales_decided",
        "email_refund_issued",
        "email_complaint_answered",
    ]
    assert form["email_order_paid"].initial is True
    assert form["email_complaint_answered"].initial is True
    response = client.post(
        "/notifications/preferences/", {"language": "en", "email_order_paid": "on", "email_refund_issued": "on"}
    )
    assert response.status_code == 302
    assert dict(NotificationPreference.objects.filter(user=buyer).values_list("kind", "email")) == {
        "order_paid": True,
        "order_shipped": False,
        "after_sales_decided": False,
        "refund_issued": True,
        "complaint_answered": False,
    }
    assert NotificationSettings.objects.get(user=buyer).language == "en"


def test_a_bad_preferences_form_changes_nothing(client):
    buyer = UserFactory()
    client.force_login(buyer)
    response = client.post("/notifications/preferences/", {"language": "fr", "email_order_paid": "on"})
    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    assert NotificationPreference.objects.count() == 0
    assert NotificationSettings.objects.count() == 0


def test_merchant_members_and_staff_also_choose_their_kinds(client):
    merchant, _cats = live_merchant()
    member = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=member, role=MemberRole.ORDERS)
    client.force_login(member)
    kinds = [name for name in client.get("/notifications/preferences/").context["form"].fields if name != "language"]
    assert "email_new_order" in kinds and "email_low_stock" in kinds and "email_application_submitted" not in kinds
    client.force_login(UserFactory(is_staff=True))
    form = client.get("/notifications/preferences/").context["form"]
    assert "email_dispute_to_arbitrate" in form.fields and "email_new_order" not in form.fields
    assert form["email_dispute_to_arbitrate"].initial is False


def test_pages_need_a_login(client):
    for url in ("/notifications/", "/notifications/preferences/"):
        response = client.get(url)
        assert (response.status_code, response["Location"].split("?")[0]) == (302, "/accounts/login/")


# --- API ---------------------------------------------------------------------------------------


def api_as(user) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(user)
    return api


def test_the_api_lists_counts_and_marks_the_callers_own():
    user, other = UserFactory(), UserFactory()
    first, second = shipped(user, 2)
    (others,) = shipped(other)
    api = api_as(user)
    listed = api.get("/api/v1/notifications/").json()
    assert listed["count"] == 2
    assert [row["id"] for row in listed["results"]] == [second.pk, first.pk]
    assert listed["results"][0] | {"created_at": None} == {
        "id": second.pk,
        "kind": "order_shipped",
        "params": SHIPPED,
        "subject": "Order M1 has shipped",
        "line": "Order M1 shipped with SF, tracking number SF123.",
        "link": "/orders/BO1/",
        "created_at": None,
        "read_at": None,
    }
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    read = api.post(f"/api/v1/notifications/{first.pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert [r["id"] for r in api.get("/api/v1/notifications/?unread=true").json()["results"]] == [second.pk]
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    # Another user's notification: not found, and unchanged.
    for method, url in (
        ("get", f"/api/v1/notifications/{others.pk}/"),
        ("post", f"/api/v1/notifications/{others.pk}/read/"),
    ):
        response = getattr(api, method)(url)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    others.refresh_from_db()
    assert others.read_at is None


def test_the_api_needs_authentication():
    anonymous = APIClient()
    assert anonymous.get("/api/v1/notifications/").status_code == 401
    assert anonymous.get("/api/v1/notifications/unread-count/").status_code == 401
    assert anonymous.post("/api/v1/notifications/read-all/").status_code == 401
