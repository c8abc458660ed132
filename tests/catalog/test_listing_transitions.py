"""Withdrawing a listing and editing one in review move it through LISTING_TRANSITIONS and
the kernel's helper, with the refusal and the audit row they had before."""

import pytest
from django.utils import translation

from catalog import services
from catalog.errors import ListingInvalidTransition
from catalog.models import LISTING_TRANSITIONS, Product
from marketplace.models import AuditLogEntry
from tests.catalog.factories import image_upload, live_merchant, product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _row(item):
    item = Product.objects.get(pk=item.pk)
    return (item.status, item.title, item.published_at, item.withdrawn_at, item.review_reason)


def test_the_listing_table_holds_the_rules():
    assert {a: (sorted(s), t) for a, (s, t) in LISTING_TRANSITIONS.table.items()} == {
        "submit": (["draft", "rejected"], "submitted"),
        "approve": (["submitted"], "approved"),
        "reject": (["submitted"], "rejected"),
        "withdraw": (["approved"], "draft"),
        "revise": (["submitted"], "draft"),
    }
    assert LISTING_TRANSITIONS.can("withdraw", Product(status="approved"))
    assert not LISTING_TRANSITIONS.can("withdraw", Product(status="draft"))


def test_a_product_on_sale_is_withdrawn_to_draft_with_its_audit_row():
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat)
    Product.objects.filter(pk=item.pk).update(review_reason="Nice pictures")
    withdrawn = services.product_withdraw(product=item, actor=merchant.owner)
    item.refresh_from_db()
    assert (withdrawn.status, item.status, item.is_published, item.review_reason) == (
        "draft",
        "draft",
        False,
        "Nice pictures",
    )
    assert item.withdrawn_at is not None and item.published_at is not None
    entry = AuditLogEntry.objects.filter(object_id=str(item.pk)).order_by("-seq").first()
    assert (entry.action, entry.actor_id, entry.reason) == ("catalog.product_withdrawn", merchant.owner.pk, "")


@pytest.mark.parametrize("state", ["draft", "submitted", "withdrawn"])
def test_a_product_not_on_sale_cannot_be_withdrawn_and_nothing_changes(state):
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, publish=state == "withdrawn")
    if state == "withdrawn":
        services.product_withdraw(product=item, actor=merchant.owner)
    if state == "submitted":
        services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload())
        services.product_submit(product=item, actor=merchant.owner)
    before, entries = _row(item), AuditLogEntry.objects.count()
    with pytest.raises(ListingInvalidTransition) as info:
        services.product_withdraw(product=item, actor=merchant.owner)
    status = "submitted" if state == "submitted" else "draft"
    assert (info.value.status_code, info.value.code) == (409, "invalid_transition")
    assert str(info.value.message) == "Only a product on sale can be withdrawn."
    assert info.value.extra == {"status": status, "action": "withdraw"}
    assert _row(item) == before
    assert AuditLogEntry.objects.count() == entries


def test_editing_a_listing_in_review_sends_it_back_to_draft():
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, publish=False)
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload())
    services.product_submit(product=item, actor=merchant.owner)
    updated = services.product_update(product=item, actor=merchant.owner, title="Desk lamp, brass")
    assert (updated.status, updated.title) == ("draft", "Desk lamp, brass")
    assert _row(item)[:2] == ("draft", "Desk lamp, brass")
    assert Product.objects.get(pk=item.pk).search_text == updated.search_text != ""


@pytest.mark.parametrize("state", ["draft", "rejected"])
def test_editing_a_listing_out_of_review_keeps_its_state(state):
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, publish=False)
    if state == "rejected":
        services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload())
        services.product_submit(product=item, actor=merchant.owner)
        services.product_reject(product=item, actor=UserFactory(is_staff=True), reason="Blurry")
    services.product_update(product=item, actor=merchant.owner, description="Warm light")
    item.refresh_from_db()
    assert (item.status, item.description) == (state, "Warm light")


def test_editing_a_product_on_sale_keeps_it_approved_and_on_sale():
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat)
    services.product_update(product=item, actor=merchant.owner, title="Changed")
    item.refresh_from_db()
    assert (item.status, item.title, item.is_published, item.revisions.count()) == ("approved", "Desk lamp", True, 1)


def test_the_portal_offers_withdrawal_only_when_the_table_allows_it(client):
    merchant, (cat,) = live_merchant()
    on_sale, draft = product(merchant, cat), product(merchant, cat, publish=False)
    client.force_login(merchant.owner)
    offered = {
        item.status: "Withdraw from sale"
        in client.get(f"/portal/catalog/products/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for item in (on_sale, draft)
    }
    assert offered == {"approved": True, "draft": False}
