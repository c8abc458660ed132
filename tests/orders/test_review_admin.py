"""Operations in the admin: hiding a malicious review (with a reason, audited, out of the
averages) and handling complaints (assign, respond, resolve, overdue)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from marketplace.models import AuditLogEntry
from orders import services
from orders.models import Complaint, Review
from tests.orders.test_admin import messages_of, staff
from tests.orders.test_portal_orders import build_world
from tests.orders.test_reviews import completed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def url(name: str, *args) -> str:
    return reverse(f"admin:orders_{name}", args=args)


@pytest.fixture
def reviewed():
    w = build_world()
    line = completed(w, (w.lamp, 1)).lines.get()
    review = services.review_create(order_line=line, buyer=w.buyer, rating=1, text="Terrible (from a rival)")
    return w, review


def _figures(review) -> tuple:
    product = Product.objects.get(pk=review.product_id)
    return (Review.objects.get(pk=review.pk).is_hidden, product.rating_count, product.rating_total)


def test_operations_hide_a_review_with_a_reason(client, reviewed):
    _w, review = reviewed
    operator = staff("operations")
    client.force_login(operator)
    assert client.get(url("review_hide", review.pk)).status_code == 200
    refused = client.post(url("review_hide", review.pk), {"reason": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert _figures(review) == (False, 1, 1)
    response = client.post(url("review_hide", review.pk), {"reason": "Posted by a competitor"})
    assert response["Location"] == url("review_change", review.pk)
    assert messages_of(response) == [
        ("success", "Hidden: the review is no longer shown and leaves the product's and the shop's ratings.")
    ]
    assert _figures(review) == (True, 0, 0)
    entry = AuditLogEntry.objects.get(object_type="orders.review", object_id=str(review.pk))
    assert (entry.action, entry.reason, entry.actor_id) == ("review.hidden", "Posted by a competitor", operator.pk)
    # Shown again, with a reason.
    client.post(url("review_show", review.pk), {"reason": "The buyer proved the purchase"})
    assert _figures(review) == (False, 1, 1)


@pytest.mark.parametrize("who", ["reviewer", "finance"])
def test_staff_without_the_declaration_cannot_hide(client, reviewed, who):
    _w, review = reviewed
    client.force_login(staff(who, perms=("orders.view_review",)))
    assert client.post(url("review_hide", review.pk), {"reason": "No"}).status_code == 403
    assert _figures(review) == (False, 1, 1)
    assert not AuditLogEntry.objects.filter(object_type="orders.review").exists()


def test_operations_assign_respond_and_resolve_a_complaint(client, reviewed):
    w, _review = reviewed
    complaint = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Rude on the phone")
    operator, colleague = staff("operations"), staff("operations")
    client.force_login(operator)
    client.post(url("complaint_assign", complaint.pk), {"assignee": colleague.pk})
    assert Complaint.objects.get().assignee_id == colleague.pk
    client.post(url("complaint_respond", complaint.pk), {"response": "We spoke to the shop."})
    assert Complaint.objects.values_list("status", "response").get() == ("open", "We spoke to the shop.")
    response = client.post(url("complaint_respond", complaint.pk), {"response": "Apology sent.", "resolve": "on"})
    # The messages of the three posts (none was shown in between), in order.
    assert messages_of(response) == [
        ("success", f"Assigned to {colleague.email}."),
        ("success", "Response saved; the complaint stays open."),
        ("success", "Resolved."),
    ]
    assert Complaint.objects.values_list("status", "response").get() == ("resolved", "Apology sent.")
    # Resolved: the actions are no longer offered.
    assert client.get(url("complaint_respond", complaint.pk)).status_code == 302
    assert list(
        AuditLogEntry.objects.filter(object_type="orders.complaint").order_by("seq").values_list("action", flat=True)
    ) == ["complaint.assigned", "complaint.responded", "complaint.resolved"]


def test_overdue_complaints_are_shown_and_filtered(client, reviewed):
    w, _review = reviewed
    late = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Late one")
    fresh = services.complaint_create(order=w.mine, buyer=w.buyer, category="other", text="Fresh one")
    Complaint.objects.filter(pk=late.pk).update(respond_by=timezone.now() - timedelta(hours=1))
    client.force_login(staff("operations"))
    page = client.get(url("complaint_changelist")).content.decode()
    assert page.count("overdue</strong>") == 1
    overdue = client.get(url("complaint_changelist") + "?overdue=yes")
    assert [c.pk for c in overdue.context["cl"].result_list] == [late.pk]
    assert fresh.pk not in [c.pk for c in overdue.context["cl"].result_list]
