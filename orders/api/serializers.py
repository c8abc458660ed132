"""Input and output shapes of the orders API. Rules live in orders.services.

Inputs are plain serializers that check shape only (types, lengths, required fields); the
views hand their validated data to one service each, which decides and refuses with a
stable code. Buyers see what they paid; merchants also see the frozen commission figures,
and only of their own merchant orders.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import (
    AfterSalesKind,
    AfterSalesStatus,
    BuyerOrderStatus,
    ComplaintCategory,
    ComplaintProgress,
    DisputeStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    ShipmentStatus,
)
from ..masking import BuyerContact
from ..models import Shipment
from ..selectors import missed_gift_message

MAX_ID = 2_147_483_647


def _money(**kwargs):
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


def _enum(choices, name: str):
    """A read-only choice field whose enum is one named schema component (no name clashes)."""

    @extend_schema_field({"type": "string", "enum": choices.values}, component_name=name)
    class EnumField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices.choices, **kwargs)

    return EnumField


OrderStatusField = _enum(OrderStatus, "OrderStatus")
BuyerOrderStatusField = _enum(BuyerOrderStatus, "BuyerOrderStatus")
ShipmentStatusField = _enum(ShipmentStatus, "ShipmentStatus")
AfterSalesStatusField = _enum(AfterSalesStatus, "AfterSalesStatus")
AfterSalesKindField = _enum(AfterSalesKind, "AfterSalesKind")
DisputeStatusField = _enum(DisputeStatus, "DisputeStatus")
PaymentStatusField = _enum(PaymentStatus, "PaymentStatus")
RefundStatusField = _enum(RefundStatus, "RefundStatus")
ComplaintCategoryField = _enum(ComplaintCategory, "ComplaintCategory")
ComplaintProgressField = _enum(ComplaintProgress, "ComplaintProgress")


class OutputSerializer(serializers.Serializer):
    """A read-only answer whose plain fields are copied per serializer, not rebuilt.

    DRF deep-copies every declared field for every serializer instance, a field's deep copy
    being a new one built from its arguments: a tenth of the CPU of an add-to-cart or a
    checkout answer (cart, shops, lines; order, merchant orders, lines, shipments). A plain
    field keeps nothing of its own but what `bind()` sets on it, so a shallow copy serves;
    a nested serializer is still deep-copied, as it binds its own fields."""

    def get_fields(self):
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


# --- Input --------------------------------------------------------------------------------------


class CartItemAddSerializer(serializers.Serializer):
    sku = IdField(help_text=_("Id of a SKU on sale."))
    quantity = serializers.IntegerField(default=1, help_text=_("Units to add (1 to 999); merged with the line."))


class CartItemUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(help_text=_("The line's new quantity (0 to 999); 0 removes the line."))


class CheckoutItemSerializer(serializers.Serializer):
    sku = IdField()
    quantity = serializers.IntegerField(help_text=_("1 to 999."))


class CheckoutSerializer(serializers.Serializer):
    address = IdField(help_text=_("Id of one of your saved addresses."))
    items = CheckoutItemSerializer(many=True, allow_empty=False, max_length=200)
    coupon = IdField(required=False, allow_null=True, help_text=_("Id of one of your coupons to use (optional)."))
    coupon_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        default="",
        help_text=_("Or the code of your coupon, or a public coupon code (claimed with the order)."),
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class AfterSalesItemSerializer(serializers.Serializer):
    order_line = IdField(help_text=_("Id of a line of this merchant order."))
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text=_("Refund asked for the line."))


class AfterSalesCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AfterSalesKind.choices)
    reason = serializers.CharField(allow_blank=True, max_length=2000)
    items = AfterSalesItemSerializer(many=True, allow_empty=False, max_length=200)
    shipping_amount = serializers.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))


class StatementSerializer(serializers.Serializer):
    statement = serializers.CharField(allow_blank=True, max_length=2000)


class AcceptSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000, help_text=_("The buyer sees it."))


class ReturnReceivedSerializer(serializers.Serializer):
    warehouse = IdField(help_text=_("Id of a warehouse open to you: the goods go back to stock there."))


class ReviewInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(help_text=_("1 to 5 stars."))
    text = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ReviewPhotosInputSerializer(ReviewInputSerializer):
    """The review as `multipart/form-data`, with its pictures: one `photos` part per file. Their
    type, size, pixels and number are checked by the service, as for the HTML form."""

    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text=_("Up to 5 PNG or JPEG photos, one part each."),
    )


class ShipSerializer(serializers.Serializer):
    carrier = serializers.CharField(allow_blank=True, max_length=Shipment._meta.get_field("carrier").max_length)
    tracking_number = serializers.CharField(
        allow_blank=True, max_length=Shipment._meta.get_field("tracking_number").max_length
    )


# --- Shared output ------------------------------------------------------------------------------


class ShopSerializer(OutputSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    slug = serializers.CharField(read_only=True, allow_null=True)


class CallbackAnswerSerializer(serializers.Serializer):
    outcome = serializers.CharField(
        read_only=True,
        help_text=_(
            "paid, already_paid, failed, ignored, duplicate, unknown_payment, amount_mismatch or order_<status>."
        ),
    )


# --- Cart ---------------------------------------------------------------------------------------


class CartLineSerializer(OutputSerializer):
    sku = serializers.IntegerField(source="sku.pk", read_only=True)
    product_title = serializers.CharField(source="sku.product.title", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    sku_label = serializers.CharField(source="sku.label", read_only=True)
    unit_price = _money()
    quantity = serializers.IntegerField(read_only=True)
    line_total = _money()
    available = serializers.IntegerField(read_only=True, help_text=_("Units available now."))
    on_sale = serializers.BooleanField(read_only=True)
    problem = serializers.CharField(
        read_only=True, help_text=_('"" when the line can be ordered; else unavailable, out_of_stock or short.')
    )


class CartShopSerializer(OutputSerializer):
    shop = ShopSerializer(source="merchant", read_only=True)
    lines = CartLineSerializer(many=True, read_only=True)
    subtotal = _money()
    shipping = _money()
    total = _money()


class CartSerializer(OutputSerializer):
    shops = CartShopSerializer(many=True, read_only=True)
    count = serializers.IntegerField(read_only=True)
    goods_total = _money()
    shipping_total = _money()
    total = _money()
    has_problems = serializers.BooleanField(read_only=True)


class CartPricingQuerySerializer(serializers.Serializer):
    coupon = IdField(required=False, help_text=_("Id of one of your coupons to preview (optional)."))
    coupon_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text=_("Or the code of your coupon, or a public coupon code (nothing is claimed)."),
    )


class CartAppliedPromotionSerializer(OutputSerializer):
    promotion = serializers.IntegerField(source="promotion_id", read_only=True)
    name = serializers.CharField(read_only=True)
    amount = _money()
    coupon = serializers.IntegerField(source="coupon_id", read_only=True, allow_null=True)


class CartCouponErrorSerializer(OutputSerializer):
    code = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)
    extra = serializers.DictField(read_only=True)


class CartPricingSerializer(OutputSerializer):
    goods_total = _money()
    discount_total = _money()
    shipping_total = _money()
    total = _money(help_text=_("To pay: goods − discounts + shipping."))
    applied = CartAppliedPromotionSerializer(many=True, read_only=True)
    coupon_discount = _money(help_text=_("What the chosen coupon takes off (0.00 when none or it gives nothing)."))
    flash_discount = _money(
        help_text=_(
            "What your flash-sale holds take off (in the discount total): the held units at the special price, "
            "0.00 without a hold."
        )
    )
    coupon_error = CartCouponErrorSerializer(
        read_only=True, allow_null=True, help_text=_("Why the chosen coupon gives nothing, else null.")
    )


# --- Buyer orders -------------------------------------------------------------------------------


class BuyerOrderLineSerializer(OutputSerializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.IntegerField(source="sku_id", read_only=True)
    product_title = serializers.CharField(read_only=True)
    sku_code = serializers.CharField(read_only=True)
    sku_label = serializers.CharField(read_only=True)
    unit_price = _money()
    quantity = serializers.IntegerField(read_only=True)
    gross = _money()
    discount = serializers.SerializerMethodField()
    paid = _money()
    shipping_share = _money()
    refunded = _money()

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_discount(self, line) -> str:
        return f"{line.merchant_discount + line.platform_discount:.2f}"


class ShipmentLineSerializer(OutputSerializer):
    order_line = serializers.IntegerField(source="order_line_id", read_only=True)
    quantity = serializers.IntegerField(read_only=True)


class BuyerShipmentSerializer(OutputSerializer):
    id = serializers.IntegerField(read_only=True)
    status = ShipmentStatusField(read_only=True)
    carrier = serializers.CharField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)


class MissedGiftSerializer(serializers.Serializer):
    gift = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)


class BuyerMerchantOrderSerializer(OutputSerializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    shop = ShopSerializer(source="merchant", read_only=True)
    status = OrderStatusField(read_only=True)
    goods_total = _money()
    discount_total = _money()
    shipping_fee = _money()
    paid_total = _money()
    placed_at = serializers.DateTimeField(read_only=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    completed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    after_sales_open = serializers.BooleanField(read_only=True)
    lines = BuyerOrderLineSerializer(many=True, read_only=True)


class BuyerComplaintSerializer(OutputSerializer):
    """A complaint as the buyer who made it sees it: never who handles it."""

    id = serializers.IntegerField(read_only=True)
    category = ComplaintCategoryField(read_only=True)
    status = ComplaintProgressField(
        source="progress",
        read_only=True,
        help_text=_("open: not yet taken up; in_progress: the platform is handling it; resolved: closed."),
    )
    text = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    response = serializers.CharField(read_only=True, help_text=_("The platform's response; empty until given."))
    responded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)


class BuyerMerchantOrderDetailSerializer(BuyerMerchantOrderSerializer):
    shipments = BuyerShipmentSerializer(many=True, read_only=True)
    complaints = BuyerComplaintSerializer(many=True, read_only=True, help_text=_("Your complaints, oldest first."))
    gifts_out_of_stock = serializers.SerializerMethodField(
        help_text=_(
            "The gifts a promotion would have added but that were out of stock: the order was placed without them."
        )
    )

    @extend_schema_field(MissedGiftSerializer(many=True))
    def get_gifts_out_of_stock(self, part) -> list[dict]:
        return [{"gift": name, "message": missed_gift_message(name)} for name in part.missed_gifts]


class BuyerOrderSerializer(OutputSerializer):
    number = serializers.CharField(read_only=True)
    status = BuyerOrderStatusField(read_only=True)
    recipient = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    region = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    goods_total = _money()
    discount_total = _money()
    shipping_total = _money()
    payable_total = _money()
    placed_at = serializers.DateTimeField(read_only=True)
    pay_by = serializers.DateTimeField(read_only=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    merchant_orders = BuyerMerchantOrderSerializer(many=True, read_only=True)


class BuyerOrderDetailSerializer(BuyerOrderSerializer):
    merchant_orders = BuyerMerchantOrderDetailSerializer(many=True, read_only=True)


class PaymentSerializer(serializers.Serializer):
    reference = serializers.CharField(read_only=True)
    gateway = serializers.CharField(read_only=True)
    amount = _money()
    status = PaymentStatusField(read_only=True)
    payment_url = serializers.CharField(read_only=True, help_text=_("Where the buyer goes to pay."))


# --- After-sales and reviews --------------------------------------------------------------------


class AfterSalesLineSerializer(serializers.Serializer):
    order_line = serializers.IntegerField(source="order_line_id", read_only=True)
    product_title = serializers.CharField(source="order_line.product_title", read_only=True)
    sku_code = serializers.CharField(source="order_line.sku_code", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    amount = _money()


class RefundSerializer(serializers.Serializer):
    reference = serializers.CharField(read_only=True)
    amount = _money()
    shipping_amount = _money()
    completed_at = serializers.DateTimeField(read_only=True)
    status = RefundStatusField(read_only=True, help_text=_("Whether the gateway has returned the money yet."))
    succeeded_at = serializers.DateTimeField(read_only=True, allow_null=True)


class DisputeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    status = DisputeStatusField(read_only=True)
    buyer_statement = serializers.CharField(read_only=True)
    decision_amount = _money(allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    opened_at = serializers.DateTimeField(read_only=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OrderRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)


class AfterSalesSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    merchant_order = OrderRefSerializer(read_only=True)
    kind = AfterSalesKindField(read_only=True)
    status = AfterSalesStatusField(read_only=True)
    reason = serializers.CharField(read_only=True)
    lines = AfterSalesLineSerializer(many=True, read_only=True)
    shipping_amount = _money()
    total = _money(help_text=_("Lines and shipping asked."))
    respond_by = serializers.DateTimeField(read_only=True, help_text=_("The merchant answers by then."))
    merchant_note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    refund = RefundSerializer(read_only=True, allow_null=True)
    dispute = serializers.SerializerMethodField()

    @extend_schema_field(DisputeSerializer(allow_null=True))
    def get_dispute(self, request_):
        dispute = getattr(request_, "dispute", None)  # the reverse one-to-one raises when absent
        return DisputeSerializer(dispute).data if dispute is not None else None


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    order_line = serializers.IntegerField(source="order_line_id", read_only=True)
    rating = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    photos = serializers.SerializerMethodField(
        help_text=_("Absolute URLs of its pictures (public while the review is shown).")
    )
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_photos(self, review) -> list[str]:
        request = self.context.get("request")
        urls = [reverse("orders:review_photo", args=[photo.pk]) for photo in review.photos.all()]
        return [request.build_absolute_uri(url) for url in urls] if request is not None else urls


# --- Merchant orders ----------------------------------------------------------------------------


class MerchantOrderLineSerializer(serializers.Serializer):
    """A line as settlement sees it: every figure frozen at placement."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.IntegerField(source="sku_id", read_only=True)
    product_title = serializers.CharField(read_only=True)
    sku_code = serializers.CharField(read_only=True)
    sku_label = serializers.CharField(read_only=True)
    unit_price = _money()
    quantity = serializers.IntegerField(read_only=True)
    gross = _money()
    merchant_discount = _money()
    platform_discount = _money()
    paid = _money()
    base = _money(help_text=_("Commission base: gross − merchant-funded discount."))
    category_rate = serializers.DecimalField(max_digits=7, decimal_places=6, read_only=True)
    launch_policy = serializers.BooleanField(read_only=True)
    grade_a = serializers.BooleanField(read_only=True)
    commission_rate = serializers.DecimalField(max_digits=9, decimal_places=8, read_only=True)
    commission = _money()
    shipping_share = _money()
    refunded = _money()


class WarehouseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class MerchantShipmentLineSerializer(ShipmentLineSerializer):
    order = serializers.CharField(source="order_line.merchant_order.number", read_only=True)
    sku_code = serializers.CharField(source="order_line.sku_code", read_only=True)


class MerchantShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    warehouse = WarehouseRefSerializer(read_only=True)
    status = ShipmentStatusField(read_only=True)
    carrier = serializers.CharField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    order_numbers = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=_("The orders travelling in this parcel.")
    )
    lines = MerchantShipmentLineSerializer(many=True, read_only=True)


class OrderEventSerializer(serializers.Serializer):
    action = serializers.CharField(read_only=True)
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    by = serializers.SerializerMethodField(help_text=_("buyer, merchant, platform or system."))
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_by(self, event) -> str:
        if event.actor_id is None:
            return "system"
        if event.actor_id == self.context["buyer_id"]:
            return "buyer"
        return "merchant" if event.actor_id in self.context["team_ids"] else "platform"


class MerchantOrderListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    buyer_order_number = serializers.CharField(source="buyer_order.number", read_only=True)
    status = OrderStatusField(read_only=True)
    recipient = serializers.SerializerMethodField(
        help_text=_("Shown whole while the order is to ship or in transit, masked otherwise (张**).")
    )
    region = serializers.CharField(source="buyer_order.region", read_only=True)
    goods_total = _money()
    discount_total = _money()
    shipping_fee = _money()
    paid_total = _money()
    placed_at = serializers.DateTimeField(read_only=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    completed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_frozen = serializers.BooleanField(read_only=True, help_text=_("A dispute is open: the money is not settled."))
    after_sales_open = serializers.BooleanField(read_only=True)

    # The buyer's contact as shipping needs it (orders.masking): whole only while to ship or
    # in transit.
    @extend_schema_field(serializers.CharField())
    def get_recipient(self, order) -> str:
        return BuyerContact.for_merchant(order).recipient


class MerchantOrderSerializer(MerchantOrderListSerializer):
    """One merchant order: its own lines only (never the other shops' of the buyer order).
    The recipient, phone and address are masked before payment and after delivery."""

    phone = serializers.SerializerMethodField(help_text=_("138****1234 unless the order is to ship or in transit."))
    address = serializers.SerializerMethodField(
        help_text=_("Down to the district unless the order is to ship or in transit.")
    )
    lines = MerchantOrderLineSerializer(many=True, read_only=True)
    shipments = MerchantShipmentSerializer(source="parcels", many=True, read_only=True)
    events = OrderEventSerializer(source="timeline", many=True, read_only=True)

    @extend_schema_field(serializers.CharField())
    def get_phone(self, order) -> str:
        return BuyerContact.for_merchant(order).phone

    @extend_schema_field(serializers.CharField())
    def get_address(self, order) -> str:
        return BuyerContact.for_merchant(order).address


class SandboxCallbackSerializer(serializers.Serializer):
    """The sandbox gateway's callback body (documentation only: the raw bytes are verified)."""

    id = serializers.CharField(max_length=100, help_text=_("The gateway's event id; an event is applied once."))
    type = serializers.ChoiceField(choices=["payment.succeeded", "payment.failed"])
    payment = serializers.CharField(
        max_length=64, help_text=_("The payment reference given by `orders/{number}/pay/`.")
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
