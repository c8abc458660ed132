"""The demo catalog of `seed_demo`: its key figures, its consistency, and that a second run
changes nothing."""

from __future__ import annotations

import io
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum

from catalog import selectors
from catalog.models import (
    MAX_COMMISSION_RATE,
    MIN_COMMISSION_RATE,
    SKU,
    Category,
    CategoryGrant,
    CategoryRateChange,
    Product,
    ProductImage,
    ProductRevision,
    Stock,
    StockAlert,
    StockMovement,
    Tag,
    Warehouse,
)
from demo.catalog import CATEGORIES, seed_categories
from marketplace.models import AuditLogEntry
from marketplace.regions import Region
from merchants.choices import MerchantStatus
from merchants.models import Merchant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def _depth(category: Category) -> int:
    depth = 1
    while category.parent is not None:
        depth, category = depth + 1, category.parent
    return depth


def _ean13_valid(code: str) -> bool:
    if not re.fullmatch(r"\d{13}", code):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def _snapshot() -> dict:
    """Everything the demo creates, as counts and keys: compared before and after a rerun."""
    return {
        "categories": sorted(Category.objects.values_list("slug", "commission_rate")),
        "rate_changes": CategoryRateChange.objects.count(),
        "grants": sorted(CategoryGrant.objects.values_list("merchant_id", "category_id")),
        "tags": Tag.objects.count(),
        "warehouses": sorted(Warehouse.objects.values_list("code", "kind", "merchant_id")),
        "products": sorted(Product.objects.values_list("pk", "status", "title", "min_price")),
        "skus": SKU.objects.count(),
        "images": sorted(ProductImage.objects.values_list("pk", "image", "is_live")),
        "revisions": sorted(ProductRevision.objects.values_list("pk", "status")),
        "stock": sorted(Stock.objects.values_list("sku_id", "warehouse_id", "on_hand", "reserved")),
        "movements": StockMovement.objects.count(),
        "alerts": sorted(StockAlert.objects.values_list("pk", "closed_at")),
        "audit": AuditLogEntry.objects.count(),
    }


def test_demo_category_tree():
    UserFactory(email="admin@demo.local", is_staff=True, is_superuser=True)
    assert seed_categories(io.StringIO()) == len(CATEGORIES) == 33
    categories = list(Category.objects.select_related("parent__parent"))
    assert Counter(_depth(c) for c in categories) == {1: 5, 2: 16, 3: 12}
    own = [c.commission_rate for c in categories if c.commission_rate is not None]
    assert all(MIN_COMMISSION_RATE <= rate <= MAX_COMMISSION_RATE for rate in own)
    assert len(own) == 15  # the other 18 inherit
    for category in categories:
        assert MIN_COMMISSION_RATE <= selectors.category_effective_rate(category) <= MAX_COMMISSION_RATE
    rates = {c.slug: selectors.category_effective_rate(c) for c in categories}
    assert rates["cookware"] == Decimal("0.0800")  # from 家居生活, two levels up
    assert rates["desk-lamps"] == Decimal("0.0900")  # lighting after its recorded change
    assert rates["skincare"] == Decimal("0.1300")
    assert sorted(CategoryRateChange.objects.values_list("category__slug", "old_rate", "new_rate")) == [
        ("imported-beauty", Decimal("0.1500"), Decimal("0.1300")),
        ("lighting", Decimal("0.1000"), Decimal("0.0900")),
    ]
    assert seed_categories(io.StringIO()) == 0
    assert CategoryRateChange.objects.count() == 2


