from django.db import migrations, models
from django.db.models import Sum


def count_past_returns(apps, schema_editor):
    """Returns already put back in stock: the lines of return requests refunded without a
    dispute (the only way there is the merchant confirming the goods arrived). Capped at the
    line's quantity: duplicated lines could restock more than shipped before this fix."""
    AfterSalesLine = apps.get_model("orders", "AfterSalesLine")
    OrderLine = apps.get_model("orders", "OrderLine")
    returned = (
        AfterSalesLine.objects.filter(
            request__kind="return_refund", request__status="refunded", request__dispute__isnull=True
        )
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    for row in returned.iterator():
        line = OrderLine.objects.get(pk=row["order_line_id"])
        line.returned_quantity = min(row["units"], line.quantity)
        line.save(update_fields=["returned_quantity"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_merchantorder_morder_settleable_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="returned_quantity",
            field=models.PositiveIntegerField(default=0, verbose_name="returned quantity"),
        ),
        migrations.RunPython(count_past_returns, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="orderline",
            constraint=models.CheckConstraint(
                condition=models.Q(("returned_quantity__gte", 0), ("returned_quantity__lte", models.F("quantity"))),
                name="order_line_returned_within_shipped",
            ),
        ),
    ]
