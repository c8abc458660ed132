"""The merchant portal's reviews (filters, pages, one reply each) and complaints pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.models import Review
from tests.factories import UserFactory
from tests.orders.test_portal_orders import build_world, member
from tests.orders.test_reviews import completed

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
REVIEWS, COMPLAINTS = "/portal/orders/reviews/", "/portal/orders/complaints/"


@pytest.fixture
def w():
    w = build_world()
    lines = [completed(w, (w.lamp, 1)).lines.get() for _ in range(3)]
    w.reviews = [
        services.review_create(order_line=line, buyer=w.buyer, rating=rating, text=f"Text {rating}")
        for line, rating in zip(lines, (5, 2, 4), strict=True)
    ]
    return w


def test_the_owner_sees_filters_and_replies_once(client, w):
    client.force_login(w.shop.owner)
    page = client.get(REVIEWS, **EN).content.decode()
    assert [page.index(f"Text {r}") for r in (4, 2, 5)] == sorted(page.index(f"Text {r}") for r in (4, 2, 5))
    assert w.buyer.email not in page  # the buyer's name masked
    only_two = client.get(REVIEWS + "?rating=2", **EN).content.decode()
    assert "Text 2" in only_two and "Text 5" not in only_two and "Text 4" not in only_two

    low = w.reviews[1]
    response = client.post(f"{REVIEWS}{low.pk}/reply/", {"text": "Sorry, we will send a new one."}, **EN)
    assert response["Location"] == REVIEWS
    again = client.post(f"{REVIEWS}{low.pk}/reply/", {"text": "Second try"}, follow=True, **EN)
    assert "You have already replied to this review." in again.content.decode()
    assert Review.objects.get(pk=low.pk).reply == "Sorry, we will send a new one."
    waiting = client.get(REVIEWS + "?replied=no", **EN).content.decode()
    assert "Text 2" not in waiting and "Text 5" in waiting
    replied = client.get(REVIEWS + "?replied=yes", **EN).content.decode()
    assert "Text 2" in replied and "Sorry, we will send a new one." in replied
    # The reply is shown under the review on the product page.
    assert "Sorry, we will send a new one." in client.get(f"/p/{w.lamp.product_id}/", **EN).content.decode()


@pytest.mark.parametrize("who", ["other_merchant", "buyer", "staff", "catalog_member"])
def test_others_cannot_reply_or_see_the_reviews(client, w, who):
    user = {
        "other_merchant": lambda: w.other_shop.owner,
        "buyer": lambda: w.buyer,
        "staff": lambda: UserFactory(is_staff=True, is_superuser=True),
        "catalog_member": lambda: member(w.shop, "catalog"),
    }[who]()
    client.force_login(user)
    review = w.reviews[0]
    assert client.post(f"{REVIEWS}{review.pk}/reply/", {"text": "Not mine"}).status_code == 404
    assert Review.objects.get(pk=review.pk).reply == ""
    if who == "other_merchant":
        assert "Text 5" not in client.get(REVIEWS, **EN).content.decode()
    else:
        assert client.get(REVIEWS).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, w):
    for url in (REVIEWS, COMPLAINTS):
        assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.post(f"{REVIEWS}{w.reviews[0].pk}/reply/", {"text": "x"})["Location"].startswith("/accounts/login/")
    assert Review.objects.exclude(reply="").count() == 0


def test_the_list_costs_the_same_queries_whatever_its_size(client, w):
    client.force_login(w.shop.owner)
    with CaptureQueriesContext(connection) as few:
        client.get(REVIEWS, **EN)
    for _ in range(3):
        line = completed(w, (w.lamp, 1)).lines.get()
        services.review_create(order_line=line, buyer=w.buyer, rating=3)
    with CaptureQueriesContext(connection) as many:
        client.get(REVIEWS, **EN)
    assert len(many) == len(few)


def test_complaints_page_lists_the_shops_complaints_with_the_platforms_response(client, w):
    mine = services.complaint_create(order=w.mine, buyer=w.buyer, category="service", text="Rude on the phone")
    services.complaint_create(order=w.theirs, buyer=w.buyer, category="other", text="Mug was chipped")
    staff = UserFactory(is_staff=True)
    services.complaint_respond(complaint_id=mine.pk, actor=staff, response="The shop apologised.", resolve=True)
    client.force_login(w.shop.owner)
    page = client.get(COMPLAINTS, **EN).content.decode()
    assert "Rude on the phone" in page and "The shop apologised." in page and "Mug was chipped" not in page
    assert "Rude on the phone" not in client.get(COMPLAINTS + "?status=open", **EN).content.decode()
    client.force_login(w.other_shop.owner)
    other = client.get(COMPLAINTS, **EN).content.decode()
    assert "Mug was chipped" in other and "Rude on the phone" not in other
