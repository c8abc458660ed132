"""The buyer's review through the API with photos (`multipart/form-data`): checked by the
review service's own code as the HTML form's are, stored with the review or not at all; JSON
bodies still accepted; the answer lists the photos' URLs."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product
from orders.models import Review, ReviewPhoto
from tests.catalog.factories import image_upload
from tests.factories import UserFactory, png_bomb
from tests.orders.test_api import client_for
from tests.orders.test_portal_orders import build_world
from tests.orders.test_reviews import completed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/orders/"


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def line(w):
    return completed(w, (w.lamp, 1)).lines.get()


def written(w) -> tuple:
    product = Product.objects.get(pk=w.lamp.product_id)
    return Review.objects.count(), ReviewPhoto.objects.count(), product.rating_count, product.rating_total


def test_a_review_with_photos_is_stored_whole_and_answers_their_urls(client, w, line):
    response = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/",
        {
            "rating": "5",
            "text": "Bright and steady",
            "photos": [image_upload(color=(1, 2, 3)), image_upload(color=(200, 9, 9), name="b.png")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    review = Review.objects.get()
    photos = list(review.photos.order_by("id").values_list("pk", flat=True))
    assert len(photos) == 2
    body = response.json()
    assert body == {
        "id": review.pk,
        "order_line": line.pk,
        "rating": 5,
        "text": "Bright and steady",
        "photos": [f"http://testserver/reviews/photos/{pk}/" for pk in photos],
        "created_at": body["created_at"],
    }
    assert written(w) == (1, 2, 1, 5)
    for url in body["photos"]:
        served = client.get(url)
        assert (served.status_code, served["Content-Type"]) == (200, "image/jpeg")


def test_json_bodies_are_still_accepted_and_answer_no_photos(w, line):
    response = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/", {"rating": 4, "text": "Fine"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["rating"], response.json()["text"], response.json()["photos"]) == (4, "Fine", [])
    assert written(w) == (1, 0, 1, 4)


def test_a_review_without_photos_as_multipart_is_accepted(w, line):
    response = client_for(w.buyer).post(f"{BASE}order-lines/{line.pk}/review/", {"rating": "3"}, format="multipart")
    assert (response.status_code, response.json()["photos"], response.json()["text"]) == (201, [], "")
    assert written(w) == (1, 0, 1, 3)


def _not_an_image():
    return SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", content_type="image/png")


def _bomb():
    return SimpleUploadedFile("bomb.png", png_bomb(), content_type="image/png")


@pytest.mark.parametrize(
    ("photos", "code"),
    [
        # One bad picture after a good one refuses the whole review.
        (lambda: [image_upload(), _not_an_image()], "file_type_not_allowed"),
        (lambda: [image_upload(), _bomb()], "image_too_large"),
        (lambda: [image_upload(color=(n, n, n)) for n in range(6)], "too_many_photos"),
        (lambda: [SimpleUploadedFile("empty.png", b"", content_type="image/png")], "validation_error"),
    ],
    ids=["not-an-image", "decompression-bomb", "six-photos", "empty-file"],
)
def test_a_bad_photo_refuses_the_whole_review_and_writes_nothing(w, line, photos, code):
    response = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/", {"rating": "5", "text": "x", "photos": photos()}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (400, code), response.content
    assert written(w) == (0, 0, 0, 0)
    # Nothing half-done: the same buyer can still review the line.
    again = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/", {"rating": "2", "photos": [image_upload()]}, format="multipart"
    )
    assert again.status_code == 201
    assert written(w) == (1, 1, 1, 2)


def test_a_picture_over_the_size_limit_is_refused_with_its_limit(w, line, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 100
    response = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/", {"rating": "5", "photos": [image_upload()]}, format="multipart"
    )
    assert (response.status_code, response.json()["code"], response.json()["extra"]) == (
        400,
        "file_too_large",
        {"max_bytes": 100},
    )
    assert written(w) == (0, 0, 0, 0)


def test_a_json_photos_value_is_not_a_file(w, line):
    response = client_for(w.buyer).post(
        f"{BASE}order-lines/{line.pk}/review/", {"rating": 5, "photos": ["aGVsbG8="]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert written(w) == (0, 0, 0, 0)


def test_only_the_buyer_of_the_line_may_review_it_with_photos(w, line):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for who, expected in [
        (None, (401, "not_authenticated")),
        (w.other_buyer, (404, "not_found")),
        (w.shop.owner, (404, "not_found")),
        (w.other_shop.owner, (404, "not_found")),
        (staff, (404, "not_found")),
    ]:
        response = client_for(who).post(
            f"{BASE}order-lines/{line.pk}/review/", {"rating": "5", "photos": [image_upload()]}, format="multipart"
        )
        assert (response.status_code, response.json()["code"]) == expected, who
    assert written(w) == (0, 0, 0, 0)


def test_the_schema_documents_json_and_multipart_with_photos(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/", HTTP_ACCEPT_LANGUAGE="en").content)
    operation = schema["paths"]["/api/v1/orders/order-lines/{id}/review/"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    components = schema["components"]["schemas"]
    multipart = components[content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert multipart["properties"]["photos"]["type"] == "array"
    assert multipart["properties"]["photos"]["items"] == {"type": "string", "format": "binary"}
    assert multipart["required"] == ["rating"]
    as_json = components[content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "photos" not in as_json["properties"]
    answer = components[operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]]
    assert answer["properties"]["photos"] == {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "readOnly": True,
        "description": "Absolute URLs of its pictures (public while the review is shown).",
    }
    for code in ("too_many_photos", "file_type_not_allowed", "image_too_large", "file_too_large", "file_corrupt"):
        assert code in operation["description"]
