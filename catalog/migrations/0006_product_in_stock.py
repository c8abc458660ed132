"""`Product.in_stock` on the product row (kept by catalog.services.listing), filled here from
the stock as the storefront computed it per row; partial indexes on the listing keys of the
products buyers may see (issue #12)."""

from django.db import migrations, models

# As catalog.services.listing computes it: an active SKU with units available.
BACKFILL = """
UPDATE catalog_product AS p SET in_stock = EXISTS (
    SELECT 1 FROM catalog_sku k JOIN catalog_stock s ON s.sku_id = k.id
    WHERE k.product_id = p.id AND k.is_active AND s.on_hand > s.reserved
)
"""

LISTED = models.Q(published_at__isnull=False, withdrawn_at__isnull=True, min_price__isnull=False)
# Covering columns: lists without keywords are read by index-only scans.
COVER = ["merchant_id", "category_id", "in_stock", "is_featured"]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_sku_price_at_most_max"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="in_stock",
            field=models.BooleanField(default=False, editable=False, verbose_name="in stock"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["min_price", "id"],
                include=[*COVER, "published_at"],
                condition=LISTED,
                name="product_listed_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["published_at", "id"],
                include=[*COVER, "min_price"],
                condition=LISTED,
                name="product_listed_new_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["published_at"], condition=LISTED & models.Q(is_featured=True), name="product_featured_idx"
            ),
        ),
    ]
