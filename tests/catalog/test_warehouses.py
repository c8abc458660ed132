"""The warehouse rules are the services' (the admin shows their refusals): a merchant
warehouse has its merchant, a platform one has none, and one holding stock keeps its merchant."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import translation

from catalog import services
from catalog.errors import CatalogConflict, CatalogError
from catalog.models import Warehouse
from marketplace.models import AuditLogEntry
from tests.catalog.factories import live_merchant, product, warehouse
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEEDS_MERCHANT = "A merchant warehouse needs its merchant."
NO_MERCHANT = "Platform warehouses (regional central, city cloud) belong to no merchant: leave it empty."


def _state():
    rows = Warehouse.objects.order_by("pk").values_list("pk", "code", "kind", "merchant_id")
    return list(rows), AuditLogEntry.objects.count()


@pytest.mark.parametrize(
    ("kind", "with_merchant", "code", "message"),
    [
        ("merchant", False, "warehouse_merchant_required", NEEDS_MERCHANT),
        ("city_cloud", True, "warehouse_merchant_not_allowed", NO_MERCHANT),
        ("regional_central", True, "warehouse_merchant_not_allowed", NO_MERCHANT),
    ],
)
def test_a_warehouse_whose_merchant_does_not_match_its_kind_is_not_created(kind, with_merchant, code, message):
    merchant, _ = live_merchant()
    before = _state()

    with pytest.raises(CatalogError) as refused:
        services.warehouse_create(
            actor=UserFactory(is_staff=True),
            code="WH-NEW",
            name="New",
            kind=kind,
            region="east",
            city="上海",
            merchant=merchant if with_merchant else None,
        )

    with translation.override("en"):
        assert (refused.value.code, refused.value.status_code, str(refused.value.message)) == (code, 400, message)
    assert _state() == before


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"kind": "merchant"}, "warehouse_merchant_required", NEEDS_MERCHANT),
        ({"merchant": "shop"}, "warehouse_merchant_not_allowed", NO_MERCHANT),
        ({"kind": "city_cloud", "merchant": "shop"}, "warehouse_merchant_not_allowed", NO_MERCHANT),
    ],
)
def test_a_change_that_would_break_the_merchant_kind_rule_changes_nothing(changes, code, message):
    merchant, _ = live_merchant()
    depot = warehouse(code="WH-EAST")
    changes = {name: merchant if value == "shop" else value for name, value in changes.items()}
    before = _state()

    with pytest.raises(CatalogError) as refused:
        services.warehouse_update(warehouse=depot, actor=UserFactory(is_staff=True), name="Renamed", **changes)

    with translation.override("en"):
        assert (refused.value.code, str(refused.value.message)) == (code, message)
    assert _state() == before
    assert Warehouse.objects.get(pk=depot.pk).name == "Warehouse east"


def test_a_merchant_warehouse_with_its_merchant_kept_changes_its_other_fields():
    merchant, _ = live_merchant()
    depot = warehouse(merchant=merchant, code="WH-OWN")

    services.warehouse_update(warehouse=depot, actor=UserFactory(is_staff=True), name="Own", merchant=merchant)

    assert Warehouse.objects.values_list("name", "kind", "merchant_id").get(pk=depot.pk) == (
        "Own",
        "merchant",
        merchant.pk,
    )


def test_a_warehouse_holding_stock_keeps_its_merchant():
    merchant, (cat,) = live_merchant()
    other, _ = live_merchant()
    depot = warehouse(merchant=merchant, code="WH-OWN")
    sku = product(merchant, cat).skus.get()
    services.stock_receive(merchant=merchant, sku=sku, warehouse=depot, quantity=5, actor=merchant.owner)
    before = _state()

    with pytest.raises(CatalogConflict) as refused:
        services.warehouse_update(warehouse=depot, actor=UserFactory(is_staff=True), merchant=other)

    assert (refused.value.code, refused.value.status_code) == ("warehouse_holds_stock", 409)
    with translation.override("en"):
        assert str(refused.value.message) == "This warehouse holds stock: its merchant cannot change."
    assert _state() == before


def test_an_empty_warehouse_may_change_its_merchant():
    merchant, _ = live_merchant()
    other, _ = live_merchant()
    depot = warehouse(merchant=merchant, code="WH-OWN")

    services.warehouse_update(warehouse=depot, actor=UserFactory(is_staff=True), merchant=other)

    assert Warehouse.objects.get(pk=depot.pk).merchant_id == other.pk


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "A merchant warehouse needs its merchant."),
        ("zh-hans", "商家自有仓必须指定所属商家。"),
    ],
)
def test_the_admin_page_shows_the_services_refusal_on_the_merchant_field(client, language, message):
    depot = warehouse(code="WH-EAST")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    before = _state()

    response = client.post(
        reverse("admin:catalog_warehouse_change", args=[depot.pk]),
        {"code": "WH-EAST", "name": "Renamed", "kind": "merchant", "region": "east", "city": "上海"},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"merchant": [message]}
    assert _state() == before
    assert Warehouse.objects.get(pk=depot.pk).name == "Warehouse east"
    assert not LogEntry.objects.exists()
