"""Reads of the orders app.

Buyer-facing reads take the buyer, so a buyer only ever reaches their own carts, addresses,
orders and payments; anyone else's ids are not found (None, answered 404 by the views; staff
included: they use the admin).

One module per reader: `buyer`, `merchant` (with the API's reads by id), `parcels`,
`pricing`, `activity` (buyers' paid orders summed for promotions' nightly run) and
`marketing` (a promotion's, flash sale's or group buy's cost, orders, GMV and new buyers); every
public name is re-exported here, so `from orders.selectors import X` and
`orders.selectors.X` keep working.
"""

from .activity import buyer_activity, buyer_activity_bounds
from .buyer import (
    CartLine,
    CartShop,
    CartView,
    address_get,
    address_list,
    after_sales_get_for_buyer,
    buyer_order_detail,
    buyer_order_get,
    buyer_order_list,
    cart_find,
    cart_item_count,
    cart_view,
    cart_view_of,
    checkout_attempt_order,
    merchant_order_get_for_buyer,
    order_line_get_for_buyer,
    payment_get_for_buyer,
    payment_order_get,
)
from .marketing import (
    NO_FIGURES,
    SOURCES,
    MarketingFigures,
    promotion_marketing,
    promotion_marketing_daily,
    source_marketing,
    source_marketing_daily,
)
from .merchant import (
    AFTER_SALES_QUEUE_ORDER,
    after_sales_get_for_buyer_by_id,
    after_sales_get_for_merchant,
    after_sales_list_for_merchant,
    after_sales_photo_get_for_user,
    merchant_order_events,
    merchant_order_get_for_buyer_by_id,
    merchant_order_get_for_merchant,
    merchant_order_list_for_merchant,
    merchant_order_shipments,
    merge_candidates_for_merchant,
    order_line_get_for_buyer_by_id,
)
from .parcels import parcel_groups, parcel_order_ids
from .pricing import LineRate, in_launch_policy, line_rate, shipping_fee
from .promotion_figures import PromotionFigures, promotion_figures
from .promotions import (
    PRICING_SKU_COLUMNS,
    CartPricing,
    OrderPricing,
    ShopPricing,
    cart_pricing,
    gift_name,
    missed_gift_message,
    order_pricing,
    sku_is_on_sale,
    sku_pricing_rows,
)

__all__ = [
    "AFTER_SALES_QUEUE_ORDER",
    "NO_FIGURES",
    "PRICING_SKU_COLUMNS",
    "SOURCES",
    "CartLine",
    "CartPricing",
    "CartShop",
    "CartView",
    "LineRate",
    "MarketingFigures",
    "OrderPricing",
    "PromotionFigures",
    "ShopPricing",
    "address_get",
    "address_list",
    "after_sales_get_for_buyer",
    "after_sales_get_for_buyer_by_id",
    "after_sales_get_for_merchant",
    "after_sales_list_for_merchant",
    "after_sales_photo_get_for_user",
    "buyer_activity",
    "buyer_activity_bounds",
    "buyer_order_detail",
    "buyer_order_get",
    "buyer_order_list",
    "cart_find",
    "cart_item_count",
    "cart_pricing",
    "cart_view",
    "cart_view_of",
    "checkout_attempt_order",
    "gift_name",
    "in_launch_policy",
    "line_rate",
    "merchant_order_events",
    "merchant_order_get_for_buyer",
    "merchant_order_get_for_buyer_by_id",
    "merchant_order_get_for_merchant",
    "merchant_order_list_for_merchant",
    "merchant_order_shipments",
    "merge_candidates_for_merchant",
    "missed_gift_message",
    "order_line_get_for_buyer",
    "order_line_get_for_buyer_by_id",
    "order_pricing",
    "parcel_groups",
    "parcel_order_ids",
    "payment_get_for_buyer",
    "payment_order_get",
    "promotion_figures",
    "promotion_marketing",
    "promotion_marketing_daily",
    "shipping_fee",
    "sku_is_on_sale",
    "sku_pricing_rows",
    "source_marketing",
    "source_marketing_daily",
]
