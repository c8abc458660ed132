"""The public product API's ratings (`rating_average`, `rating_count`): read from the product's
counters, and fresh after a review even with the page cache on."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.errors import OrderError
from tests.factories import UserFactory
from tests.orders.test_portal_orders import build_world
from tests.orders.test_reviews import completed

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]
PRODUCTS = "/api/v1/catalog/products/"


def figures(client, url: str, product_id: int) -> tuple:
    body = client.get(url).json()
    row = next(r for r in body["results"] if r["id"] == product_id) if "results" in body else body
    return row["rating_average"], row["rating_count"]


def test_the_api_shows_the_new_figures_after_a_review_with_caching_on(client, django_capture_on_commit_callbacks):
    w = build_world()
    first, second = (completed(w, (w.lamp, 1)).lines.get() for _ in range(2))
    product_id = w.lamp.product_id
    urls = [f"{PRODUCTS}?page_size=50", f"{PRODUCTS}{product_id}/"]
    assert [figures(client, url, product_id) for url in urls] == [(None, 0), (None, 0)]
    for url in urls:
        with CaptureQueriesContext(connection) as cached:
            client.get(url)
        assert len(cached) == 0, url  # served from the page cache

    with django_capture_on_commit_callbacks(execute=True):
        services.review_create(order_line=first, buyer=w.buyer, rating=4)
    assert [figures(client, url, product_id) for url in urls] == [("4.0", 1), ("4.0", 1)]

    with django_capture_on_commit_callbacks(execute=True):
        review = services.review_create(order_line=second, buyer=w.buyer, rating=5)
    assert [figures(client, url, product_id) for url in urls] == [("4.5", 2), ("4.5", 2)]

    with django_capture_on_commit_callbacks(execute=True):
        services.review_hide(review_id=review.pk, actor=UserFactory(is_staff=True), reason="Spam")
    assert [figures(client, url, product_id) for url in urls] == [("4.0", 1), ("4.0", 1)]


def test_a_refused_review_changes_no_figure(client):
    w = build_world()
    line = completed(w, (w.lamp, 1)).lines.get()
    url = f"{PRODUCTS}{w.lamp.product_id}/"
    assert figures(client, url, w.lamp.product_id) == (None, 0)
    with pytest.raises(OrderError) as info:
        services.review_create(order_line=line, buyer=w.buyer, rating=9)
    assert info.value.code == "invalid_rating"
    assert figures(client, url, w.lamp.product_id) == (None, 0)
