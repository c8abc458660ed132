import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from catalog import selectors, services
from catalog.choices import MovementKind
from catalog.errors import CatalogConflict, CatalogError, InsufficientStock, ListingInvalidTransition
from catalog.models import (
    CategoryRateChange,
    Product,
    ProductImage,
    ProductRevision,
    Stock,
    StockAlert,
    StockMovement,
    Tag,
)
from catalog.services import StockLine
from merchants.choices import MerchantStatus
from merchants.services import merchant_suspend
from tests.catalog.factories import image_upload, live_merchant, product, warehouse
from tests.factories import UserFactory
from tests.merchants.factories import category, merchant_in_state

pytestmark = pytest.mark.django_db


# --- Categories ---------------------------------------------------------------------------


def test_rate_inheritance_and_platform_default(settings):
    settings.DEFAULT_COMMISSION_RATE = "0.1000"
    root = category("Home", rate=None)
    kitchen = category("Kitchen", rate="0.0800", parent=root)
    pans = category("Pans", rate=None, parent=kitchen)
    woks = category("Woks", rate="0.0500", parent=pans)
    assert selectors.category_effective_rate(root) == Decimal("0.1000")
    assert selectors.category_effective_rate(kitchen) == Decimal("0.0800")
    assert selectors.category_effective_rate(pans) == Decimal("0.0800")
    assert selectors.category_effective_rate(woks) == Decimal("0.0500")


def test_a_rate_change_is_recorded_with_who_old_and_new():
    staff = UserFactory(is_staff=True)
    kitchen = category("Kitchen", rate="0.0800")
    services.category_set_rate(category=kitchen, rate=Decimal("0.1200"), actor=staff)
    services.category_set_rate(category=kitchen, rate=None, actor=staff)
    changes = list(CategoryRateChange.objects.order_by("id").values_list("old_rate", "new_rate", "changed_by"))
    assert changes == [(Decimal("0.0800"), Decimal("0.1200"), staff.pk), (Decimal("0.1200"), None, staff.pk)]
    kitchen.refresh_from_db()
    assert kitchen.commission_rate is None


@pytest.mark.parametrize("rate", ["0.0499", "0.1501", "1"])
def test_rates_outside_5_to_15_percent_are_refused(rate):
    kitchen = category("Kitchen", rate="0.0800")
    with pytest.raises(CatalogError) as info:
        services.category_set_rate(category=kitchen, rate=Decimal(rate), actor=UserFactory(is_staff=True))
    assert info.value.code == "invalid_commission_rate"
    kitchen.refresh_from_db()
    assert kitchen.commission_rate == Decimal("0.0800")
    assert CategoryRateChange.objects.count() == 0


def test_database_refuses_an_out_of_range_rate():
    kitchen = category("Kitchen", rate="0.0800")
    with pytest.raises(IntegrityError), transaction.atomic():
        type(kitchen).objects.filter(pk=kitchen.pk).update(commission_rate=Decimal("0.2000"))


# --- Grants and listing -------------------------------------------------------------------


def test_listing_outside_the_granted_categories_is_refused():
    merchant, (granted,) = live_merchant()
    child = category("Child", parent=granted)
    other = category("Other")
    assert product(merchant, child, publish=False).category == child  # below a grant: allowed
    with pytest.raises(CatalogError) as info:
        services.product_create(
            merchant=merchant, actor=merchant.owner, title="X", category=other, skus=[{"code": "A", "price": "1"}]
        )
    assert info.value.code == "category_not_granted"
    assert Product.objects.filter(category=other).count() == 0


def test_only_approved_merchants_list_products():
    merchant = merchant_in_state(MerchantStatus.SUBMITTED)
    with pytest.raises(CatalogConflict) as info:
        services.product_create(
            merchant=merchant, actor=merchant.owner, title="X", category=category(), skus=[{"code": "A", "price": "1"}]
        )
    assert info.value.code == "merchant_cannot_list"


def test_sku_codes_are_unique_per_merchant_only():
    merchant, (cat,) = live_merchant()
    other, (other_cat,) = live_merchant()
    product(merchant, cat, skus=[{"code": "LAMP-1", "price": "10.00"}], publish=False)
    product(other, other_cat, skus=[{"code": "LAMP-1", "price": "10.00"}], publish=False)
    with pytest.raises(CatalogConflict) as info:
        product(merchant, cat, skus=[{"code": "LAMP-1", "price": "12.00"}], publish=False)
    assert info.value.code == "sku_code_taken"
    assert Product.objects.filter(merchant=merchant).count() == 1  # the whole creation rolled back


# --- Moderation -------------------------------------------------------------------------


