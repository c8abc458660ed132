"""GIN index for product full-text search.

The expression must be exactly the one Django generates for
SearchVector("search_text", config="simple"), or PostgreSQL will not use the index.
"""

from django.db import migrations

INDEX = "catalog_product_search_gin"


def create_index(apps, schema_editor):
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_product "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_products_stock")]

    operations = [migrations.RunPython(create_index, drop_index)]
