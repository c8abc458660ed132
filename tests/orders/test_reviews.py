"""Reviews and complaints (orders.services.reviews): the products' and shops' counters, photos,
the merchant's reply, operations hiding a review, complaint handling; the product page's
reviews and the review photos' access."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.errors import CatalogError
from catalog.models import Product
from marketplace.errors import NotFoundError
from marketplace.models import AuditLogEntry
from merchants.models import Merchant
from orders import services
from orders.errors import OrderConflict, OrderError, OrderInvalidTransition
from orders.models import Complaint, MerchantOrder, OrderLine, Review, ReviewPhoto
from tests.catalog.factories import image_upload
from tests.factories import UserFactory
from tests.orders.test_portal_orders import build_world, pay, place

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def completed(w, *items, buyer=None) -> MerchantOrder:
    """A completed merchant order of `w.shop` for `items` ((sku, quantity), ...)."""
    buyer = buyer or w.buyer
    order = pay(place(buyer, *items)).merchant_orders.get(merchant=w.shop)
    services.merchant_order_ship(
        order=order, merchant=w.shop, actor=w.shop.owner, carrier="SF", tracking_number=f"SF{order.pk}"
    )
    order.refresh_from_db()
    services.merchant_order_confirm_receipt(order=order, actor=buyer)
    order.refresh_from_db()
    return order


def counters(w) -> tuple:
    product = Product.objects.get(pk=w.lamp.product_id)
    shop = Merchant.objects.get(pk=w.shop.pk)
    return (product.rating_count, product.rating_total, shop.rating_count, shop.rating_total)


@pytest.fixture
def w():
    return build_world()


def test_reviews_move_the_product_and_shop_counters_and_hidden_ones_leave_them(w):
    first = completed(w, (w.lamp, 1)).lines.get()
    second = completed(w, (w.lamp, 1), buyer=w.other_buyer).lines.get()
    services.review_create(order_line=first, buyer=w.buyer, rating=5, text="Bright")
    review = services.review_create(order_line=second, buyer=w.other_buyer, rating=2)
    assert counters(w) == (2, 7, 2, 7)
    product = Product.objects.get(pk=w.lamp.product_id)
    assert str(product.rating_average) == "3.5"
    assert review.product_id == w.lamp.product_id

    staff = UserFactory(is_staff=True)
    services.review_hide(review_id=review.pk, actor=staff, reason="Competitor's fake review")
    assert counters(w) == (1, 5, 1, 5)
    with pytest.raises(OrderConflict) as info:
        services.review_hide(review_id=review.pk, actor=staff, reason="again")
    assert info.value.code == "already_hidden"
    assert counters(w) == (1, 5, 1, 5)
    services.review_show(review_id=review.pk, actor=staff, reason="Checked: a real buyer")
    assert counters(w) == (2, 7, 2, 7)
    with pytest.raises(OrderConflict) as info:
        services.review_show(review_id=review.pk, actor=staff, reason="again")
    assert info.value.code == "not_hidden"
    assert list(
        AuditLogEntry.objects.filter(object_type="orders.review", object_id=str(review.pk))
        .order_by("seq")
        .values_list("action", "reason")
    ) == [("review.hidden", "Competitor's fake review"), ("review.shown", "Checked: a real buyer")]


def test_hiding_needs_a_reason_and_a_refused_review_changes_nothing(w):
    line = completed(w, (w.lamp, 1)).lines.get()
    review = services.review_create(order_line=line, buyer=w.buyer, rating=4)
    with pytest.raises(OrderError) as info:
        services.review_hide(review_id=review.pk, actor=UserFactory(is_staff=True), reason="  ")
    assert info.value.code == "reason_required"
    assert Review.objects.get().is_hidden is False
    for rating, code in ((0, "invalid_rating"), (6, "invalid_rating"), (True, "invalid_rating")):
        with pytest.raises(OrderError) as info:
            services.review_create(order_line=line, buyer=w.buyer, rating=rating)
        assert info.value.code == code
    with pytest.raises(OrderConflict) as info:
        services.review_create(order_line=line, buyer=w.buyer, rating=1, photos=[image_upload()])
    assert info.value.code == "already_reviewed"
    assert (Review.objects.count(), ReviewPhoto.objects.count()) == (1, 0)
    assert counters(w) == (1, 4, 1, 4)


def test_photos_are_validated_and_served_only_while_the_review_is_shown(client, w):
    line = completed(w, (w.lamp, 1)).lines.get()
    with pytest.raises(CatalogError) as info:
        services.review_create(
            order_line=line, buyer=w.buyer, rating=5, photos=[SimpleUploadedFile("x.png", b"nope", "image/png")]
        )
    assert info.value.code == "file_type_not_allowed"
    with pytest.raises(OrderError) as info:
        services.review_create(order_line=line, buyer=w.buyer, rating=5, photos=[image_upload()] * 6)
    assert info.value.code == "too_many_photos"
    assert (Review.objects.count(), ReviewPhoto.objects.count(), counters(w)) == (0, 0, (0, 0, 0, 0))

    review = services.review_create(
        order_line=line, buyer=w.buyer, rating=5, photos=[image_upload(color=(1, 2, 3)), image_upload(color=(9, 9, 9))]
    )
    photos = list(review.photos.order_by("id"))
    assert len(photos) == 2
    response = client.get(f"/reviews/photos/{photos[0].pk}/")
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
    services.review_hide(review_id=review.pk, actor=UserFactory(is_staff=True), reason="Spam")
    assert client.get(f"/reviews/photos/{photos[0].pk}/").status_code == 404
    assert client.get("/reviews/photos/999999/").status_code == 404


def test_the_merchant_replies_once_to_its_own_reviews_only(w):
    line = completed(w, (w.lamp, 1)).lines.get()
    review = services.review_create(order_line=line, buyer=w.buyer, rating=3)
    with pytest.raises(NotFoundError):
        services.review_reply(merchant=w.other_shop, review_id=review.pk, actor=w.other_shop.owner, text="Hi")
    with pytest.raises(OrderError) as info:
        services.review_reply(merchant=w.shop, review_id=review.pk, actor=w.shop.owner, text=" ")
    assert info.value.code == "reply_required"
    assert Review.objects.get().reply == ""
    services.review_reply(merchant=w.shop, review_id=review.pk, actor=w.shop.owner, text="Thank you!")
    with pytest.raises(OrderConflict) as info:
        services.review_reply(merchant=w.shop, review_id=review.pk, actor=w.shop.owner, text="Again")
    assert info.value.code == "already_replied"
    assert Review.objects.values_list("reply", flat=True).get() == "Thank you!"


def test_the_product_page_lists_shown_reviews_with_their_reply_photos_and_pages(client, w):
    items = [completed(w, (w.lamp, 1)).lines.get() for _ in range(12)]
    reviews = [
        services.review_create(order_line=line, buyer=w.buyer, rating=5 if i % 2 else 4, text=f"Review {i:02d}")
        for i, line in enumerate(items)
    ]
    services.review_reply(merchant=w.shop, review_id=reviews[-1].pk, actor=w.shop.owner, text="Thanks a lot")
    services.review_hide(review_id=reviews[0].pk, actor=UserFactory(is_staff=True), reason="Abuse")
    url = f"/p/{w.lamp.product_id}/"
    page = client.get(url, **EN).content.decode()
    assert "4.5 (11 reviews)" in page  # 6 × 5 + 5 × 4 = 50 over 11, hidden one left out
    assert [f"Review {i:02d}" in page for i in (11, 2, 1, 0)] == [True, True, False, False]
    assert "Thanks a lot" in page and "Page 1 of 2" in page
    second = client.get(url + "?reviews_page=2", **EN).content.decode()
    assert "Review 01" in second and "Review 11" not in second and "Review 00" not in second

    with CaptureQueriesContext(connection) as small:
        client.get(url + "?reviews_page=2", **EN)
    with CaptureQueriesContext(connection) as large:
        client.get(url, **EN)
    assert len(small) == len(large)
    # The number of reviews is the product row's counter: no COUNT of them.
    assert not any("COUNT(" in q["sql"] and "orders_review" in q["sql"] for q in large.captured_queries)


def test_a_product_page_without_reviews_reads_none(client, w):
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/p/{w.lamp.product_id}/", **EN).content.decode()
    assert "No reviews yet. Buyers review a product once their order is completed." in page
    assert not any("orders_review" in q["sql"] for q in queries.captured_queries)


def test_cards_show_the_products_rating(client, w):
    line = completed(w, (w.lamp, 1)).lines.get()
    services.review_create(order_line=line, buyer=w.buyer, rating=4)
    listing = client.get("/search/", **EN).content.decode()
    assert "4.0 (1 review)" in listing and "No reviews yet" in listing  # the cable has none


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_of_one_product_lose_no_update():
    w = build_world()
    lines = [completed(w, (w.lamp, 1)).lines.get() for _ in range(4)]

    def write(line_id: int, rating: int):
        try:
            line = OrderLine.objects.select_related("merchant_order__buyer_order").get(pk=line_id)
            services.review_create(order_line=line, buyer=w.buyer, rating=rating)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [line.pk for line in lines], [1, 2, 4, 5]))
    assert counters(w) == (4, 12, 4, 12)


# --- Complaints --------------------------------------------------------------------------------


def test_complaints_are_assigned_answered_and_resolved_by_their_deadline(w):
    order = w.mine
    before = timezone.now()
    complaint = services.complaint_create(order=order, buyer=w.buyer, category="service", text="Rude")
    assert before + timedelta(hours=72) <= complaint.respond_by <= timezone.now() + timedelta(hours=72)
    staff, buyer = UserFactory(is_staff=True), UserFactory()
    with pytest.raises(OrderError) as info:
        services.complaint_assign(complaint_id=complaint.pk, assignee=buyer, actor=staff)
    assert info.value.code == "assignee_not_staff"
    assert Complaint.objects.get().assignee_id is None
    services.complaint_assign(complaint_id=complaint.pk, assignee=staff, actor=staff)
    with pytest.raises(OrderError) as info:
        services.complaint_respond(complaint_id=complaint.pk, actor=staff, response="", resolve=True)
    assert info.value.code == "response_required"
    services.complaint_respond(complaint_id=complaint.pk, actor=staff, response="We called the shop.")
    assert Complaint.objects.values_list("status", "response").get() == ("open", "We called the shop.")
    services.complaint_respond(complaint_id=complaint.pk, actor=staff, response="The shop apologised.", resolve=True)
    done = Complaint.objects.get()
    assert (done.status, done.response, done.assignee_id, done.resolved_at is not None) == (
        "resolved",
        "The shop apologised.",
        staff.pk,
        True,
    )
    with pytest.raises(OrderInvalidTransition):
        services.complaint_respond(complaint_id=complaint.pk, actor=staff, response="More")
    assert Complaint.objects.get().response == "The shop apologised."


@pytest.mark.page_cache
def test_a_review_makes_the_cached_product_and_shop_pages_stale(client, w, django_capture_on_commit_callbacks):
    line = completed(w, (w.lamp, 1)).lines.get()
    product_url, shop_url = f"/p/{w.lamp.product_id}/", f"/shops/{w.shop.slug}/"
    for url in (product_url, shop_url):
        assert "No reviews yet" in client.get(url, **EN).content.decode()
    with CaptureQueriesContext(connection) as cached:
        client.get(product_url, **EN)
    assert len(cached) == 0  # served from the page cache
    with django_capture_on_commit_callbacks(execute=True):
        review = services.review_create(order_line=line, buyer=w.buyer, rating=4, text="Cached no more")
    assert "Cached no more" in client.get(product_url, **EN).content.decode()
    assert "4.0 (1 review)" in client.get(shop_url, **EN).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.review_hide(review_id=review.pk, actor=UserFactory(is_staff=True), reason="Spam")
    assert "Cached no more" not in client.get(product_url, **EN).content.decode()
    assert "No reviews yet" in client.get(shop_url, **EN).content.decode()
