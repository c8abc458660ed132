"""Stored search vector for products: filled from search_text, GIN-indexed in place of the
expression index of 0003, so matching and ranking parse no text per row.
"""

import django.contrib.postgres.search
from django.db import migrations

OLD_INDEX = "catalog_product_search_gin"
NEW_INDEX = "catalog_product_vector_gin"


def forwards(apps, schema_editor):
    schema_editor.execute(
        "UPDATE catalog_product SET search_vector = to_tsvector('simple'::regconfig, COALESCE(search_text, ''))"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NEW_INDEX} ON catalog_product USING gin (search_vector)")


def backwards(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NEW_INDEX}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON catalog_product "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
    )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_product_search_index")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                editable=False, null=True, verbose_name="search vector"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
