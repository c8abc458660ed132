"""The two columns of a merchant order the logistics subsidy reads (issue #14), and their
backfill for orders placed and shipped before they were written: `shipped_carrier` is the
carrier of the order's first shipped shipment (by shipping time, then id), trimmed and
upper-cased as the run compared it; `has_special_category` whether a line's category is
fresh or cross-border. One UPDATE each; reversing drops the columns."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Trim, Upper


def backfill(apps, schema_editor):
    MerchantOrder = apps.get_model("orders", "MerchantOrder")
    OrderLine = apps.get_model("orders", "OrderLine")
    ShipmentLine = apps.get_model("orders", "ShipmentLine")
    first_carrier = (
        ShipmentLine.objects.filter(order_line__merchant_order=OuterRef("pk"), shipment__status="shipped")
        .exclude(shipment__carrier="")
        .order_by("shipment__shipped_at", "shipment_id")
        .annotate(code=Upper(Trim("shipment__carrier")))
        .values("code")[:1]
    )
    # An order shipped without a shipped shipment (none found) keeps the empty default.
    MerchantOrder.objects.filter(shipped_at__isnull=False).update(
        shipped_carrier=Coalesce(Subquery(first_carrier), Value(""))
    )
    special = OrderLine.objects.filter(merchant_order=OuterRef("pk")).filter(
        Q(category__is_fresh=True) | Q(category__is_cross_border=True)
    )
    MerchantOrder.objects.filter(Exists(special)).update(has_special_category=True)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0015_cart_line_count"),
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchantorder",
            name="has_special_category",
            field=models.BooleanField(db_default=False, default=False, verbose_name="fresh or cross-border goods"),
        ),
        migrations.AddField(
            model_name="merchantorder",
            name="shipped_carrier",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=50, verbose_name="shipped with carrier"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
