"""Path converters for the values our URLs carry besides integer ids.

Django's `str` converter takes any character but `/`, NUL included, and PostgreSQL refuses
NUL in text, so a `str` segment that reaches a lookup turned `/orders/%00/` into a 500. Each
converter below takes only the characters the value can have: anything else is a 404.
"""

from __future__ import annotations

from django.urls import register_converter


class TokenConverter:
    """Order and payment numbers, idempotency keys, invitation tokens: ASCII letters,
    digits, `-` and `_` (what `secrets.token_urlsafe`, `uuid4().hex` and our numbers use)."""

    regex = r"[A-Za-z0-9_-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class UnicodeSlugConverter(TokenConverter):
    """A `SlugField(allow_unicode=True)` value: letters of any script, digits, `-` and `_`."""

    regex = r"[-\w]+"


class SignedConverter(TokenConverter):
    """A `django.core.signing.dumps` value: URL-safe base64 parts joined by `:` (and a
    leading `.` when compressed)."""

    regex = r"[A-Za-z0-9_:.-]+"


def register() -> None:
    register_converter(TokenConverter, "token")
    register_converter(SignedConverter, "signed")
    register_converter(UnicodeSlugConverter, "uslug")
