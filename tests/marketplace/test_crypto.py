import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models

from marketplace import crypto
from marketplace.fields import EncryptedTextField

OLD_KEY = "k1:00112233445566778899aabbccddeeff"
NEW_KEY = "k2:ffeeddccbbaa99887766554433221100"


class SecretHolder(models.Model):
    """A throwaway model so the field and the rotation command meet a real table."""

    account = EncryptedTextField(blank=True, null=True)

    class Meta:
        app_label = "marketplace"
        managed = False
        db_table = "test_secret_holder"


@pytest.fixture
def secret_table(db):
    with connection.schema_editor() as editor:
        editor.create_model(SecretHolder)
    yield SecretHolder
    with connection.schema_editor() as editor:
        editor.delete_model(SecretHolder)


def test_round_trip_and_format(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    token = crypto.encrypt("6222021234567890", aad=b"col")
    assert token.startswith("sm4gcm$k1$")
    assert "6222021234567890" not in token
    assert crypto.decrypt(token, aad=b"col") == "6222021234567890"
    # A fresh nonce each time: equal plaintexts do not give equal ciphertexts.
    assert crypto.encrypt("6222021234567890", aad=b"col") != token


def test_tampering_wrong_column_and_unknown_key_are_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    token = crypto.encrypt("secret", aad=b"a")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, aad=b"b")
    body = token.split("$")[2]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"sm4gcm$k1${flipped}", aad=b"a")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.DecryptionError, match="Unknown encryption key id 'k1'"):
        crypto.decrypt(token, aad=b"a")


@pytest.mark.parametrize("bad", [["nocolon"], ["k1:zz"], ["k1:0011"], [OLD_KEY, OLD_KEY], []])
def test_bad_key_settings_are_refused(bad):
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keys(bad)


def test_mask_shows_only_the_last_four():
    assert crypto.mask("6222 0212 3456 7890") == "•••• 7890"
    assert crypto.mask("110101199003077777") == "•••• 7777"
    assert crypto.mask("123") == "•••"
    assert crypto.mask(None) == ""


def test_field_stores_ciphertext_and_rotation_reencrypts(settings, secret_table, capsys):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    holder = SecretHolder.objects.create(account="6222021234567890")
    SecretHolder.objects.create(account=None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT account FROM test_secret_holder WHERE id = %s", [holder.pk])
        raw_before = cursor.fetchone()[0]
    assert raw_before.startswith("sm4gcm$k1$")
    assert SecretHolder.objects.get(pk=holder.pk).account == "6222021234567890"

    # Rotation: the new key goes first, the old one stays until the rows are re-encrypted.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_field_keys")
    assert capsys.readouterr().out.strip().startswith("re-encrypted")

    with connection.cursor() as cursor:
        cursor.execute("SELECT account FROM test_secret_holder WHERE id = %s", [holder.pk])
        raw_after = cursor.fetchone()[0]
    assert raw_after.startswith("sm4gcm$k2$")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be dropped
    assert SecretHolder.objects.get(pk=holder.pk).account == "6222021234567890"
    assert SecretHolder.objects.filter(account__isnull=True).count() == 1
