"""After-sales photos are private evidence (issue #10, finding 6, as for identity documents).

They are served to the buyer who made the request, the members of the order's merchant whose
role covers orders (owner, orders), and staff allowed `orders.after_sales_photo_view`
(operations, who decide disputes, and superusers). Other buyers, other merchants and members
whose role does not cover orders get 404 like a missing id; staff without the declaration get
403, as in the admin; signed-out visitors are sent to sign in.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from merchants.models import MerchantMember
from orders import services
from orders.models import AfterSalesPhoto, AfterSalesRequest
from tests.catalog.factories import image_upload
from tests.factories import UserFactory
from tests.orders.test_aftersales import _paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _with_photo():
    """A shipped order of a shop with a refund request carrying one photo."""
    merchant_order, buyer, merchant, _wh = _paid_order()
    request = services.after_sales_request_create(
        order=merchant_order,
        buyer=buyer,
        kind="refund",
        reason="Cracked",
        items=[(merchant_order.lines.first().pk, 1, Decimal("1.00"))],
        photos=[image_upload(color=(9, 9, 9))],
    )
    return request.photos.get(), buyer, merchant


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


def _staff(*groups):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def _identity(name, buyer, merchant):
    return {
        "buyer_owner": lambda: buyer,
        "other_buyer": lambda: UserFactory(),
        "merchant_owner": lambda: merchant.owner,
        "orders_member": lambda: _member(merchant, "orders"),
        "catalog_member": lambda: _member(merchant, "catalog"),
        "finance_member": lambda: _member(merchant, "finance"),
        "other_merchant_owner": lambda: _paid_order(ship=False)[2].owner,
        "other_merchant_orders_member": lambda: _member(_paid_order(ship=False)[2], "orders"),
        "reviewer": lambda: _staff("reviewer"),
        "operations": lambda: _staff("operations"),
        "finance_staff": lambda: _staff("finance"),
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
        "plain_staff": lambda: _staff(),
    }[name]()


PHOTO_READERS = {
    "buyer_owner": 200,
    "other_buyer": 404,
    "merchant_owner": 200,
    "orders_member": 200,
    "catalog_member": 404,
    "finance_member": 404,
    "other_merchant_owner": 404,
    "other_merchant_orders_member": 404,
    "reviewer": 403,
    "operations": 200,
    "finance_staff": 403,
    "superuser": 200,
    "plain_staff": 403,
}


@pytest.mark.parametrize(("who", "status"), list(PHOTO_READERS.items()))
def test_after_sales_photos_are_served_only_to_the_buyer_the_shop_and_allowed_staff(client, who, status):
    photo, buyer, merchant = _with_photo()
    client.force_login(_identity(who, buyer, merchant))

    response = client.get(f"/after-sales/photos/{photo.pk}/")

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content) == photo.image.open("rb").read()
    else:
        assert not hasattr(response, "streaming_content")
    # Nobody's visit removes or changes anything.
    assert list(AfterSalesPhoto.objects.values_list("pk", "request_id", "sha256")) == [
        (photo.pk, photo.request_id, photo.sha256)
    ]
    assert AfterSalesRequest.objects.get().status == photo.request.status


def test_signed_out_visitors_are_sent_to_sign_in_for_a_photo(client):
    photo, _buyer, _merchant = _with_photo()
    response = client.get(f"/after-sales/photos/{photo.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/after-sales/photos/{photo.pk}/"


@pytest.mark.parametrize(("who", "status"), [("operations", 404), ("buyer_owner", 404), ("finance_staff", 403)])
def test_a_missing_photo_is_not_found_and_staff_without_the_permission_learn_nothing(client, who, status):
    photo, buyer, merchant = _with_photo()
    client.force_login(_identity(who, buyer, merchant))
    assert client.get(f"/after-sales/photos/{photo.pk + 1}/").status_code == status


def test_the_dispute_page_shows_photos_only_to_staff_who_may_open_them(client):
    photo, buyer, merchant = _with_photo()
    request = photo.request
    services.after_sales_reject(request=request, merchant=merchant, actor=merchant.owner, note="It was fine")
    dispute = services.after_sales_escalate(request=request, buyer=buyer, statement="See the photo")
    page = f"/admin/orders/dispute/{dispute.pk}/change/"
    link = f'href="/after-sales/photos/{photo.pk}/"'

    client.force_login(_staff("operations"))
    assert link in client.get(page).content.decode()
    # Staff who may read disputes but not after-sales requests see the case without the photos.
    dispute_reader = _staff()
    dispute_reader.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="orders", codename__in=["view_dispute"])
    )
    client.force_login(dispute_reader)
    response = client.get(page)
    assert response.status_code == 200
    assert link not in response.content.decode()