def test_demo_catalog_figures_and_a_second_run_changes_nothing():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: products: 300 created" in out.getvalue()

    # Categories, tags, warehouses.
    assert Category.objects.count() == 33
    assert Tag.objects.count() == 20
    live = list(Merchant.objects.filter(status=MerchantStatus.LIVE).order_by("pk"))
    assert len(live) == 4
    regional = Warehouse.objects.filter(kind="regional_central")
    assert sorted(regional.values_list("region", flat=True)) == sorted(Region.values)
    assert Warehouse.objects.filter(kind="city_cloud").count() == 6
    assert sorted(Warehouse.objects.filter(kind="merchant").values_list("merchant_id", flat=True)) == [
        m.pk for m in live
    ]
    # Each shop sells only in the categories its application asked for (granted on approval).
    for merchant in live:
        granted = set(CategoryGrant.objects.filter(merchant=merchant).values_list("category_id", flat=True))
        assert granted == set(merchant.requested_category_ids), merchant

    # Products and their moderation states.
    products = Product.objects.all()
    assert products.count() == 300
    assert Counter(products.values_list("merchant_id", flat=True)) == {m.pk: 75 for m in live}
    assert Counter(products.values_list("status", flat=True)) == {
        "approved": 291,
        "submitted": 6,
        "rejected": 1,
        "draft": 2,
    }
    assert products.filter(published_at__isnull=False, withdrawn_at__isnull=True).count() == 291
    assert selectors.product_public_queryset().count() == 291
    assert products.filter(withdrawn_at__isnull=False).count() == 1
    assert selectors.moderation_queue().count() == 6
    assert products.get(status="rejected").review_reason
    revision = selectors.revision_queue().get()
    assert revision.title.endswith("升级款")
    live_ids = set(revision.product.images.filter(is_live=True).values_list("pk", flat=True))
    assert set(revision.image_ids) - live_ids and live_ids - set(revision.image_ids)  # one added, one removed

    for product in products.select_related("merchant", "category").prefetch_related("tags", "skus", "images"):
        assert CJK.search(product.title) and CJK.search(product.description)
        assert selectors.merchant_may_sell_in(product.merchant, product.category), product.title
        assert 1 <= len(product.tags.all()) <= 4
        skus = list(product.skus.all())
        assert 1 <= len(skus) <= 4
        assert product.min_price == min(s.price for s in skus)
        assert Decimal("19") <= product.min_price <= Decimal("10000")
        assert all(s.attributes and _ean13_valid(s.barcode) for s in skus)
        images = list(product.images.all())
        if product.status == "draft" and product.published_at is None:
            assert images == []
        else:
            assert 1 <= len(images) <= 4
        if product.is_published:
            assert any(i.is_live for i in images)
    image = ProductImage.objects.first()
    assert all(default_storage.exists(f.name) for f in (image.image, image.thumb_small, image.thumb_medium))
    assert (image.width, image.height) == (480, 480)

    # Stock: every level is explained by its movements; alerts and replenishment have work.
    assert Stock.objects.count() > SKU.objects.count()
    unexplained = Stock.objects.annotate(
        moved_on_hand=Sum("movements__on_hand_delta"), moved_reserved=Sum("movements__reserved_delta")
    ).filter(~Q(on_hand=F("moved_on_hand")) | ~Q(reserved=F("moved_reserved")))
    assert list(unexplained) == []
    assert Stock.objects.filter(reserved__gt=0).exists()
    assert StockMovement.objects.filter(kind="shipment").count() > 100
    open_alerts = StockAlert.objects.filter(closed_at__isnull=True).select_related("stock__sku")
    assert open_alerts.count() > 0
    assert all(a.stock.available < a.stock.sku.reorder_point for a in open_alerts)
    assert StockAlert.objects.filter(closed_at__isnull=False).exists()
    assert (
        Stock.objects.annotate(open_alerts=Count("alerts", filter=Q(alerts__closed_at__isnull=True)))
        .filter(sku__reorder_point__gt=0, on_hand__lt=F("reserved") + F("sku__reorder_point"), open_alerts=0)
        .count()
        == 0
    )
    for merchant in live:
        assert any(row["suggested"] > 0 for row in selectors.replenishment_suggestions(merchant=merchant))

    before = _snapshot()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo: products: 0 created" in out.getvalue()
    assert "seed_demo: warehouses: 0 created" in out.getvalue()
    assert _snapshot() == before
