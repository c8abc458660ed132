"""Model fields of the shared kernel."""

from __future__ import annotations

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """A text column stored SM4-GCM encrypted; Python code sees the plaintext.

    The ciphertext is bound to "<app_label>.<model>.<column>" as associated data. Values
    cannot be searched or filtered on (only `isnull`), which is the point. Show them with
    `marketplace.crypto.mask` except to the people entitled to the full value.
    """

    description = "Text encrypted with SM4-GCM"

    def _aad(self) -> bytes:
        return f"{self.model._meta.label_lower}.{self.column}".encode()

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value, aad=self._aad())

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), aad=self._aad())

    def get_lookup(self, lookup_name):
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)
