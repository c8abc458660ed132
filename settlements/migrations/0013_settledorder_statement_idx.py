"""Index settled orders by statement: the run reads the orders a new statement settles by
statement (logistics accruals, ladder rebates), which scanned every order ever settled.
Built concurrently: the table holds every settled order and is written by running
settlements, which a plain CREATE INDEX would block for as long as it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("settlements", "0012_grant_tax_year"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="settledorder",
            index=models.Index(fields=["statement"], name="settledorder_statement_idx"),
        ),
    ]
