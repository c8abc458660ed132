# Payment references and default refund references take a sequence value (unique by
# construction) before their random part, which was all they had.

from django.db import migrations

from marketplace.numbers import create_sequence


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_buyer_order_number_sequence"),
    ]

    operations = [
        create_sequence("orders_payment_reference_seq"),
        create_sequence("orders_refund_reference_seq"),
    ]
