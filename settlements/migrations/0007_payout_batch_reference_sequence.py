# Payout batch references from a sequence (unique by construction) instead of the time to the
# second and four random hex digits (two batches in one second could collide).

from django.db import migrations

from marketplace.numbers import create_sequence


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0006_settlement_batch_merchant_ids_array"),
    ]

    operations = [create_sequence("settlements_payout_batch_reference_seq")]
