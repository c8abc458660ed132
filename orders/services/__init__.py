"""Every write of the orders app. See each module's docstring for its guarantees."""

from .checkout import CheckoutItem, checkout_place, checkout_place_idempotent, request_fingerprint
from .lifecycle import (
    buyer_order_cancel_unpaid,
    buyer_order_mark_paid,
    cancel_expired_unpaid,
    complete_overdue_shipped,
    merchant_order_cancel,
    merchant_order_confirm_receipt,
    merchant_order_deliver,
    merchant_order_ship,
)
from .payments import gateway_event_process, payment_start
from .pricing import line_rate, shipping_fee

__all__ = [
    "CheckoutItem",
    "buyer_order_cancel_unpaid",
    "buyer_order_mark_paid",
    "cancel_expired_unpaid",
    "checkout_place",
    "checkout_place_idempotent",
    "complete_overdue_shipped",
    "gateway_event_process",
    "line_rate",
    "merchant_order_cancel",
    "merchant_order_confirm_receipt",
    "merchant_order_deliver",
    "merchant_order_ship",
    "payment_start",
    "request_fingerprint",
    "shipping_fee",
]