def test_moderation_draft_submit_reject_resubmit_approve():
    merchant, (cat,) = live_merchant()
    reviewer = UserFactory(is_staff=True)
    item = product(merchant, cat, publish=False)
    with pytest.raises(CatalogError) as info:
        services.product_submit(product=item, actor=merchant.owner)
    assert (info.value.code, info.value.extra) == ("listing_incomplete", {"missing": ["image"]})
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload())
    services.product_submit(product=item, actor=merchant.owner)
    with pytest.raises(CatalogError):
        services.product_reject(product=item, actor=reviewer, reason=" ")
    services.product_reject(product=item, actor=reviewer, reason="Blurry picture")
    item.refresh_from_db()
    assert (item.status, item.review_reason, item.is_published) == ("rejected", "Blurry picture", False)
    with pytest.raises(ListingInvalidTransition):
        services.product_approve(product=item, actor=reviewer)
    services.product_submit(product=item, actor=merchant.owner)
    services.product_approve(product=item, actor=reviewer)
    item.refresh_from_db()
    assert (item.status, item.is_published) == ("approved", True)
    assert list(item.images.values_list("is_live", flat=True)) == [True]
    assert list(selectors.product_public_queryset()) == [item]


def test_editing_a_published_product_keeps_the_approved_version_on_sale():
    merchant, (cat,) = live_merchant()
    cat2 = category("Second", parent=cat)
    reviewer = UserFactory(is_staff=True)
    item = product(merchant, cat, title="Desk lamp")
    old_image = item.images.get()
    tag = Tag.objects.create(name="护眼", slug="eye-care")

    services.product_update(product=item, actor=merchant.owner, title="Desk lamp Pro", category=cat2, tag_ids=[tag.pk])
    new_image = services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(1, 2, 3)))
    services.product_image_remove(image=old_image, actor=merchant.owner)

    item.refresh_from_db()
    assert (item.title, item.category, list(item.tags.all())) == ("Desk lamp", cat, [])
    assert list(item.images.filter(is_live=True)) == [old_image]
    revision = ProductRevision.objects.get(product=item, status="pending")
    assert (revision.title, revision.category, revision.tag_ids, revision.image_ids) == (
        "Desk lamp Pro",
        cat2,
        [tag.pk],
        [new_image.pk],
    )
    assert list(selectors.product_public_queryset()) == [item]  # still on sale

    services.revision_approve(revision=revision, actor=reviewer)
    item.refresh_from_db()
    assert (item.title, item.category, list(item.tags.all())) == ("Desk lamp Pro", cat2, [tag])
    assert list(item.images.values_list("pk", "is_live")) == [(new_image.pk, True)]
    assert "pro" in item.search_text and "护眼" in item.search_text
    # The stored vector follows the new text in the same update (what search matches and ranks).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector = to_tsvector('simple', search_text), search_vector @@ 'pro & 护眼'::tsquery "
            "FROM catalog_product WHERE id = %s",
            [item.pk],
        )
        assert cursor.fetchone() == (True, True)


def test_a_rejected_revision_leaves_the_product_and_drops_new_pictures():
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, title="Desk lamp")
    services.product_update(product=item, actor=merchant.owner, title="Fake brand lamp")
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(9, 9, 9)))
    revision = ProductRevision.objects.get(product=item)
    services.revision_reject(revision=revision, actor=UserFactory(is_staff=True), reason="Brand not authorised")
    item.refresh_from_db()
    assert item.title == "Desk lamp"
    assert item.images.count() == 1
    revision.refresh_from_db()
    assert (revision.status, revision.reason) == ("rejected", "Brand not authorised")


def test_duplicate_pictures_are_refused():
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, publish=False)
    services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(5, 5, 5)))
    with pytest.raises(CatalogConflict) as info:
        services.product_image_add(product=item, actor=merchant.owner, uploaded=image_upload(color=(5, 5, 5)))
    assert info.value.code == "duplicate_image"
    assert ProductImage.objects.filter(product=item).count() == 1


def test_min_price_follows_active_skus():
    merchant, (cat,) = live_merchant()
    item = product(
        merchant, cat, skus=[{"code": "A", "price": "20.00"}, {"code": "B", "price": "15.50"}], publish=False
    )
    assert item.min_price == Decimal("15.50")
    services.sku_update(sku=item.skus.get(code="B"), actor=merchant.owner, data={"is_active": False})
    item.refresh_from_db()
    assert item.min_price == Decimal("20.00")


def test_products_of_a_suspended_merchant_are_hidden():
    merchant, (cat,) = live_merchant()
    product(merchant, cat)
    merchant_suspend(merchant=merchant, actor=UserFactory(is_staff=True), reason="Complaints")
    assert list(selectors.product_public_queryset()) == []


# --- Stock --------------------------------------------------------------------------------


def _sku_and_warehouse(reorder_point=0, quantity=0):
    merchant, (cat,) = live_merchant()
    item = product(merchant, cat, skus=[{"code": "S1", "price": "9.90", "reorder_point": reorder_point}])
    sku = item.skus.get()
    wh = warehouse()
    if quantity:
        services.stock_receive(
            merchant=sku.merchant, sku=sku, warehouse=wh, quantity=quantity, actor=merchant.owner, reference="PO-1"
        )
    return merchant, sku, wh


