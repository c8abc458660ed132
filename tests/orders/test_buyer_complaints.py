"""The buyer sees operations' handling of their complaints: on their order page (each shop's
part) and in their order API, with the status, the response and its times, never who handles
it; only the buyer who complained sees them; the buyer is told when a complaint is answered."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from notifications import services as notification_services
from notifications.models import Notification
from orders import services
from orders.errors import OrderError, OrderInvalidTransition
from orders.models import Complaint
from tests.factories import UserFactory
from tests.orders.test_portal_orders import build_world

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
API = "/api/v1/orders/orders/"


def when(moment) -> str:
    """A moment as the page shows it (the site's time zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def iso(moment) -> str:
    return serializers.DateTimeField().to_representation(moment)


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def handler():
    return UserFactory(is_staff=True, first_name="Handler", last_name="Secretname", email="handler@ops.example")


def three_complaints(w, handler) -> list[Complaint]:
    """About the buyer's lamp order (w.mine): one waiting, one taken up, one resolved."""
    waiting = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Nobody answers")
    taken = services.complaint_create(order=w.mine, buyer=w.buyer, category="fake_shipping", text="No parcel")
    services.complaint_assign(complaint_id=taken.pk, assignee=handler, actor=handler)
    closed = services.complaint_create(order=w.mine, buyer=w.buyer, category="counterfeit", text="Fake lamp")
    services.complaint_respond(complaint_id=closed.pk, actor=handler, response="We asked the shop.")
    services.complaint_respond(
        complaint_id=closed.pk, actor=handler, response="The shop withdrew the product.", resolve=True
    )
    return [Complaint.objects.get(pk=c.pk) for c in (waiting, taken, closed)]


def part_html(page: str, part_pk: int) -> str:
    """The HTML of one shop's part of the order page."""
    sections = re.findall(r'<section class="card order-part" aria-labelledby="part-(\d+)">(.*?)</section>', page, re.S)
    return dict(sections)[str(part_pk)]


def test_the_order_page_shows_each_complaint_with_its_status_response_and_times(client, w, handler):
    waiting, taken, closed = three_complaints(w, handler)
    client.force_login(w.buyer)
    page = client.get(f"/orders/{w.multi.number}/", **EN).content.decode()
    mine, theirs = part_html(page, w.mine.pk), part_html(page, w.theirs.pk)
    assert "Your complaints" in mine and "Your complaints" not in theirs
    items = re.findall(r'<li class="complaint" id="complaint-(\d+)">(.*?)</li>', mine, re.S)
    assert [int(pk) for pk, _html in items] == [waiting.pk, taken.pk, closed.pk]  # oldest first
    shown = {int(pk): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip() for pk, html in items}
    assert shown[waiting.pk] == (
        f"Poor service Open {when(waiting.created_at)} Nobody answers "
        "The platform reviews every complaint and answers here."
    )
    assert shown[taken.pk] == (
        f"Fake shipping In progress {when(taken.created_at)} No parcel "
        "The platform reviews every complaint and answers here."
    )
    assert shown[closed.pk] == (
        f"Counterfeit goods Resolved {when(closed.created_at)} Fake lamp "
        f"The platform answered: {when(closed.responded_at)} The shop withdrew the product. "
        f"Resolved on {when(closed.resolved_at)}."
    )
    # Who handles a complaint stays internal.
    assert "Secretname" not in page and "handler@ops.example" not in page


def test_the_status_is_translated(client, w, handler):
    three_complaints(w, handler)
    client.force_login(w.buyer)
    page = client.get(f"/orders/{w.multi.number}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    badges = re.findall(r'<span class="badge complaint-(\w+)">([^<]+)</span>', page)
    assert [status for status, _label in badges] == ["open", "in_progress", "resolved"]
    assert (badges[0][1], badges[2][1]) == ("待处理", "已解决")


def test_the_order_api_lists_each_shops_complaints_without_the_handler(w, handler):
    waiting, taken, closed = three_complaints(w, handler)
    client = APIClient(**EN)
    client.force_authenticate(w.buyer)
    body = client.get(f"{API}{w.multi.number}/").json()
    parts = {part["id"]: part for part in body["merchant_orders"]}
    assert parts[w.theirs.pk]["complaints"] == []
    assert parts[w.mine.pk]["complaints"] == [
        {
            "id": waiting.pk,
            "category": "service",
            "status": "open",
            "text": "Nobody answers",
            "created_at": iso(waiting.created_at),
            "response": "",
            "responded_at": None,
            "resolved_at": None,
        },
        {
            "id": taken.pk,
            "category": "fake_shipping",
            "status": "in_progress",
            "text": "No parcel",
            "created_at": iso(taken.created_at),
            "response": "",
            "responded_at": None,
            "resolved_at": None,
        },
        {
            "id": closed.pk,
            "category": "counterfeit",
            "status": "resolved",
            "text": "Fake lamp",
            "created_at": iso(closed.created_at),
            "response": "The shop withdrew the product.",
            "responded_at": iso(closed.responded_at),
            "resolved_at": iso(closed.resolved_at),
        },
    ]
    assert closed.responded_at == closed.resolved_at
    assert "Secretname" not in str(body) and "assignee" not in str(body)


def test_an_answer_without_resolving_shows_in_progress_with_its_time(w, handler):
    complaint = services.complaint_create(order=w.mine, buyer=w.buyer, category="other", text="Late")
    services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="We are on it.")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.progress, complaint.response) == ("open", "in_progress", "We are on it.")
    client = APIClient(**EN)
    client.force_authenticate(w.buyer)
    (row,) = next(p for p in client.get(f"{API}{w.multi.number}/").json()["merchant_orders"] if p["id"] == w.mine.pk)[
        "complaints"
    ]
    assert (row["status"], row["response"], row["responded_at"], row["resolved_at"]) == (
        "in_progress",
        "We are on it.",
        iso(complaint.responded_at),
        None,
    )


