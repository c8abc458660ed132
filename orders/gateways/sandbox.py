"""The sandbox gateway: a payment page on our own site and signed callbacks.

Callbacks carry `X-Sandbox-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256(secret, "<t>." + raw body). Callbacks whose timestamp is more than
GATEWAY_CALLBACK_TOLERANCE_SECONDS away from now are refused (replays of old captures).

No money moves through it, so it exists only while SANDBOX_GATEWAY_ENABLED is on
(marketplace/sandbox.py): off, it starts no payment, shows no page and accepts no callback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from marketplace.sandbox import sandbox_ensure_enabled

from .base import CallbackEvent, GatewayError, InvalidCallback, MalformedCallback

HEADER = "X-Sandbox-Signature"
# An amount sent as a string: plain ASCII digits (Decimal() alone would also take "1_000",
# " 5 ", "NaN" and other scripts' digits). Its range and places are checked by the service.
AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)
#: Cache key prefix of the refunds the sandbox has made, by idempotency key.
SANDBOX_REFUNDS = "sandbox:refund:"


def sign(raw_body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = (secret or settings.SANDBOX_GATEWAY_SECRET).encode()
    digest = hmac.new(secret, f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def callback_body(
    *, payment_reference: str, amount: Decimal, kind: str = "payment.succeeded", event_id: str | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": kind,
            "payment": payment_reference,
            "amount": str(amount),
        },
        separators=(",", ":"),
    ).encode()


class SandboxGateway:
    name = "sandbox"

    def ensure_enabled(self) -> None:
        sandbox_ensure_enabled()

    def payment_url(self, payment) -> str:
        sandbox_ensure_enabled()
        return reverse("orders:sandbox_pay", args=[payment.reference])

    def refund(self, *, payment, amount: Decimal, reference: str) -> str:
        # The sandbox always succeeds, and honours the idempotency key as a real gateway does:
        # the first call is remembered (atomically: cache.add) and a second one with the same
        # key answers the same without returning money again; the same key for another refund
        # is refused.
        first = {"id": f"sandbox-refund-{reference}", "payment": payment.reference, "amount": str(amount)}
        cache.add(f"{SANDBOX_REFUNDS}{reference}", first, timeout=None)
        recorded = cache.get(f"{SANDBOX_REFUNDS}{reference}", first)
        if (recorded["payment"], recorded["amount"]) != (first["payment"], first["amount"]):
            raise GatewayError(f"idempotency key {reference} was used for another refund")
        return recorded["id"]

    def parse_callback(self, *, headers, raw_body: bytes) -> CallbackEvent:
        sandbox_ensure_enabled()
        header = headers.get(HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
            signature = parts["v1"]
        except (KeyError, ValueError) as exc:
            raise InvalidCallback("missing or malformed signature header") from exc
        if abs(time.time() - timestamp) > settings.GATEWAY_CALLBACK_TOLERANCE_SECONDS:
            raise InvalidCallback("timestamp outside the tolerance window")
        expected = sign(raw_body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, signature):
            raise InvalidCallback("signature mismatch")
        return _decode(raw_body)


def _decode(raw_body: bytes) -> CallbackEvent:
    """The event of an authentic body, with the types the service expects; its values
    (lengths, amount range and places) are the service's to check."""
    try:
        # Numbers as exact Decimals, never floats: 0.1 stays 0.1, 1e400 does not become inf.
        # NaN and Infinity are not JSON but Python accepts them: Decimals too, so the
        # service refuses them as amounts with their code.
        payload = json.loads(raw_body, parse_float=Decimal, parse_constant=Decimal)
        if not isinstance(payload, dict):
            raise MalformedCallback("malformed_callback", "the body is not a JSON object")
        event = CallbackEvent(
            event_id=_text(payload, "id", "invalid_event_id"),
            kind=_text(payload, "type", "invalid_event_kind"),
            payment_reference=_text(payload, "payment", "invalid_payment_reference"),
            amount=_amount(payload.get("amount")),
            # Stored as jsonb: Decimals become strings, and PostgreSQL refuses NUL characters.
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
        )
        if _has_nul(event.payload):
            raise MalformedCallback("malformed_callback", "the body contains a NUL character")
        return event
    except (ValueError, RecursionError) as exc:  # not JSON (UnicodeDecodeError is a ValueError), or too deep
        raise MalformedCallback("malformed_callback", "the body is not JSON") from exc


def _text(payload: dict, key: str, code: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise MalformedCallback(code, f"{key} must be a string")
    return value


def _amount(value) -> Decimal:
    if isinstance(value, str) and AMOUNT_TEXT.fullmatch(value):
        return Decimal(value)
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return Decimal(value)
    raise MalformedCallback("invalid_amount", "amount must be a decimal number or a string of one")


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


GATEWAYS = {"sandbox": SandboxGateway()}


def get_gateway(name: str):
    return GATEWAYS[name]
