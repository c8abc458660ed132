"""The catalog's staff side in the Django admin: the listing and revision queues with their
read-only pages and action views, commission rates, warehouses, tags and read-only stock."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import selectors, services
from catalog.models import (
    Category,
    CategoryRateChange,
    Product,
    ProductImage,
    ProductRevision,
    StockAlert,
    StockMovement,
    Tag,
    Warehouse,
)
from marketplace.models import AuditLogEntry
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    # Messages are asserted in English; the platform's default language is Chinese.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def staff(*groups: str):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def reviewer():
    return staff("reviewer")


@pytest.fixture
def operations():
    return staff("operations")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def ids(response) -> list[int]:
    return [obj.pk for obj in response.context["cl"].result_list]


def url(name: str, *args) -> str:
    return reverse(f"admin:catalog_{name}", args=args)


def last_audit(obj):
    entry = AuditLogEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("-seq")[0]
    return entry.action, entry.actor, entry.reason


# --- Builders --------------------------------------------------------------------------


def submitted(merchant, cat, *, title="Desk lamp", days_ago: int | None = None, pictures: int = 1, **kwargs):
    """A listing waiting for review (with pictures), submitted `days_ago` days ago."""
    item = product(merchant, cat, title=title, publish=False, **kwargs)
    for n in range(pictures):
        services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(10 * n, 80, 160)))
    services.product_submit(product=item, actor=merchant.owner)
    if days_ago is not None:
        Product.objects.filter(pk=item.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=days_ago))
    item.refresh_from_db()
    return item


def published(merchant, cat, *, pictures: int = 1, **kwargs):
    item = submitted(merchant, cat, pictures=pictures, **kwargs)
    services.product_approve(product=item, actor=UserFactory(is_staff=True))
    item.refresh_from_db()
    return item


def with_revision(merchant, cat, *, title="Desk lamp", days_ago: int | None = None):
    """A published product (two pictures) whose edit waits: new title and tag, one picture
    added, the first removed."""
    item = published(merchant, cat, title=title, pictures=2)
    tag = Tag.objects.create(name=f"Sale {item.pk}", slug=f"sale-{item.pk}")
    services.product_update(product=item, actor=merchant.owner, title=f"{title} v2", tag_ids=[tag.pk])
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(250, 250, 0)))
    services.product_image_remove(image=item.images.order_by("position", "id").first(), actor=merchant.owner)
    revision = ProductRevision.objects.get(product=item, status="pending")
    if days_ago is not None:
        ProductRevision.objects.filter(pk=revision.pk).update(
            submitted_at=timezone.now() - datetime.timedelta(days=days_ago)
        )
    revision.refresh_from_db()
    return revision


def listing_snapshot(item: Product) -> dict:
    p = Product.objects.get(pk=item.pk)
    return {
        "status": p.status,
        "reason": p.review_reason,
        "published_at": p.published_at,
        "updated_at": p.updated_at,
        "title": p.title,
        "images": list(ProductImage.objects.filter(product=p).order_by("id").values_list("pk", "is_live")),
        "audit": AuditLogEntry.objects.filter(object_type="catalog.product", object_id=str(p.pk)).count(),
    }


def revision_snapshot(revision: ProductRevision) -> dict:
    r = ProductRevision.objects.get(pk=revision.pk)
    return {
        "status": r.status,
        "reason": r.reason,
        "reviewed_by": r.reviewed_by_id,
        "product": listing_snapshot(r.product),
    }


def category_snapshot(cat: Category) -> dict:
    c = Category.objects.get(pk=cat.pk)
    return {
        "rate": c.commission_rate,
        "changes": list(CategoryRateChange.objects.filter(category=c).values_list("old_rate", "new_rate")),
    }


@pytest.fixture
def shop():
    merchant, (cat,) = live_merchant()
    return merchant, cat


# --- Listing queue -------------------------------------------------------------------------


def test_listing_queue_puts_submitted_first_oldest_first(client, reviewer, shop):
    merchant, cat = shop
    newest = submitted(merchant, cat, title="Newest", days_ago=1)
    oldest = submitted(merchant, cat, title="Oldest", days_ago=3)
    middle = submitted(merchant, cat, title="Middle", days_ago=2)
    live = published(merchant, cat, title="On sale")
    draft = product(merchant, cat, title="Draft", publish=False)
    client.force_login(reviewer)
    response = client.get(url("product_changelist"))
    assert response.status_code == 200
    assert ids(response) == [oldest.pk, middle.pk, newest.pk, live.pk, draft.pk]
    html = response.content.decode()
    assert "¥199.99" in html and str(merchant) in html and "Waiting for review" in html


@pytest.fixture
def catalogue():
    home = category("Home")
    lamps = category("Lamps", parent=home)
    fashion = category("Fashion")
    first, _ = live_merchant(categories=[home])
    second, _ = live_merchant(categories=[fashion])
    withdrawn = published(second, fashion, title="Scarf")
    services.product_withdraw(product=withdrawn, actor=second.owner)
    return {
        "home": home,
        "fashion": fashion,
        "first": first,
        "second": second,
        "vase": published(first, home, title="Vase"),
        "lamp": submitted(first, lamps, title="Lamp"),
        "scarf": withdrawn,
        "hat": product(second, fashion, title="Hat", publish=False),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda c: {"status__exact": "submitted"}, ["lamp"]),
        (lambda c: {"status__exact": "approved"}, ["vase"]),
        (lambda c: {"merchant__id__exact": c["second"].pk}, ["scarf", "hat"]),
        (lambda c: {"category": c["home"].pk}, ["lamp", "vase"]),  # with its subcategories
        (lambda c: {"category": c["fashion"].pk}, ["scarf", "hat"]),
        (lambda c: {"on_sale": "published"}, ["vase"]),
        (lambda c: {"on_sale": "withdrawn"}, ["scarf"]),
        (lambda c: {"on_sale": "never"}, ["lamp", "hat"]),
        (lambda c: {"q": "Scarf"}, ["scarf"]),
    ],
)
def test_listing_queue_filters(client, reviewer, catalogue, query, expected):
    client.force_login(reviewer)
    response = client.get(url("product_changelist"), query(catalogue))
    assert response.status_code == 200
    assert ids(response) == [catalogue[name].pk for name in expected]


# --- Product page ---------------------------------------------------------------------------


def test_product_page_is_read_only_and_shows_pictures_skus_and_tags(client, reviewer, shop):
    merchant, cat = shop
    tag = Tag.objects.create(name="Bestseller", slug="bestseller")
    item = submitted(
        merchant,
        cat,
        title="Reading lamp",
        pictures=2,
        tag_ids=[tag.pk],
        skus=[
            {"code": "LAMP-W", "price": "129.00", "attributes": {"colour": "white"}},
            {"code": "LAMP-B", "price": "139.00", "attributes": {"colour": "black"}},
        ],
    )
    before = listing_snapshot(item)
    client.force_login(reviewer)
    response = client.get(url("product_change", item.pk))
    assert response.status_code == 200
    html = response.content.decode()
    for image in item.images.all():
        assert url("product_image", item.pk, image.pk, "small") in html
    for text in ("LAMP-W", "LAMP-B", "white / ", "¥129.00", "¥139.00", "Bestseller", "Submitted for review"):
        assert text.rstrip(" /") in html
    assert url("product_approve", item.pk) in html and url("product_reject", item.pk) in html
    # No direct edits: the form cannot be saved, nor products added or deleted.
    assert client.post(url("product_change", item.pk), {"title": "Changed", "status": "approved"}).status_code == 403
    assert client.get(url("product_add")).status_code == 403
    assert client.post(url("product_delete", item.pk), {"post": "yes"}).status_code == 403
    assert listing_snapshot(item) == before


@pytest.mark.parametrize(
    ("state", "buttons"),
    [("submitted", ["approve", "reject"]), ("approved", ["feature"]), ("rejected", []), ("draft", [])],
)
def test_product_page_shows_only_the_buttons_its_state_allows(client, reviewer, shop, state, buttons):
    merchant, cat = shop
    if state == "draft":
        item = product(merchant, cat, publish=False)
    else:
        item = submitted(merchant, cat)
        if state == "approved":
            services.product_approve(product=item, actor=reviewer)
        elif state == "rejected":
            services.product_reject(product=item, actor=reviewer, reason="No")
    client.force_login(reviewer)
    response = client.get(url("product_change", item.pk))
    assert [b["url"] for b in response.context["object_actions"]] == [url(f"product_{b}", item.pk) for b in buttons]


def test_thumbnails_are_served_to_staff_only(client, reviewer, shop):
    merchant, cat = shop
    item = submitted(merchant, cat)
    image = item.images.get()
    other = submitted(merchant, cat, title="Other").images.get()
    small = url("product_image", item.pk, image.pk, "small")

    client.force_login(reviewer)
    response = client.get(small)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with image.thumb_small.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    assert client.get(url("product_image", item.pk, image.pk, "medium")).status_code == 200
    assert client.get(url("product_image", item.pk, image.pk, "original")).status_code == 404
    assert client.get(url("product_image", item.pk, other.pk, "small")).status_code == 404  # not this product's

    client.force_login(staff("finance"))  # staff who may not view products
    assert client.get(small).status_code == 403
    client.force_login(merchant.owner)  # even the owner: the admin is for staff
    response = client.get(small)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.logout()
    assert client.get(small).status_code == 302


# --- Listing actions --------------------------------------------------------------------------


@pytest.mark.parametrize("note", ["", "Nice pictures"])
def test_approve_a_listing(client, reviewer, shop, note):
    merchant, cat = shop
    item = submitted(merchant, cat, title="Reading lamp", pictures=2)
    client.force_login(reviewer)
    page = client.get(url("product_approve", item.pk))
    assert page.status_code == 200
    assert url("product_image", item.pk, item.images.first().pk, "small") in page.content.decode()
    response = client.post(url("product_approve", item.pk), {"note": note})
    assert response.status_code == 302
    assert response["Location"] == url("product_change", item.pk)
    assert messages_of(response) == [("success", "“Reading lamp” is approved and on sale.")]
    item.refresh_from_db()
    assert (item.status, item.review_reason, item.is_published) == ("approved", note, True)
    assert list(item.images.values_list("is_live", flat=True)) == [True, True]
    assert last_audit(item) == ("catalog.product_approved", reviewer, note)


def test_reject_a_listing_needs_a_reason(client, reviewer, shop):
    merchant, cat = shop
    item = submitted(merchant, cat, title="Reading lamp")
    before = listing_snapshot(item)
    client.force_login(reviewer)
    response = client.post(url("product_reject", item.pk), {"reason": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert listing_snapshot(item) == before

    response = client.post(url("product_reject", item.pk), {"reason": "The picture is blurred."})
    assert response.status_code == 302
    assert messages_of(response) == [("success", "“Reading lamp” is rejected; the merchant sees your reason.")]
    item.refresh_from_db()
    assert (item.status, item.review_reason, item.published_at) == ("rejected", "The picture is blurred.", None)
    assert last_audit(item) == ("catalog.product_rejected", reviewer, "The picture is blurred.")


# --- Featuring on the home page ---------------------------------------------------------------


def _featured(item) -> bool:
    return Product.objects.values_list("is_featured", flat=True).get(pk=item.pk)


def test_feature_a_product_on_sale_then_stop(client, reviewer, shop):
    merchant, cat = shop
    item = product(merchant, cat, title="Reading lamp")
    client.force_login(reviewer)
    page = client.get(url("product_change", item.pk)).content.decode()
    assert url("product_feature", item.pk) in page and url("product_unfeature", item.pk) not in page
    response = client.post(url("product_feature", item.pk))
    assert messages_of(response) == [("success", "“Reading lamp” is featured on the home page.")]
    assert _featured(item) is True
    assert last_audit(item) == ("catalog.product_featured", reviewer, "")
    assert [p.pk for p in client.get("/").context["featured"]] == [item.pk]
    page = client.get(url("product_change", item.pk)).content.decode()
    assert url("product_feature", item.pk) not in page and url("product_unfeature", item.pk) in page
    response = client.post(url("product_unfeature", item.pk))
    assert messages_of(response) == [("success", "“Reading lamp” is no longer featured on the home page.")]
    assert _featured(item) is False
    assert last_audit(item) == ("catalog.product_unfeatured", reviewer, "")


def test_a_product_not_on_sale_cannot_be_featured(client, reviewer, shop):
    merchant, cat = shop
    item = submitted(merchant, cat, title="Reading lamp")
    before = listing_snapshot(item)
    client.force_login(reviewer)
    assert url("product_feature", item.pk) not in client.get(url("product_change", item.pk)).content.decode()
    response = client.get(url("product_feature", item.pk))
    assert response.status_code == 302
    assert messages_of(response) == [
        ("error", "“Feature on the home page” is not possible in the current state of “Reading lamp”.")
    ]
    # A stale page posting anyway: the service refuses it and nothing changes.
    response = client.post(url("product_feature", item.pk))
    assert response.status_code == 302
    assert messages_of(response)[-1] == ("error", "Only a product on sale can be featured on the home page.")
    assert (_featured(item), listing_snapshot(item)) == (False, before)


def test_featuring_needs_the_change_permission(client, shop):
    merchant, cat = shop
    item = product(merchant, cat, title="Reading lamp")
    before = listing_snapshot(item)
    client.force_login(staff("finance"))
    assert client.post(url("product_feature", item.pk)).status_code == 403
    client.force_login(merchant.owner)  # not staff: the admin's login page
    response = client.post(url("product_feature", item.pk))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert (_featured(item), listing_snapshot(item)) == (False, before)


def test_feature_is_idempotent_and_a_product_taken_off_sale_leaves_the_home_page(shop):
    merchant, cat = shop
    item = product(merchant, cat, title="Reading lamp")
    actor = staff("reviewer")
    services.product_set_featured(product=item, featured=True, actor=actor)
    audits = AuditLogEntry.objects.filter(object_id=str(item.pk), object_type="catalog.product").count()
    services.product_set_featured(product=item, featured=True, actor=actor)
    assert AuditLogEntry.objects.filter(object_id=str(item.pk), object_type="catalog.product").count() == audits
    services.product_withdraw(product=item, actor=merchant.owner)
    from catalog import selectors

    assert list(selectors.featured_products()) == []
    assert services.product_set_featured(product=item, featured=False, actor=actor).is_featured is False


@pytest.mark.parametrize(("action", "data"), [("approve", {"note": ""}), ("reject", {"reason": "Late"})])
def test_listing_actions_in_the_wrong_state_change_nothing(client, reviewer, shop, action, data):
    merchant, cat = shop
    item = published(merchant, cat, title="Reading lamp")
    before = listing_snapshot(item)
    client.force_login(reviewer)
    # The page refuses at once; a stale form posted anyway is refused by the service.
    response = client.get(url(f"product_{action}", item.pk), follow=True)
    assert response.redirect_chain == [(url("product_change", item.pk), 302)]
    label = {"approve": "Approve", "reject": "Reject"}[action]
    assert messages_of(response) == [("error", f"“{label}” is not possible in the current state of “Reading lamp”.")]
    response = client.post(url(f"product_{action}", item.pk), data)
    assert response.status_code == 302
    assert response["Location"] == url("product_change", item.pk)
    assert messages_of(response) == [("error", "This cannot be done while the listing is “Approved”.")]
    assert listing_snapshot(item) == before


# --- Revision queue -----------------------------------------------------------------------------


def test_revision_queue_puts_pending_first_oldest_first(client, reviewer, shop):
    merchant, cat = shop
    decided = with_revision(merchant, cat, title="Decided", days_ago=9)
    services.revision_reject(revision=decided, actor=reviewer, reason="No")
    newer = with_revision(merchant, cat, title="Newer", days_ago=1)
    older = with_revision(merchant, cat, title="Older", days_ago=4)
    client.force_login(reviewer)
    response = client.get(url("productrevision_changelist"))
    assert response.status_code == 200
    assert ids(response) == [older.pk, newer.pk, decided.pk]
    assert ids(client.get(url("productrevision_changelist"), {"status__exact": "pending"})) == [older.pk, newer.pk]


def test_revision_page_compares_the_published_product_with_the_revision(client, reviewer, shop):
    merchant, cat = shop
    revision = with_revision(merchant, cat, title="Desk lamp")
    item = revision.product
    removed, kept = item.images.filter(is_live=True).order_by("position", "id")
    added = item.images.get(is_live=False)
    client.force_login(reviewer)
    response = client.get(url("productrevision_change", revision.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Published (what buyers see)" in html and "Revision (waiting for review)" in html
    assert "Desk lamp" in html and "Desk lamp v2" in html and f"Sale {item.pk}" in html
    for image in (removed, kept, added):
        assert url("product_image", item.pk, image.pk, "small") in html
    assert "removed" in html and "added" in html
    assert [b["url"] for b in response.context["object_actions"]] == [
        url("productrevision_approve", revision.pk),
        url("productrevision_reject", revision.pk),
    ]
    changes = client.get(url("productrevision_changelist")).context["cl"].result_list[0]
    assert changes.pk == revision.pk


def test_approve_a_revision(client, reviewer, shop):
    merchant, cat = shop
    revision = with_revision(merchant, cat, title="Desk lamp")
    item = revision.product
    removed, kept = item.images.filter(is_live=True).order_by("position", "id")
    added = item.images.get(is_live=False)
    client.force_login(reviewer)
    assert client.get(url("productrevision_approve", revision.pk)).status_code == 200
    response = client.post(url("productrevision_approve", revision.pk), {})
    assert response.status_code == 302
    assert response["Location"] == url("productrevision_change", revision.pk)
    assert messages_of(response) == [("success", "The changes to “Desk lamp v2” are approved: buyers see them now.")]
    revision.refresh_from_db()
    item.refresh_from_db()
    assert (revision.status, revision.reviewed_by) == ("approved", reviewer)
    assert item.title == "Desk lamp v2"
    assert list(item.tags.values_list("name", flat=True)) == [f"Sale {item.pk}"]
    assert list(item.images.order_by("position").values_list("pk", "is_live")) == [(kept.pk, True), (added.pk, True)]
    assert not ProductImage.objects.filter(pk=removed.pk).exists()
    assert last_audit(item)[:2] == ("catalog.product_revision_approved", reviewer)


def test_reject_a_revision_needs_a_reason(client, reviewer, shop):
    merchant, cat = shop
    revision = with_revision(merchant, cat, title="Desk lamp")
    item = revision.product
    added = item.images.get(is_live=False)
    before = revision_snapshot(revision)
    client.force_login(reviewer)
    response = client.post(url("productrevision_reject", revision.pk), {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert revision_snapshot(revision) == before

    response = client.post(url("productrevision_reject", revision.pk), {"reason": "Keep the old title."})
    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "The changes to “Desk lamp” are rejected: buyers keep seeing the approved version.")
    ]
    revision.refresh_from_db()
    item.refresh_from_db()
    assert (revision.status, revision.reason, revision.reviewed_by) == ("rejected", "Keep the old title.", reviewer)
    assert item.title == "Desk lamp"
    assert not ProductImage.objects.filter(pk=added.pk).exists()
    assert last_audit(item) == ("catalog.product_revision_rejected", reviewer, "Keep the old title.")


@pytest.mark.parametrize(("action", "data"), [("approve", {}), ("reject", {"reason": "Late"})])
def test_revision_actions_on_a_decided_revision_change_nothing(client, reviewer, shop, action, data):
    merchant, cat = shop
    revision = with_revision(merchant, cat)
    services.revision_approve(revision=revision, actor=reviewer)
    before = revision_snapshot(revision)
    client.force_login(reviewer)
    assert client.get(url("productrevision_change", revision.pk)).context["object_actions"] == []
    response = client.post(url(f"productrevision_{action}", revision.pk), data)
    assert response.status_code == 302
    assert messages_of(response) == [("error", "This revision is no longer pending.")]
    assert revision_snapshot(revision) == before


# --- Categories ---------------------------------------------------------------------------------


def test_change_the_commission_rate_records_who_when_old_and_new(client, operations):
    food = category("Food", rate="0.1000")
    fruit = category("Fruit", rate=None, parent=food)
    client.force_login(operations)
    page = client.get(url("category_change_rate", food.pk))
    assert page.status_code == 200
    assert page.context["form"].initial == {} and page.context["form"]["rate"].value() == Decimal("0.1000")
    response = client.post(url("category_change_rate", food.pk), {"rate": "0.1200"})
    assert response.status_code == 302
    assert response["Location"] == url("category_change", food.pk)
    assert messages_of(response) == [("success", "The commission rate of “Food” is now 12.00 % (was 10.00 %).")]
    change = CategoryRateChange.objects.get(category=food)
    assert (change.old_rate, change.new_rate, change.changed_by) == (Decimal("0.1000"), Decimal("0.1200"), operations)
    food.refresh_from_db()
    fruit.refresh_from_db()
    assert food.commission_rate == Decimal("0.1200")
    assert selectors.category_effective_rate(fruit) == Decimal("0.1200")
    assert last_audit(food)[:2] == ("catalog.category_rate_changed", operations)
    client.get(response["Location"])  # shows (and consumes) the message

    # Emptied: the category inherits again (the platform default at the root).
    response = client.post(url("category_change_rate", food.pk), {"rate": ""})
    assert messages_of(response) == [("success", "The commission rate of “Food” is now inherited (was 12.00 %).")]
    assert list(CategoryRateChange.objects.filter(category=food).values_list("old_rate", "new_rate")) == [
        (Decimal("0.1200"), None),
        (Decimal("0.1000"), Decimal("0.1200")),
    ]
    html = client.get(url("category_change", food.pk)).content.decode()
    assert "12.00 %" in html and "10.00 %" in html and "inherited" in html  # the history inline


def test_reviewers_see_a_category_they_may_not_change(client, reviewer):
    # The reviewer group views categories only: the page shows them read-only (it answered 500,
    # its form had no `parent` field to label), and a POST changes nothing.
    food = category("Food", rate="0.1000")
    fruit = category("Fruit", rate=None, parent=food)
    row = Category.objects.filter(pk=fruit.pk).values_list("name", "parent_id")
    before = (category_snapshot(fruit), row.get())
    client.force_login(reviewer)
    response = client.get(url("category_change", fruit.pk))
    assert response.status_code == 200
    assert "Food" in response.content.decode()
    assert client.post(url("category_change", fruit.pk), {"name": "Veg", "parent": ""}).status_code == 403
    assert (category_snapshot(fruit), row.get()) == before


@pytest.mark.parametrize("rate", ["0.0499", "0.1501", "1", "abc"])
def test_a_rate_out_of_range_changes_nothing(client, operations, rate):
    food = category("Food", rate="0.1000")
    before = category_snapshot(food)
    client.force_login(operations)
    response = client.post(url("category_change_rate", food.pk), {"rate": rate})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["rate"]
    assert category_snapshot(food) == before


def test_setting_the_same_rate_records_nothing(client, operations):
    food = category("Food", rate="0.1000")
    client.force_login(operations)
    response = client.post(url("category_change_rate", food.pk), {"rate": "0.1000"})
    assert messages_of(response) == [("success", "The commission rate of “Food” was already 10.00 %: nothing changed.")]
    assert not CategoryRateChange.objects.exists()


# The management form of the read-only rate history inline, as the page renders it.
RATE_HISTORY_INLINE = {"rate_changes-TOTAL_FORMS": "0", "rate_changes-INITIAL_FORMS": "0"}


def test_the_category_form_never_writes_the_rate(client, operations):
    food = category("Food", rate="0.1000")
    client.force_login(operations)
    response = client.post(
        url("category_change", food.pk),
        {
            "name": "Fresh food",
            "slug": food.slug,
            "commission_rate": "0.1400",
            "position": 3,
            "is_active": "on",
            **RATE_HISTORY_INLINE,
        },
    )
    assert response.status_code == 302
    food.refresh_from_db()
    assert (food.name, food.position, food.commission_rate) == ("Fresh food", 3, Decimal("0.1000"))
    assert not CategoryRateChange.objects.exists()


def _found(q: str) -> list[int]:
    from catalog import selectors
    from catalog.filters import ProductFilter

    return sorted(p.pk for p in ProductFilter({"q": q}, queryset=selectors.product_public_queryset()).qs)


def test_renaming_a_category_or_a_tag_refreshes_the_search_of_its_products(
    client, operations, django_capture_on_commit_callbacks
):
    merchant, (lamps,) = live_merchant(categories=[category("Reading lights")])
    tag = Tag.objects.create(name="Warm glow", slug="warm-glow")
    item = product(merchant, lamps, title="Desk lamp", tag_ids=[tag.pk])
    other = product(merchant, lamps, title="Floor lamp")
    assert (_found("reading"), _found("glow")) == (sorted([item.pk, other.pk]), [item.pk])
    client.force_login(operations)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("category_change", lamps.pk),
            {"name": "Study lights", "slug": lamps.slug, "position": 0, "is_active": "on", **RATE_HISTORY_INLINE},
        )
    assert response.status_code == 302
    assert (_found("study"), _found("reading")) == (sorted([item.pk, other.pk]), [])
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("tag_change", tag.pk), {"name": "Soft glow", "slug": tag.slug})
    assert response.status_code == 302
    assert (_found("soft"), _found("warm")) == ([item.pk], [])


@pytest.mark.parametrize("how", ["page", "bulk action"])
def test_deleting_a_tag_takes_its_name_out_of_the_search(client, how, django_capture_on_commit_callbacks):
    merchant, (lamps,) = live_merchant(categories=[category("Lights")])
    tag = Tag.objects.create(name="Warm glow", slug="warm-glow")
    item = product(merchant, lamps, title="Desk lamp", tag_ids=[tag.pk])
    assert _found("warm") == [item.pk]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        if how == "page":
            response = client.post(url("tag_delete", tag.pk), {"post": "yes"})
        else:
            response = client.post(
                url("tag_changelist"), {"action": "delete_selected", "_selected_action": [tag.pk], "post": "yes"}
            )
    assert response.status_code == 302
    assert not Tag.objects.exists()
    assert (_found("warm"), _found("lamp")) == ([], [item.pk])


def test_saving_a_category_without_renaming_it_schedules_nothing(
    client, operations, django_capture_on_commit_callbacks
):
    merchant, (lamps,) = live_merchant(categories=[category("Reading lights")])
    product(merchant, lamps, title="Desk lamp")
    client.force_login(operations)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            url("category_change", lamps.pk),
            {"name": "Reading lights", "slug": lamps.slug, "position": 4, "is_active": "on", **RATE_HISTORY_INLINE},
        )
    assert Category.objects.get(pk=lamps.pk).position == 4
    assert callbacks == []


def test_a_new_category_gets_its_rate_through_the_service(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)  # operations only change categories
    food = category("Food", rate="0.1000")
    client.force_login(admin_user)
    response = client.post(
        url("category_add"),
        {
            "name": "Tea",
            "slug": "tea",
            "parent": food.pk,
            "commission_rate": "0.0800",
            "position": 0,
            "is_active": "on",
            **RATE_HISTORY_INLINE,
        },
    )
    assert response.status_code == 302
    tea = Category.objects.get(slug="tea")
    assert (tea.parent, tea.commission_rate) == (food, Decimal("0.0800"))
    change = CategoryRateChange.objects.get()
    assert (change.category, change.old_rate, change.new_rate, change.changed_by) == (
        tea,
        None,
        Decimal("0.0800"),
        admin_user,
    )
    response = client.post(
        url("category_add"), {"name": "Coffee", "slug": "coffee", "position": 0, **RATE_HISTORY_INLINE}
    )
    assert response.status_code == 302
    assert Category.objects.get(slug="coffee").commission_rate is None
    assert CategoryRateChange.objects.count() == 1


def test_category_changelist_shows_own_and_effective_rates(client, operations):
    food = category("Food", rate="0.0700")
    category("Fruit", rate=None, parent=food)
    category("Loose", rate=None)
    client.force_login(operations)
    html = client.get(url("category_changelist")).content.decode()
    assert "7.00 % (from “Food”)" in html
    assert "10.00 % (platform default)" in html


# --- Permissions and CSRF for every action ---------------------------------------------------


def _listing(shop):
    return submitted(*shop)


def _revision(shop):
    return with_revision(*shop)


ACTIONS = [
    # (url name, builder, data, snapshot, a staff group without the permission)
    ("product_approve", _listing, {"note": ""}, listing_snapshot, "operations"),
    ("product_reject", _listing, {"reason": "No"}, listing_snapshot, "finance"),
    ("productrevision_approve", _revision, {}, revision_snapshot, "operations"),
    ("productrevision_reject", _revision, {"reason": "No"}, revision_snapshot, "finance"),
    ("category_change_rate", lambda shop: shop[1], {"rate": "0.1200"}, category_snapshot, "reviewer"),
]


@pytest.mark.parametrize(("name", "build", "data", "snapshot", "lacking"), ACTIONS)
def test_non_staff_are_sent_to_the_admin_login(client, shop, name, build, data, snapshot, lacking):
    obj = build(shop)
    before = snapshot(obj)
    action = url(name, obj.pk)
    client.force_login(shop[0].owner)
    for response in (client.get(action), client.post(action, data)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={action}"
    client.logout()
    assert client.post(action, data).status_code == 302
    assert snapshot(obj) == before


@pytest.mark.parametrize(("name", "build", "data", "snapshot", "lacking"), ACTIONS)
def test_staff_without_the_permission_get_403(client, shop, name, build, data, snapshot, lacking):
    obj = build(shop)
    before = snapshot(obj)
    for user in (staff(lacking), UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(url(name, obj.pk)).status_code == 403
        assert client.post(url(name, obj.pk), data).status_code == 403
    assert snapshot(obj) == before


@pytest.mark.parametrize(("name", "build", "data", "snapshot", "lacking"), ACTIONS)
def test_actions_need_the_csrf_token(shop, name, build, data, snapshot, lacking):
    obj = build(shop)
    before = snapshot(obj)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.post(url(name, obj.pk), data).status_code == 403
    assert snapshot(obj) == before


@pytest.mark.parametrize(("name", "build", "data", "snapshot", "lacking"), ACTIONS)
def test_the_groups_holding_the_permission_can_act(client, shop, name, build, data, snapshot, lacking):
    obj = build(shop)
    before = snapshot(obj)
    client.force_login(staff("operations" if name.startswith("category") else "reviewer"))
    response = client.post(url(name, obj.pk), data)
    assert response.status_code == 302
    assert [level for level, _text in messages_of(response)] == ["success"]
    assert snapshot(obj) != before


# --- Warehouses and tags -----------------------------------------------------------------------


def _warehouse_form(**changes) -> dict:
    data = {"code": "WH-NEW", "name": "New warehouse", "kind": "regional_central", "region": "east", "city": "上海"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kind": "merchant"}, "A merchant warehouse needs its merchant."),
        (
            {"kind": "city_cloud", "merchant": "shop"},
            "Platform warehouses (regional central, city cloud) belong to no merchant: leave it empty.",
        ),
        (
            {"kind": "regional_central", "merchant": "shop"},
            "Platform warehouses (regional central, city cloud) belong to no merchant: leave it empty.",
        ),
    ],
)
def test_warehouse_merchant_must_match_its_kind(client, operations, shop, changes, error):
    if changes.get("merchant") == "shop":
        changes = {**changes, "merchant": shop[0].pk}
    client.force_login(operations)
    response = client.post(url("warehouse_add"), _warehouse_form(**changes))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"merchant": [error]}
    assert not Warehouse.objects.filter(code="WH-NEW").exists()


def test_warehouse_admin_saves_valid_warehouses(client, operations, shop):
    client.force_login(operations)
    assert client.post(url("warehouse_add"), _warehouse_form(kind="city_cloud")).status_code == 302
    response = client.post(url("warehouse_add"), _warehouse_form(code="WH-SHOP", kind="merchant", merchant=shop[0].pk))
    assert response.status_code == 302
    assert sorted(Warehouse.objects.values_list("code", "kind", "merchant_id")) == [
        ("WH-NEW", "city_cloud", None),
        ("WH-SHOP", "merchant", shop[0].pk),
    ]


def test_a_warehouse_holding_stock_keeps_its_merchant(client, operations, shop):
    merchant, cat = shop
    other, _ = live_merchant()
    depot = warehouse(merchant=merchant, code="WH-OWN")
    item = product(merchant, cat)
    services.stock_receive(
        merchant=item.skus.get().merchant, sku=item.skus.get(), warehouse=depot, quantity=5, actor=merchant.owner
    )
    client.force_login(operations)
    response = client.post(
        url("warehouse_change", depot.pk),
        _warehouse_form(code="WH-OWN", kind="merchant", merchant=other.pk, is_active="on"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "merchant": ["This warehouse holds stock: its merchant cannot change."]
    }
    assert Warehouse.objects.get(pk=depot.pk).merchant == merchant


def test_tag_admin(client, operations):
    client.force_login(operations)
    response = client.post(url("tag_add"), {"name": "新品", "slug": "新品"})
    assert response.status_code == 302
    assert list(Tag.objects.values_list("name", "slug")) == [("新品", "新品")]
    assert client.get(url("tag_changelist")).status_code == 200


# --- Read-only stock -----------------------------------------------------------------------------


@pytest.fixture
def stocked(shop):
    """One SKU received in a warehouse, reserved, shipped, below its reorder point."""
    merchant, cat = shop
    item = product(merchant, cat, skus=[{"code": "S-1", "price": "10.00", "reorder_point": 5}])
    sku = item.skus.get()
    depot = warehouse(code="WH-EAST")
    services.stock_receive(
        merchant=sku.merchant, sku=sku, warehouse=depot, quantity=8, actor=merchant.owner, reference="PO-1"
    )
    line = [services.StockLine(sku_id=sku.pk, warehouse_id=depot.pk, quantity=6)]
    services.stock_reserve(lines=line, reference="ORDER-1")
    services.stock_ship(lines=line, reference="ORDER-1")
    return sku.stock.get()


def test_stock_admins_are_read_only(client, operations, stocked):
    client.force_login(operations)
    response = client.get(url("stock_changelist"), {"level": "low"})
    assert response.status_code == 200
    assert [(s.on_hand, s.reserved, s.available) for s in response.context["cl"].result_list] == [(2, 0, 2)]
    page = client.get(url("stock_change", stocked.pk))
    assert page.status_code == 200
    assert "ORDER-1" in page.content.decode()  # the movements inline

    movements = client.get(url("stockmovement_changelist"), {"kind__exact": "shipment"})
    assert [(m.kind, m.on_hand_delta, m.reserved_delta) for m in movements.context["cl"].result_list] == [
        ("shipment", -6, -6)
    ]
    alerts = client.get(url("stockalert_changelist"), {"state": "open"})
    assert [(a.available_at_open, a.reorder_point) for a in alerts.context["cl"].result_list] == [(2, 5)]
    assert ids(client.get(url("stockalert_changelist"), {"state": "closed"})) == []

    movement = StockMovement.objects.first()
    alert = StockAlert.objects.get()
    for name, obj in (("stock", stocked), ("stockmovement", movement), ("stockalert", alert)):
        assert client.get(url(f"{name}_add")).status_code == 403
        assert client.post(url(f"{name}_change", obj.pk), {}).status_code == 403
        assert client.post(url(f"{name}_delete", obj.pk), {"post": "yes"}).status_code == 403
    assert StockMovement.objects.count() == 3
    stocked.refresh_from_db()
    assert (stocked.on_hand, stocked.reserved) == (2, 0)


def test_a_category_page_is_read_only_for_staff_who_may_only_view_categories(client, reviewer, operations):
    # The reviewer views categories without changing them: the admin's form then has no
    # `parent` field, and the form's __init__ that relabels it answered 500.
    parent = category("Home")
    child = category("Lamps", parent=parent)
    client.force_login(reviewer)
    response = client.get(reverse("admin:catalog_category_change", args=[child.pk]))
    assert response.status_code == 200
    assert "adminform" in response.context and "parent" not in response.context["adminform"].form.fields
    client.force_login(operations)
    response = client.get(reverse("admin:catalog_category_change", args=[child.pk]))
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.fields