@pytest.mark.parametrize("who", ["anonymous", "other_buyer", "shop_owner", "other_shop_owner", "staff"])
def test_only_the_buyer_who_complained_sees_the_complaints(client, w, handler, who):
    three_complaints(w, handler)
    user = {
        "anonymous": None,
        "other_buyer": w.other_buyer,
        "shop_owner": w.shop.owner,
        "other_shop_owner": w.other_shop.owner,
        "staff": UserFactory(is_staff=True, is_superuser=True),
    }[who]
    api = APIClient(**EN)
    if user is not None:
        client.force_login(user)
        api.force_authenticate(user)
    page = client.get(f"/orders/{w.multi.number}/", **EN)
    answer = api.get(f"{API}{w.multi.number}/")
    if user is None:
        assert (page.status_code, page["Location"]) == (302, f"/accounts/login/?next=/orders/{w.multi.number}/")
        assert (answer.status_code, answer.json()["code"]) == (401, "not_authenticated")
    else:
        assert page.status_code == 404
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert "Fake lamp" not in page.content.decode() and "Fake lamp" not in answer.content.decode()


def _queries(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    return len(captured)


def test_the_page_and_the_api_cost_the_same_queries_for_one_complaint_or_three(client, w, handler):
    api = APIClient(**EN)
    api.force_authenticate(w.buyer)
    client.force_login(w.buyer)
    page = lambda: client.get(f"/orders/{w.multi.number}/", **EN)  # noqa: E731
    answer = lambda: api.get(f"{API}{w.multi.number}/")  # noqa: E731
    services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="One")
    one = (_queries(page), _queries(answer))
    three_complaints(w, handler)
    services.complaint_create(order=w.theirs, buyer=w.buyer, category="other", text="Mug")
    assert Complaint.objects.count() == 5
    assert (_queries(page), _queries(answer)) == one


