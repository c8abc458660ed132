# Contract numbers from a sequence (unique by construction) instead of the merchant id and
# four random hex digits (two contracts offered to one merchant on one day could collide).

from django.db import migrations

from marketplace.numbers import create_sequence


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_default_tiers"),
    ]

    operations = [create_sequence("merchants_contract_number_seq")]
