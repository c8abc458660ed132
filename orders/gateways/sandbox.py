"""The sandbox gateway: a payment page on our own site and signed callbacks.

Callbacks carry `X-Sandbox-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256(secret, "<t>." + raw body). Callbacks whose timestamp is more than
GATEWAY_CALLBACK_TOLERANCE_SECONDS away from now are refused (replays of old captures).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from .base import CallbackEvent, GatewayError, InvalidCallback

HEADER = "X-Sandbox-Signature"
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

    def payment_url(self, payment) -> str:
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
        try:
            payload = json.loads(raw_body)
            return CallbackEvent(
                event_id=str(payload["id"]),
                kind=str(payload["type"]),
                payment_reference=str(payload["payment"]),
                amount=Decimal(str(payload["amount"])),
                payload=payload,
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise InvalidCallback("malformed body") from exc


GATEWAYS = {"sandbox": SandboxGateway()}


def get_gateway(name: str):
    return GATEWAYS[name]
