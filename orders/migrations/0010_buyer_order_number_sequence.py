# Order numbers from a sequence (unique by construction) instead of the time and six random
# digits (unique by chance). Existing numbers keep their longer shape: the new ones have the
# date and ten digits, so they cannot equal an old one (B + 12 + 6 digits).

from django.db import migrations

from marketplace.numbers import create_sequence


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_refund_execution_after_commit"),
    ]

    operations = [create_sequence("orders_buyer_order_number_seq")]
