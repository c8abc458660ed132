"""The credit rating's weights row with its defaults (40/20/20/20, 0 points at 20 % returns and
10 % complaints, 20 orders to rate): the one row staff edit in the admin."""

from django.db import migrations


def create_row(apps, schema_editor):
    apps.get_model("risk", "RatingWeights").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_quality_models")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