def test_movements_explain_every_level():
    merchant, sku, wh = _sku_and_warehouse(quantity=10)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 4)], reference="order-1")
    services.stock_ship(lines=[StockLine(sku.pk, wh.pk, 3)], reference="order-1")
    services.stock_release(lines=[StockLine(sku.pk, wh.pk, 1)], reference="order-1")
    services.stock_adjust(
        merchant=sku.merchant, sku=sku, warehouse=wh, on_hand=5, actor=merchant.owner, reason="Stocktake"
    )
    stock = Stock.objects.get(sku=sku, warehouse=wh)
    assert (stock.on_hand, stock.reserved) == (5, 0)
    rows = list(
        StockMovement.objects.filter(stock=stock)
        .order_by("id")
        .values_list("kind", "on_hand_delta", "reserved_delta", "on_hand_after", "reserved_after")
    )
    assert rows == [
        ("receipt", 10, 0, 10, 0),
        ("reservation", 0, 4, 10, 4),
        ("shipment", -3, -3, 7, 1),
        ("release", 0, -1, 7, 0),
        ("adjustment", -2, 0, 5, 0),
    ]


def test_a_reservation_is_all_or_nothing():
    merchant, sku, wh = _sku_and_warehouse(quantity=5)
    other_wh = warehouse(region="north")
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=other_wh, quantity=1, actor=merchant.owner)
    with pytest.raises(InsufficientStock) as info:
        services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 5), StockLine(sku.pk, other_wh.pk, 2)], reference="o")
    assert info.value.code == "insufficient_stock"
    assert info.value.status_code == 409
    assert info.value.extra == {"lines": [{"sku": sku.pk, "warehouse": other_wh.pk, "requested": 2, "available": 1}]}
    assert list(Stock.objects.order_by("id").values_list("reserved", flat=True)) == [0, 0]
    assert StockMovement.objects.filter(kind=MovementKind.RESERVATION).count() == 0


def test_adjusting_below_reserved_is_refused():
    merchant, sku, wh = _sku_and_warehouse(quantity=5)
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 3)], reference="o")
    with pytest.raises(CatalogConflict) as info:
        services.stock_adjust(
            merchant=sku.merchant, sku=sku, warehouse=wh, on_hand=2, actor=merchant.owner, reason="Count"
        )
    assert info.value.code == "below_reserved"
    assert Stock.objects.get().on_hand == 5


def test_the_database_refuses_negative_available():
    _merchant, sku, _wh = _sku_and_warehouse(quantity=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(sku=sku).update(reserved=3)


def test_alerts_open_below_the_reorder_point_and_close_when_stock_recovers():
    merchant, sku, wh = _sku_and_warehouse(reorder_point=5, quantity=8)
    assert StockAlert.objects.count() == 0
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 4)], reference="o1")  # available 4 < 5
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 1)], reference="o2")  # still below: no second alert
    alert = StockAlert.objects.get()
    assert (alert.available_at_open, alert.reorder_point, alert.merchant_id, alert.closed_at) == (
        4,
        5,
        merchant.pk,
        None,
    )
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=10, actor=merchant.owner)
    alert.refresh_from_db()
    assert alert.closed_at is not None
    assert list(selectors.alert_list_for_merchant(merchant)) == []


def test_replenishment_suggestion():
    merchant, sku, wh = _sku_and_warehouse(quantity=100)
    type(sku).objects.filter(pk=sku.pk).update(lead_time_days=7, safety_stock=10)
    # 56 units shipped in the last 28 days → 2 a day; 7 days of lead time → 14 + 10 safety.
    services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 56)], reference="o")
    services.stock_ship(lines=[StockLine(sku.pk, wh.pk, 56)], reference="o")
    services.stock_adjust(
        merchant=sku.merchant, sku=sku, warehouse=wh, on_hand=20, actor=merchant.owner, reason="Count"
    )
    (row,) = selectors.replenishment_suggestions(merchant=merchant)
    assert (row["units_sold"], row["daily_velocity"], row["available"], row["suggested"]) == (56, 2.0, 20, 4)
    services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=wh, quantity=50, actor=merchant.owner)
    (row,) = selectors.replenishment_suggestions(merchant=merchant)
    assert row["suggested"] == 0  # never negative


def test_a_foreign_merchant_warehouse_is_refused():
    merchant, sku, _wh = _sku_and_warehouse()
    other, _cats = live_merchant()
    foreign = warehouse(merchant=other)
    with pytest.raises(CatalogError) as info:
        services.stock_receive(merchant=sku.merchant, sku=sku, warehouse=foreign, quantity=1, actor=merchant.owner)
    assert info.value.code == "warehouse_not_yours"
    assert Stock.objects.filter(warehouse=foreign).count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_reservers_never_oversell():
    _merchant, sku, wh = _sku_and_warehouse(quantity=10)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def reserve(n):
        try:
            barrier.wait()
            services.stock_reserve(lines=[StockLine(sku.pk, wh.pk, 1)], reference=f"buyer-{n}")
            results.append("ok")
        except InsufficientStock:
            results.append("short")
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["ok"] * 10 + ["short"] * 10
    stock = Stock.objects.get(sku=sku, warehouse=wh)
    assert (stock.on_hand, stock.reserved) == (10, 10)
    assert StockMovement.objects.filter(stock=stock, kind="reservation").count() == 10
