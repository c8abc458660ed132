import django.contrib.postgres.fields
from django.db import migrations, models

# `merchant_ids` was a JSON list while `make run` could still serve SQLite; on PostgreSQL
# only it is a bigint[] again. Django's AlterField would cast with `merchant_ids::bigint[]`,
# which PostgreSQL refuses from jsonb (and a USING clause may not hold a subquery), so the
# rows are converted by their text: a JSON list of integers, "[1, 2]", is the array literal
# "{1, 2}" once its brackets are swapped.
FORWARD = """
ALTER TABLE settlements_settlementbatch
    ALTER COLUMN merchant_ids TYPE bigint[] USING translate(merchant_ids::text, '[]', '{}')::bigint[]
"""
BACKWARD = """
ALTER TABLE settlements_settlementbatch
    ALTER COLUMN merchant_ids TYPE jsonb USING to_jsonb(merchant_ids)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0005_settlement_batch_rows"),
    ]

    operations = [
        migrations.RunSQL(
            sql=FORWARD,
            reverse_sql=BACKWARD,
            state_operations=[
                migrations.AlterField(
                    model_name="settlementbatch",
                    name="merchant_ids",
                    field=django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), size=None, verbose_name="merchants"
                    ),
                ),
            ],
        ),
    ]