# --- Telling the buyer ---------------------------------------------------------------------------


def test_answering_and_resolving_tell_the_buyer_by_notification_and_email(
    w, handler, django_capture_on_commit_callbacks
):
    notification_services.preferences_set(user=w.buyer, email={}, language="en")
    complaint = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Rude")
    link = f"/orders/{w.multi.number}/"
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_assign(complaint_id=complaint.pk, assignee=handler, actor=handler)
    assert Notification.objects.filter(kind="complaint_answered").count() == 0  # taking it up says nothing yet
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="We called the shop.")
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_respond(
            complaint_id=complaint.pk, actor=handler, response="The shop apologised.", resolve=True
        )
    rows = Notification.objects.filter(kind="complaint_answered").order_by("id")
    assert [(n.user_id, n.params, n.link) for n in rows] == [
        (w.buyer.pk, {"order": w.mine.number, "outcome": "answered", "response": "We called the shop."}, link),
        (w.buyer.pk, {"order": w.mine.number, "outcome": "resolved", "response": "The shop apologised."}, link),
    ]
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([w.buyer.email], f"The platform answered your complaint about order {w.mine.number}"),
        ([w.buyer.email], f"Your complaint about order {w.mine.number} is resolved"),
    ]
    assert mail.outbox[1].body.startswith(
        f"The platform resolved your complaint about order {w.mine.number}: The shop apologised."
    )
    assert "Secretname" not in mail.outbox[0].body + mail.outbox[1].body


def test_the_email_is_on_by_default_and_can_be_turned_off(w, handler, django_capture_on_commit_callbacks):
    complaint = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Rude")
    notification_services.preferences_set(user=w.buyer, email={"complaint_answered": False})
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="Noted.")
    assert Notification.objects.filter(user=w.buyer, kind="complaint_answered").count() == 1
    assert mail.outbox == []


def test_a_refused_answer_tells_nobody_and_changes_nothing(w, handler, django_capture_on_commit_callbacks):
    complaint = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Rude")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OrderError) as info:
        services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="  ", resolve=True)
    assert info.value.code == "response_required"
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="Done.", resolve=True)
    before = Complaint.objects.values_list("status", "response", "responded_at", "resolved_at").get()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OrderInvalidTransition):
        services.complaint_respond(complaint_id=complaint.pk, actor=handler, response="Again")
    assert Complaint.objects.values_list("status", "response", "responded_at", "resolved_at").get() == before
    assert Notification.objects.filter(kind="complaint_answered").count() == 1
    assert len(mail.outbox) == 1


# --- The migration's backfill --------------------------------------------------------------------


def test_the_migration_dates_answers_from_the_audit_log_else_the_resolution(w, handler):
    import importlib
    from datetime import timedelta

    from django.apps import apps

    from marketplace.audit import audit_record
    from marketplace.models import AuditLogEntry

    backfill = importlib.import_module("orders.migrations.0018_complaint_responded_at").backfill
    with connection.cursor() as cursor:  # rolled back with the test: rows as before the migration
        cursor.execute("ALTER TABLE orders_complaint DROP CONSTRAINT complaint_response_has_date")
    answered, resolved, waiting = (
        services.complaint_create(order=w.mine, buyer=w.buyer, category="other", text=t) for t in "ABC"
    )
    audit_record(action="complaint.responded", actor=handler, obj=answered)
    answered_at = AuditLogEntry.objects.get(object_type="orders.complaint", object_id=str(answered.pk)).created_at
    resolved_at = timezone.now() - timedelta(hours=5)
    Complaint.objects.filter(pk=answered.pk).update(response="On it")
    Complaint.objects.filter(pk=resolved.pk).update(response="Done", status="resolved", resolved_at=resolved_at)
    backfill(apps, None)
    assert dict(Complaint.objects.values_list("pk", "responded_at")) == {
        answered.pk: answered_at,
        resolved.pk: resolved_at,
        waiting.pk: None,
    }
