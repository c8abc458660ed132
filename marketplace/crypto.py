"""SM4-GCM encryption of sensitive fields (bank accounts, ID numbers).

Ciphertext format (text, safe in any column): ``sm4gcm$<key id>$<base64(nonce | ciphertext | tag)>``.
The key id names the key that encrypted the value, so keys can be rotated: the first key in
`FIELD_ENCRYPTION_KEYS` encrypts, every listed key decrypts, and `manage.py rotate_field_keys`
re-encrypts rows written under an older key. GCM authenticates the value, and the model
field binds each ciphertext to its column (associated data), so a value copied into another
column does not decrypt.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "sm4gcm"
NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """The value was not encrypted with a known key, or was altered."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]


def parse_keys(entries) -> Keyring:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for raw in entries:
        kid, sep, hexkey = str(raw).strip().partition(":")
        if not sep or not kid or "$" in kid:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries must look like 'kid:<32 hex digits>'.")
        try:
            key = bytes.fromhex(hexkey)
        except ValueError as exc:
            raise ImproperlyConfigured(f"Encryption key {kid!r} is not hexadecimal.") from exc
        if len(key) != 16:
            raise ImproperlyConfigured(f"Encryption key {kid!r} must be 16 bytes (32 hex digits) for SM4.")
        if kid in keys:
            raise ImproperlyConfigured(f"Encryption key id {kid!r} is listed twice.")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return Keyring(current_id=order[0], keys=keys)


@lru_cache(maxsize=8)
def _keyring_for(entries: tuple) -> Keyring:
    return parse_keys(entries)


def keyring() -> Keyring:
    return _keyring_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str, *, aad: bytes = b"") -> str:
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(ring.keys[ring.current_id]), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    token = base64.b64encode(nonce + body + encryptor.tag).decode("ascii")
    return f"{PREFIX}${ring.current_id}${token}"


def key_id_of(ciphertext: str) -> str | None:
    parts = ciphertext.split("$")
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def decrypt(ciphertext: str, *, aad: bytes = b"") -> str:
    kid = key_id_of(ciphertext)
    if kid is None:
        raise DecryptionError("Value is not in the sm4gcm format.")
    key = keyring().keys.get(kid)
    if key is None:
        raise DecryptionError(f"Unknown encryption key id {kid!r}: is it still in FIELD_ENCRYPTION_KEYS?")
    try:
        raw = base64.b64decode(ciphertext.split("$")[2], validate=True)
    except ValueError as exc:
        raise DecryptionError("Ciphertext is not valid base64.") from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Ciphertext is too short.")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode("utf-8")
    except InvalidTag as exc:
        raise DecryptionError("Ciphertext failed authentication: altered or wrong key.") from exc


def mask(value: str | None, visible: int = 4) -> str:
    """Show only the last `visible` characters: '6222 0212 3456 7890' → '•••• 7890'."""
    if not value:
        return ""
    compact = "".join(str(value).split())
    return "•••• " + compact[-visible:] if len(compact) > visible else "•" * len(compact)
