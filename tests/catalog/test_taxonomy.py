"""Staff's category and tag edits go through audited services (the admin calls them)."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import translation

from catalog import services
from catalog.errors import CatalogError
from catalog.models import Category, CategoryRateChange, Tag
from marketplace.models import AuditLogEntry
from tests.catalog.factories import live_merchant, product
from tests.factories import UserFactory
from tests.merchants.factories import category

pytestmark = pytest.mark.django_db


def _audit(action: str) -> list[tuple]:
    return list(
        AuditLogEntry.objects.filter(action=action).order_by("seq").values_list("actor_id", "object_id", "data")
    )


def test_a_category_is_created_audited_and_its_first_rate_recorded():
    staff = UserFactory(is_staff=True)
    food = category("Food")

    tea = services.category_create(actor=staff, name="Tea", slug="tea", parent=food, commission_rate=Decimal("0.0800"))

    tea = Category.objects.get(pk=tea.pk)
    assert (tea.name, tea.slug, tea.parent, tea.commission_rate) == ("Tea", "tea", food, Decimal("0.0800"))
    assert _audit("catalog.category_created") == [
        (staff.pk, str(tea.pk), {"name": "Tea", "slug": "tea", "parent": food.pk})
    ]
    change = CategoryRateChange.objects.get()
    assert (change.category, change.old_rate, change.new_rate, change.changed_by) == (
        tea,
        None,
        Decimal("0.0800"),
        staff,
    )


def test_a_refused_first_rate_creates_no_category():
    staff = UserFactory(is_staff=True)
    before = (Category.objects.count(), AuditLogEntry.objects.count())

    with pytest.raises(CatalogError) as refused:
        services.category_create(actor=staff, name="Tea", slug="tea", commission_rate=Decimal("0.5000"))

    assert refused.value.code == "invalid_commission_rate"
    assert (Category.objects.count(), AuditLogEntry.objects.count()) == before


def test_an_update_writes_and_audits_only_what_differs_and_never_the_rate(django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True)
    food = category("Food", rate="0.1000")
    # A rate changed since the page was read stays: the update does not write the rate.
    Category.objects.filter(pk=food.pk).update(commission_rate=Decimal("0.1200"))

    with django_capture_on_commit_callbacks() as callbacks:
        updated = services.category_update(category=food, actor=staff, name="Food", position=5, is_active=False)

    food.refresh_from_db()
    assert (food.name, food.position, food.is_active, food.commission_rate) == ("Food", 5, False, Decimal("0.1200"))
    assert updated.pk == food.pk
    assert _audit("catalog.category_changed") == [(staff.pk, str(food.pk), {"fields": ["is_active", "position"]})]
    assert callbacks == []  # not renamed: no search refresh


def test_an_update_that_changes_nothing_writes_nothing():
    staff = UserFactory(is_staff=True)
    food = category("Food")
    before = AuditLogEntry.objects.count()

    services.category_update(category=food, actor=staff, name="Food", parent=None)

    assert AuditLogEntry.objects.count() == before


def test_only_the_fields_staff_set_are_accepted():
    food = category("Food", rate="0.1000")
    with pytest.raises(TypeError):
        services.category_update(category=food, actor=None, commission_rate=Decimal("0.0500"))
    assert Category.objects.get(pk=food.pk).commission_rate == Decimal("0.1000")


def test_tags_are_created_and_renamed_through_audited_services(django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True)
    tag = services.tag_create(actor=staff, name="Warm glow", slug="warm-glow")
    assert _audit("catalog.tag_created") == [(staff.pk, str(tag.pk), {"name": "Warm glow", "slug": "warm-glow"})]

    services.tag_update(tag=tag, actor=staff, name="Warm glow", slug="warm-glow")
    assert _audit("catalog.tag_changed") == []

    services.tag_update(tag=tag, actor=staff, name="Soft glow")
    assert Tag.objects.get(pk=tag.pk).name == "Soft glow"
    assert _audit("catalog.tag_changed") == [(staff.pk, str(tag.pk), {"fields": ["name"]})]


# The management form of the read-only rate history inline, as the page renders it.
RATE_HISTORY_INLINE = {"rate_changes-TOTAL_FORMS": "0", "rate_changes-INITIAL_FORMS": "0"}


def test_the_admin_pages_save_categories_and_tags_through_the_services(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        reverse("admin:catalog_category_add"),
        {"name": "Tea", "slug": "tea", "commission_rate": "0.0800", "position": 0, **RATE_HISTORY_INLINE},
    )
    assert response.status_code == 302
    tea = Category.objects.get(slug="tea")
    assert response["Location"] == reverse("admin:catalog_category_changelist")
    response = client.post(
        reverse("admin:catalog_category_change", args=[tea.pk]),
        {"name": "Green tea", "slug": "tea", "position": 0, "is_active": "on", **RATE_HISTORY_INLINE},
    )
    assert response.status_code == 302
    response = client.post(reverse("admin:catalog_tag_add"), {"name": "Warm glow", "slug": "warm-glow"})
    assert response.status_code == 302
    tag = Tag.objects.get()
    response = client.post(reverse("admin:catalog_tag_change", args=[tag.pk]), {"name": "Soft", "slug": "warm-glow"})
    assert response.status_code == 302

    actions = AuditLogEntry.objects.order_by("seq").values_list("action", "actor_id", "object_id", "data")
    assert list(actions) == [
        (
            "catalog.category_created",
            staff.pk,
            str(tea.pk),
            {
                "name": "Tea",
                "parent": None,
                "slug": "tea",
                "is_fresh": False,
                "is_cross_border": False,
                "position": 0,
                "is_active": False,
            },
        ),
        ("catalog.category_rate_changed", staff.pk, str(tea.pk), {"old": None, "new": "0.0800"}),
        ("catalog.category_changed", staff.pk, str(tea.pk), {"fields": ["is_active", "name"]}),
        ("catalog.tag_created", staff.pk, str(tag.pk), {"name": "Warm glow", "slug": "warm-glow"}),
        ("catalog.tag_changed", staff.pk, str(tag.pk), {"fields": ["name"]}),
    ]
    assert Category.objects.get(pk=tea.pk).name == "Green tea"
    assert Tag.objects.get(pk=tag.pk).name == "Soft"


# --- The tree stays a tree (the service's rule, shown by the admin) ----------------------------


@pytest.mark.parametrize("under", ["itself", "child", "grandchild"])
def test_a_category_is_never_moved_under_itself_or_its_subcategories(under):
    staff = UserFactory(is_staff=True)
    food = category("Food")
    tea = category("Tea", parent=food)
    green = category("Green tea", parent=tea)
    parent = {"itself": food, "child": tea, "grandchild": green}[under]
    before = (list(Category.objects.order_by("pk").values_list("pk", "parent_id")), AuditLogEntry.objects.count())

    with pytest.raises(CatalogError) as refused:
        services.category_update(category=food, actor=staff, name="Groceries", parent=parent)

    assert (refused.value.code, refused.value.status_code) == ("category_cycle", 400)
    with translation.override("en"):
        assert str(refused.value.message) == "A category cannot be placed under itself or one of its subcategories."
    assert refused.value.extra == {"category": food.pk, "parent": parent.pk}
    assert (list(Category.objects.order_by("pk").values_list("pk", "parent_id")), AuditLogEntry.objects.count()) == (
        before
    )
    assert Category.objects.get(pk=food.pk).name == "Food"


def test_a_category_moves_under_another_branch_and_to_the_top():
    staff = UserFactory(is_staff=True)
    food, drinks = category("Food"), category("Drinks")
    tea = category("Tea", parent=food)

    services.category_update(category=tea, actor=staff, parent=drinks)
    assert Category.objects.get(pk=tea.pk).parent_id == drinks.pk
    services.category_update(category=drinks, actor=staff, parent=food)
    assert Category.objects.get(pk=drinks.pk).parent_id == food.pk
    services.category_update(category=drinks, actor=staff, parent=None)
    assert Category.objects.get(pk=drinks.pk).parent_id is None


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "A category cannot be placed under itself or one of its subcategories."),
        ("zh-hans", "类目不能放在其自身或其子类目之下。"),
    ],
)
def test_the_admin_page_shows_the_services_refusal_of_a_loop_on_the_parent_field(client, language, message):
    staff = UserFactory(is_staff=True, is_superuser=True)
    food = category("Food")
    tea = category("Tea", parent=food)
    client.force_login(staff)
    before = (
        list(Category.objects.order_by("pk").values_list("pk", "parent_id", "name")),
        AuditLogEntry.objects.count(),
    )

    response = client.post(
        reverse("admin:catalog_category_change", args=[food.pk]),
        {"name": "Groceries", "slug": food.slug, "parent": tea.pk, "position": 0, **RATE_HISTORY_INLINE},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"parent": [message]}
    assert (
        list(Category.objects.order_by("pk").values_list("pk", "parent_id", "name")),
        AuditLogEntry.objects.count(),
    ) == (before)
    assert not LogEntry.objects.exists()


# --- Tags are deleted audited ------------------------------------------------------------------


def test_tags_are_deleted_audited_and_their_products_refreshed(django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True)
    merchant, (cat,) = live_merchant()
    glow = services.tag_create(actor=staff, name="Warm glow", slug="warm-glow")
    cosy = services.tag_create(actor=staff, name="Cosy", slug="cosy")
    lamp = product(merchant, cat)
    lamp.tags.set([glow])

    with django_capture_on_commit_callbacks() as callbacks:
        deleted = services.tags_delete(tags=Tag.objects.filter(pk__in=[glow.pk, cosy.pk]).order_by("pk"), actor=staff)

    assert deleted == 2
    assert not Tag.objects.exists()
    assert list(lamp.tags.all()) == []
    assert _audit("catalog.tag_deleted") == [
        (staff.pk, str(glow.pk), {"name": "Warm glow"}),
        (staff.pk, str(cosy.pk), {"name": "Cosy"}),
    ]
    assert len(callbacks) == 1


def test_the_tag_admin_deletes_through_the_audited_service(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    glow = services.tag_create(actor=staff, name="Warm glow", slug="warm-glow")
    client.force_login(staff)

    response = client.post(reverse("admin:catalog_tag_delete", args=[glow.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Tag.objects.exists()
    assert _audit("catalog.tag_deleted") == [(staff.pk, str(glow.pk), {"name": "Warm glow"})]
