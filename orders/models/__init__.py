"""Orders: carts, buyer orders split into merchant orders, lines frozen for settlement,
shipments, payments and their gateway events.

A `BuyerOrder` is what the buyer placed and pays once; it holds one `MerchantOrder` per shop.
Merchant orders follow `TRANSITIONS` (buyer orders, refunds, after-sales requests and
disputes their own tables, each right after its model); every change goes through the
kernel's `transition` helper in `orders.services`, and a merchant order's is recorded as an
`OrderEvent`. Order lines freeze, at placement, everything settlement needs.
"""

from .aftersales import (
    AFTER_SALES_TRANSITIONS,
    COMPLAINT_TRANSITIONS,
    DISPUTE_TRANSITIONS,
    AfterSalesLine,
    AfterSalesPhoto,
    AfterSalesRequest,
    Complaint,
    Dispute,
    Review,
    ReviewPhoto,
)
from .aftersales import _photo_path as _photo_path  # migrations name it through this package
from .carts import MAX_LINES, MAX_QUANTITY, Address, Cart, CartItem, ShippingRate
from .payments import REFUND_TRANSITIONS, GatewayEvent, Payment, Refund, RefundLine
from .placed import (
    BUYER_ORDER_TRANSITIONS,
    OS,
    REQUESTABLE_STATES,
    TRANSITIONS,
    BuyerOrder,
    CheckoutAttempt,
    MerchantOrder,
    OrderEvent,
    OrderLine,
    OrderLineDiscount,
    Shipment,
    ShipmentLine,
)

__all__ = [
    "AFTER_SALES_TRANSITIONS",
    "BUYER_ORDER_TRANSITIONS",
    "COMPLAINT_TRANSITIONS",
    "DISPUTE_TRANSITIONS",
    "MAX_LINES",
    "MAX_QUANTITY",
    "OS",
    "REFUND_TRANSITIONS",
    "REQUESTABLE_STATES",
    "TRANSITIONS",
    "Address",
    "AfterSalesLine",
    "AfterSalesPhoto",
    "AfterSalesRequest",
    "BuyerOrder",
    "Cart",
    "CartItem",
    "CheckoutAttempt",
    "Complaint",
    "Dispute",
    "GatewayEvent",
    "MerchantOrder",
    "OrderEvent",
    "OrderLine",
    "OrderLineDiscount",
    "Payment",
    "Refund",
    "RefundLine",
    "Review",
    "ReviewPhoto",
    "Shipment",
    "ShipmentLine",
    "ShippingRate",
]
