"""Re-encrypt SM4-GCM fields written under an older key with the current key."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from marketplace import crypto
from marketplace.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        current = crypto.keyring().current_id
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            for field in fields:
                total += self._rotate(model, field, current, batch_size)
        self.stdout.write(f"re-encrypted {total} value(s) with key {current!r}")

    def _rotate(self, model, field, current, batch_size) -> int:
        # Raw SQL: the ORM would hand us plaintext and hide which key wrote each value.
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        pk = connection.ops.quote_name(model._meta.pk.column)
        aad = field._aad()
        done = 0
        last_pk = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {column} IS NOT NULL AND {column} <> ''"
                params = []
                if last_pk is not None:
                    where += f" AND {pk} > %s"
                    params.append(last_pk)
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} {where} ORDER BY {pk} LIMIT %s", [*params, batch_size]
                )
                rows = cursor.fetchall()
                if not rows:
                    return done
                for row_pk, value in rows:
                    if crypto.key_id_of(value) != current:
                        fresh = crypto.encrypt(crypto.decrypt(value, aad=aad), aad=aad)
                        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [fresh, row_pk])
                        done += 1
                last_pk = rows[-1][0]
