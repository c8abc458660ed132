"""`marketplace.edits`: audited create, change-what-differs and delete of reference data, and
the admin pages (holidays, tiers, warehouses) that go through them."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Stock, Tag, Warehouse
from marketplace.edits import audited_create, audited_delete, audited_update, changed_fields
from marketplace.errors import ConflictError, DomainError, NotFoundError
from marketplace.models import AuditLogEntry
from merchants.models import PublicHoliday, Tier
from tests.catalog.factories import live_merchant, product
from tests.catalog.factories import warehouse as make_warehouse
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _audit() -> list[tuple]:
    return list(AuditLogEntry.objects.order_by("seq").values_list("action", "actor_id", "object_id", "data"))


def test_create_writes_the_row_and_audits_its_values():
    staff = UserFactory(is_staff=True)
    holiday = audited_create(
        PublicHoliday, action="test.created", actor=staff, date=datetime.date(2026, 10, 1), name="National Day"
    )
    assert PublicHoliday.objects.get().name == "National Day"
    assert _audit() == [("test.created", staff.pk, str(holiday.pk), {"date": "2026-10-01", "name": "National Day"})]


def test_update_writes_and_audits_only_what_differs():
    staff = UserFactory(is_staff=True)
    holiday = PublicHoliday.objects.create(date=datetime.date(2026, 10, 1), name="National Day")

    assert (
        audited_update(holiday, {"date": datetime.date(2026, 10, 1), "name": "National Day"}, action="t", actor=staff)
        == []
    )
    assert _audit() == []

    changed = audited_update(
        holiday, {"date": datetime.date(2026, 10, 1), "name": "Golden Week"}, action="t", actor=staff
    )
    assert changed == ["name"]
    assert PublicHoliday.objects.get().name == "Golden Week"
    assert _audit() == [("t", staff.pk, str(holiday.pk), {"fields": ["name"]})]


def test_a_related_row_compares_by_its_id():
    merchant, _categories = live_merchant()
    depot = make_warehouse(merchant=merchant)
    assert changed_fields(depot, {"merchant": merchant, "kind": "merchant"}) == {}
    assert changed_fields(depot, {"merchant": None}) == {"merchant": None}


def test_a_protected_row_refuses_the_whole_delete():
    staff = UserFactory(is_staff=True)
    merchant, (category,) = live_merchant()
    empty, stocked = make_warehouse(region="east"), make_warehouse(region="south")
    sku = product(merchant, category).skus.get()
    Stock.objects.create(sku=sku, warehouse=stocked, on_hand=1)
    before = (Warehouse.objects.count(), AuditLogEntry.objects.count())

    with pytest.raises(ProtectedError), transaction.atomic():
        audited_delete([empty, stocked], action="t", actor=staff)

    assert (Warehouse.objects.count(), AuditLogEntry.objects.count()) == before


def test_holiday_tier_and_warehouse_admin_pages_edit_through_audited_services(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    add = client.post(reverse("admin:merchants_publicholiday_add"), {"date": "2026-10-01", "name": "National Day"})
    assert add.status_code == 302
    holiday = PublicHoliday.objects.get()
    assert (
        client.post(reverse("admin:merchants_publicholiday_delete", args=[holiday.pk]), {"post": "yes"}).status_code
        == 302
    )
    assert not PublicHoliday.objects.exists()

    core = Tier.objects.get(code="core")
    tier_form = {
        "name": "Core partner",
        "deposit_amount": str(core.deposit_amount),
        "commission_plan": core.commission_plan,
        "position": core.position,
        "entry_criteria": core.entry_criteria,
        "min_monthly_gmv": "" if core.min_monthly_gmv is None else str(core.min_monthly_gmv),
        "min_sku_coverage_pct": core.min_sku_coverage_pct or "",
        "min_annual_growth_pct": core.min_annual_growth_pct or "",
        "min_contract_years": core.min_contract_years or "",
        "benefits": core.benefits,
    }
    assert client.post(reverse("admin:merchants_tier_change", args=[core.pk]), tier_form).status_code == 302
    assert Tier.objects.get(pk=core.pk).name == "Core partner"

    form = {"code": "WH-EAST-9", "name": "East 9", "kind": "regional_central", "region": "east", "is_active": "on"}
    assert client.post(reverse("admin:catalog_warehouse_add"), form).status_code == 302
    depot = Warehouse.objects.get(code="WH-EAST-9")
    change = client.post(reverse("admin:catalog_warehouse_change", args=[depot.pk]), {**form, "city": "Hangzhou"})
    assert change.status_code == 302
    assert Warehouse.objects.get(pk=depot.pk).city == "Hangzhou"

    assert [(action, actor, data) for action, actor, _id, data in _audit()] == [
        ("merchants.holiday_created", staff.pk, {"date": "2026-10-01", "name": "National Day"}),
        ("merchants.holiday_deleted", staff.pk, {"name": str(holiday)}),
        ("merchants.tier_changed", staff.pk, {"fields": ["name"]}),
        (
            "catalog.warehouse_created",
            staff.pk,
            {
                "code": "WH-EAST-9",
                "name": "East 9",
                "kind": "regional_central",
                "region": "east",
                "city": "",
                "merchant": None,
                "is_active": True,
            },
        ),
        ("catalog.warehouse_changed", staff.pk, {"fields": ["city"]}),
    ]


# --- A service's refusal on an admin edit page (ServiceEditAdmin) ------------------------------


def _refusing(monkeypatch, name: str, error: DomainError) -> list:
    """Make `catalog.services.<name>` write a tag, then refuse: the admin must keep nothing."""
    calls = []

    def refuse(**kwargs):
        calls.append(kwargs)
        Tag.objects.create(name="Half-written", slug="half-written")
        raise error

    monkeypatch.setattr(catalog_services, name, refuse)
    return calls


def test_a_refused_admin_add_shows_the_refusal_above_the_form_and_keeps_nothing(client, monkeypatch):
    calls = _refusing(monkeypatch, "tag_create", DomainError("test_refusal", "Refused for a test."))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("admin:catalog_tag_add"), {"name": "Warm glow", "slug": "warm-glow"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"__all__": ["Refused for a test."]}
    assert len(calls) == 1  # the service is asked once; the page is then shown again
    assert (Tag.objects.count(), LogEntry.objects.count(), AuditLogEntry.objects.count()) == (0, 0, 0)


def test_a_refused_admin_change_shows_the_refusal_on_the_field_the_form_names(client, monkeypatch):
    depot = make_warehouse(code="WH-EAST")
    _refusing(monkeypatch, "warehouse_update", ConflictError("warehouse_holds_stock", "Holds stock, for a test."))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:catalog_warehouse_change", args=[depot.pk]),
        {"code": "WH-EAST", "name": "Renamed", "kind": "regional_central", "region": "east", "city": "上海"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"merchant": ["Holds stock, for a test."]}
    assert Warehouse.objects.get(pk=depot.pk).name == "Warehouse east"
    assert (Tag.objects.count(), LogEntry.objects.count(), AuditLogEntry.objects.count()) == (0, 0, 0)


def test_a_not_found_refusal_of_an_admin_edit_is_the_404_page(client, monkeypatch):
    _refusing(monkeypatch, "tag_create", NotFoundError("not_found", "Not yours."))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("admin:catalog_tag_add"), {"name": "Warm glow", "slug": "warm-glow"})

    assert response.status_code == 404
    assert (Tag.objects.count(), LogEntry.objects.count()) == (0, 0)
