"""The payment gateway adapter interface. The project ships a sandbox gateway; a real one
(Alipay, WeChat Pay, UnionPay) implements the same methods."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class InvalidCallback(Exception):
    """The callback is not authentic (bad signature) or too old/new to be trusted."""


class MalformedCallback(Exception):
    """The callback is authentic but its body cannot be read as an event; `code` is the
    stable error code the API answers with (400)."""

    def __init__(self, code: str, detail: str):
        self.code = code
        super().__init__(f"{code}: {detail}")


class GatewayError(Exception):
    """The gateway refused the operation for good (declined, invalid): trying again will not help."""


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed on its side: try again later, with the same
    idempotency key."""


class GatewayTimeout(GatewayUnavailable):
    """No answer in time: the operation may or may not have happened. Only the idempotency key
    makes trying again safe."""


@dataclass(frozen=True)
class CallbackEvent:
    event_id: str
    kind: str  # "payment.succeeded" | "payment.failed"
    payment_reference: str
    amount: Decimal
    payload: dict


class PaymentGateway(Protocol):
    name: str

    def ensure_enabled(self) -> None:
        """Raise a DomainError unless this gateway may take payments and callbacks here."""

    def payment_url(self, payment) -> str:
        """Where the buyer goes to pay `payment`."""

    def refund(self, *, payment, amount: Decimal, reference: str) -> str:
        """Return `amount` of `payment` to the buyer; returns the gateway's refund id.

        `reference` is the idempotency key: a second call with it returns the first call's
        refund id and returns no money again. Raises GatewayError when the gateway refuses,
        GatewayUnavailable (GatewayTimeout when no answer came within
        settings.GATEWAY_TIMEOUT_SECONDS) when the outcome is unknown. Never called inside a
        database transaction (orders.services.refunds.refund_execute)."""

    def parse_callback(self, *, headers, raw_body: bytes) -> CallbackEvent:
        """Verify and decode a callback; raises InvalidCallback (not authentic) or
        MalformedCallback (authentic, but not an event of the expected types)."""
