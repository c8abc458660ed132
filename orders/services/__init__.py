"""Every write of the orders app. See each module's docstring for its guarantees."""

from .aftersales import (
    accept_overdue_requests,
    after_sales_accept,
    after_sales_escalate,
    after_sales_reject,
    after_sales_request_create,
    after_sales_return_received,
    after_sales_withdraw,
    complaint_create,
    dispute_resolve,
    review_create,
)
from .checkout import CheckoutItem, checkout_place, checkout_place_idempotent, request_fingerprint
from .lifecycle import (
    buyer_cancel,
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
from .refunds import RefundItem, full_refund_items, refund_issue, reversal

__all__ = [
    "CheckoutItem",
    "RefundItem",
    "accept_overdue_requests",
    "after_sales_accept",
    "after_sales_escalate",
    "after_sales_reject",
    "after_sales_request_create",
    "after_sales_return_received",
    "after_sales_withdraw",
    "buyer_cancel",
    "buyer_order_cancel_unpaid",
    "buyer_order_mark_paid",
    "cancel_expired_unpaid",
    "checkout_place",
    "checkout_place_idempotent",
    "complaint_create",
    "complete_overdue_shipped",
    "dispute_resolve",
    "full_refund_items",
    "gateway_event_process",
    "line_rate",
    "merchant_order_cancel",
    "merchant_order_confirm_receipt",
    "merchant_order_deliver",
    "merchant_order_ship",
    "payment_start",
    "refund_issue",
    "request_fingerprint",
    "reversal",
    "review_create",
    "shipping_fee",
]
