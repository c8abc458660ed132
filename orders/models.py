"""Orders: carts, buyer orders split into merchant orders, lines frozen for settlement,
shipments, payments and their gateway events.

A `BuyerOrder` is what the buyer placed and pays once; it holds one `MerchantOrder` per shop.
Merchant orders follow `TRANSITIONS` (buyer orders, refunds, after-sales requests and
disputes their own tables, each right after its model); every change goes through the
kernel's `transition` helper in `orders.services`, and a merchant order's is recorded as an
`OrderEvent`. Order lines freeze, at placement, everything settlement needs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.regions import Region
from marketplace.transitions import Transitions
from merchants.models import private_storage
from orders.choices import (
    AfterSalesKind,
    AfterSalesStatus,
    BuyerOrderStatus,
    ComplaintCategory,
    DisputeStatus,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    ShipmentStatus,
)

from .errors import OrderInvalidTransition

#: The most units of one SKU a cart line (and an order line) may hold, and the most lines a
#: cart (and an order) may have: with catalog's MAX_SKU_PRICE an order's goods stay below
#: 10^11, inside every numeric(14, 2) total.
MAX_QUANTITY = 999
MAX_LINES = 100


class Address(models.Model):
    """A buyer's saved delivery address."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="addresses"
    )
    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    province = models.CharField(_("province"), max_length=50)
    city = models.CharField(_("city"), max_length=50)
    district = models.CharField(_("district"), max_length=50, blank=True)
    line = models.CharField(_("street address"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-id"]

    def __str__(self):
        return f"{self.recipient} {self.province}{self.city}{self.district}{self.line}"


class Cart(models.Model):
    """A signed-in buyer's cart, or an anonymous one keyed by session (merged on login)."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cart",
    )
    session_key = models.CharField(_("session"), max_length=64, null=True, blank=True, unique=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.CheckConstraint(
                condition=Q(buyer__isnull=False) | Q(session_key__isnull=False), name="cart_has_owner"
            )
        ]

    def __str__(self):
        return f"cart {self.pk}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, verbose_name=_("cart"), on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("catalog.SKU", verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_item_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_item_quantity_positive"),
            models.CheckConstraint(condition=Q(quantity__lte=MAX_QUANTITY), name="cart_item_quantity_at_most_max"),
        ]

    def __str__(self):
        return f"{self.sku_id} × {self.quantity}"


class ShippingRate(models.Model):
    """A merchant's shipping fee: a flat fee per merchant order, free above a threshold."""

    merchant = models.OneToOneField(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="shipping_rate"
    )
    flat_fee = models.DecimalField(_("flat fee"), max_digits=14, decimal_places=2)
    free_over = models.DecimalField(
        _("free shipping from"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Goods total from which shipping is free; empty for never."),
    )

    class Meta:
        verbose_name = _("shipping rate")
        verbose_name_plural = _("shipping rates")
        constraints = [models.CheckConstraint(condition=Q(flat_fee__gte=0), name="shipping_rate_fee_not_negative")]

    def __str__(self):
        return f"{self.merchant_id}: {self.flat_fee}"


class BuyerOrder(models.Model):
    """What the buyer placed and pays at once; split into one merchant order per shop."""

    number = models.CharField(_("order number"), max_length=32, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=BuyerOrderStatus.choices, default=BuyerOrderStatus.PENDING_PAYMENT
    )
    # Address snapshot: later edits of the saved address do not move a placed order.
    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    address = models.CharField(_("address"), max_length=400)
    goods_total = models.DecimalField(_("goods"), max_digits=14, decimal_places=2)
    discount_total = models.DecimalField(_("discounts"), max_digits=14, decimal_places=2, default=0)
    shipping_total = models.DecimalField(_("shipping"), max_digits=14, decimal_places=2)
    payable_total = models.DecimalField(_("to pay"), max_digits=14, decimal_places=2)
    placed_at = models.DateTimeField(_("placed"), db_index=True)
    pay_by = models.DateTimeField(_("pay by"), db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("buyer order")
        verbose_name_plural = _("buyer orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    payable_total=models.F("goods_total") - models.F("discount_total") + models.F("shipping_total")
                ),
                name="buyer_order_payable_adds_up",
            ),
            models.CheckConstraint(condition=Q(payable_total__gte=0), name="buyer_order_payable_not_negative"),
        ]

    def __str__(self):
        return self.number


BUYER_ORDER_TRANSITIONS = Transitions(
    {
        "pay": ({BuyerOrderStatus.PENDING_PAYMENT}, BuyerOrderStatus.PAID),
        "cancel": ({BuyerOrderStatus.PENDING_PAYMENT}, BuyerOrderStatus.CANCELLED),
    },
    error=OrderInvalidTransition,
    refusals={
        "pay": _("This order is not waiting for payment."),
        "cancel": _("Only an unpaid order can be cancelled this way."),
    },
    extra_action=False,
)


class CheckoutAttempt(models.Model):
    """One `Idempotency-Key` of a buyer: the same key and body give the first result."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=100)
    request_hash = models.CharField(_("request hash"), max_length=64)
    buyer_order = models.ForeignKey(
        BuyerOrder, verbose_name=_("order"), null=True, blank=True, on_delete=models.CASCADE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("checkout attempt")
        verbose_name_plural = _("checkout attempts")
        constraints = [models.UniqueConstraint(fields=["buyer", "key"], name="checkout_attempt_unique_key")]

    def __str__(self):
        return self.key


OS = OrderStatus


class MerchantOrder(models.Model):
    """The part of a buyer order that one merchant fulfils and is settled for."""

    buyer_order = models.ForeignKey(
        BuyerOrder, verbose_name=_("buyer order"), on_delete=models.PROTECT, related_name="merchant_orders"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="orders"
    )
    number = models.CharField(_("order number"), max_length=40, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OS.PENDING_PAYMENT, db_index=True
    )
    goods_total = models.DecimalField(_("goods"), max_digits=14, decimal_places=2)
    discount_total = models.DecimalField(_("discounts"), max_digits=14, decimal_places=2, default=0)
    shipping_fee = models.DecimalField(_("shipping"), max_digits=14, decimal_places=2)
    paid_total = models.DecimalField(_("paid by the buyer"), max_digits=14, decimal_places=2)
    # Sums of the lines' frozen figures, written once at placement with the lines (which never
    # change afterwards), so settlement reads one row per order instead of every line.
    platform_discount_total = models.DecimalField(
        _("platform-funded discounts"), max_digits=14, decimal_places=2, default=0
    )
    base_total = models.DecimalField(_("commission base"), max_digits=14, decimal_places=2, default=0)
    commission_total = models.DecimalField(_("commission"), max_digits=14, decimal_places=2, default=0)
    placed_at = models.DateTimeField(_("placed"), db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Settlement reads these two flags (domain.md): open after-sales pause auto-completion;
    # an open dispute freezes the money.
    after_sales_open = models.BooleanField(_("after-sales open"), default=False)
    is_frozen = models.BooleanField(_("money frozen (dispute)"), default=False)

    class Meta:
        verbose_name = _("merchant order")
        verbose_name_plural = _("merchant orders")
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "status"], name="morder_merchant_status_idx"),
            # Settlement reads a batch of merchants' orders completed in a time range.
            models.Index(
                fields=["merchant", "completed_at"], condition=Q(status="completed"), name="morder_settleable_idx"
            ),
            # Settlement lists frozen orders per merchant; few are frozen, so a partial index.
            models.Index(fields=["merchant"], condition=Q(is_frozen=True), name="morder_frozen_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(paid_total=models.F("goods_total") - models.F("discount_total") + models.F("shipping_fee")),
                name="merchant_order_paid_adds_up",
            )
        ]

    def __str__(self):
        return self.number

    # What the buyer may do now, asked once here by the services, selectors and templates.
    @property
    def can_cancel(self) -> bool:
        return TRANSITIONS.can("cancel", self)

    @property
    def can_confirm(self) -> bool:
        return TRANSITIONS.can("complete", self)

    @property
    def can_review(self) -> bool:
        """Its lines may be reviewed (once each)."""
        return self.status == OS.COMPLETED

    @property
    def can_complain(self) -> bool:
        return self.paid_at is not None


# action → (states it may start from, state it leads to): the one answer to "may the
# merchant order be moved so?", for the services and the buyer's order page alike.
TRANSITIONS = Transitions(
    {
        "pay": ({OS.PENDING_PAYMENT}, OS.PAID),
        "ship": ({OS.PAID}, OS.SHIPPED),
        "deliver": ({OS.SHIPPED}, OS.DELIVERED),
        "complete": ({OS.SHIPPED, OS.DELIVERED}, OS.COMPLETED),
        "cancel": ({OS.PENDING_PAYMENT, OS.PAID}, OS.CANCELLED),
    },
    error=OrderInvalidTransition,
    refusal=_("This cannot be done while the order is “%(status)s”."),
)
#: Merchant order states in which the buyer may ask for an after-sales request.
REQUESTABLE_STATES = frozenset({OS.SHIPPED, OS.DELIVERED, OS.COMPLETED})


class OrderLine(models.Model):
    """One SKU of a merchant order, with every figure settlement needs frozen at placement.

    gross = unit price × qty; paid = gross − merchant discount − platform discount;
    base = gross − merchant discount (the commission base); commission = base × rate,
    rounded half-up. The rate is the category's (or the contract's revenue share for joint
    operation) × 0.5 in the first three months live × 0.9 for credit grade A, not rounded.
    """

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="lines"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="+"
    )
    sku = models.ForeignKey("catalog.SKU", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        "catalog.Category", verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    product_title = models.CharField(_("product"), max_length=200)
    sku_code = models.CharField(_("SKU code"), max_length=64)
    sku_label = models.CharField(_("variant"), max_length=200, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    gross = models.DecimalField(_("gross"), max_digits=14, decimal_places=2)
    merchant_discount = models.DecimalField(_("merchant-funded discount"), max_digits=14, decimal_places=2, default=0)
    platform_discount = models.DecimalField(_("platform-funded discount"), max_digits=14, decimal_places=2, default=0)
    paid = models.DecimalField(_("paid"), max_digits=14, decimal_places=2)
    base = models.DecimalField(_("commission base"), max_digits=14, decimal_places=2)
    category_rate = models.DecimalField(_("category or revenue-share rate"), max_digits=7, decimal_places=6)
    launch_policy = models.BooleanField(_("launch policy (× 0.5)"), default=False)
    grade_a = models.BooleanField(_("credit grade A (× 0.9)"), default=False)
    commission_rate = models.DecimalField(_("commission rate"), max_digits=9, decimal_places=8)
    commission = models.DecimalField(_("commission"), max_digits=14, decimal_places=2)
    shipping_share = models.DecimalField(_("share of shipping"), max_digits=14, decimal_places=2, default=0)
    refunded = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=0)
    # Units the buyer sent back and the merchant put back in stock. Only the restock of a
    # return raises it (with F()); the constraint below makes a second restock of the same
    # goods fail in the database even if a service forgot to check.
    returned_quantity = models.PositiveIntegerField(_("returned quantity"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["merchant_order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(quantity__lte=MAX_QUANTITY), name="order_line_quantity_at_most_max"),
            models.CheckConstraint(
                condition=Q(gross=models.F("unit_price") * models.F("quantity")), name="order_line_gross"
            ),
            models.CheckConstraint(
                condition=Q(paid=models.F("gross") - models.F("merchant_discount") - models.F("platform_discount")),
                name="order_line_paid",
            ),
            models.CheckConstraint(
                condition=Q(base=models.F("gross") - models.F("merchant_discount")), name="order_line_base"
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=models.F("paid")), name="order_line_refund_within_paid"
            ),
            # Lines ship whole (a parcel ships all its lines), so what shipped is `quantity`.
            models.CheckConstraint(
                condition=Q(returned_quantity__gte=0, returned_quantity__lte=models.F("quantity")),
                name="order_line_returned_within_shipped",
            ),
        ]

    def __str__(self):
        return f"{self.sku_code} × {self.quantity}"


class Shipment(models.Model):
    """A parcel from one warehouse. Lines of several merchant orders of the same buyer,
    merchant, warehouse and address may be merged into one shipment."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="shipments"
    )
    warehouse = models.ForeignKey(
        "catalog.Warehouse", verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="shipments"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("address"), max_length=400)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING
    )
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"shipment {self.pk}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="shipment_line_quantity_positive")]

    def __str__(self):
        return f"{self.order_line_id} × {self.quantity}"


class OrderEvent(models.Model):
    """A recorded change of a merchant order: from, to, who, why."""

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.action} {self.from_status}→{self.to_status}"


class Payment(models.Model):
    """One payment of a buyer order through a gateway."""

    buyer_order = models.ForeignKey(
        BuyerOrder, verbose_name=_("buyer order"), on_delete=models.PROTECT, related_name="payments"
    )
    gateway = models.CharField(_("gateway"), max_length=20)
    reference = models.CharField(_("gateway reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A buyer order is paid at most once.
            models.UniqueConstraint(
                fields=["buyer_order"], condition=Q(status="succeeded"), name="payment_one_success_per_order"
            )
        ]

    def __str__(self):
        return self.reference


class GatewayEvent(models.Model):
    """A callback received from a gateway, stored once per event id (duplicates ignored)."""

    gateway = models.CharField(_("gateway"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=100)
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_unique")]

    def __str__(self):
        return f"{self.gateway}:{self.event_id}"


class Refund(models.Model):
    """Money owed back to the buyer, returned through the gateway after the decision commits.

    The refund is decided and recorded (`completed_at`, its lines' reversal, the order lines'
    `refunded`) under the order's lock; the gateway is called afterwards by
    `refund_execute_task` with `reference` as the idempotency key, so a retried or
    duplicated call never returns the money twice. Status: pending → succeeded, or pending →
    failed (a refusal of the gateway, too many transient errors) → pending again when staff
    retry it; a late answer of an earlier attempt may still turn a failed one succeeded. Settlement counts a refund from `completed_at`, whatever its status: the
    merchant owes it from the decision on; the status only says whether the gateway has
    returned the money yet.

    A payment captured after its order was cancelled is refunded whole by a refund without a
    merchant order (and without lines): no merchant sold anything, settlement never sees it.
    """

    merchant_order = models.ForeignKey(
        MerchantOrder,
        verbose_name=_("merchant order"),
        on_delete=models.PROTECT,
        related_name="refunds",
        null=True,
        blank=True,
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
        null=True,
        blank=True,
        help_text=_("The payment the money goes back to; empty when the order was paid outside the gateway."),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    shipping_amount = models.DecimalField(_("of which shipping"), max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(_("reason"), max_length=200)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    completed_at = models.DateTimeField(
        _("completed"),
        db_index=True,
        help_text=_("When the refund was decided; settlement counts it from here."),
    )
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    attempts = models.PositiveIntegerField(_("gateway attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=100, blank=True)
    succeeded_at = models.DateTimeField(_("returned to the buyer"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-completed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(merchant_order__isnull=False) | Q(payment__isnull=False),
                name="refund_of_an_order_or_a_payment",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(succeeded_at__isnull=False),
                name="refund_succeeded_has_time",
            ),
        ]
        indexes = [
            # The sweep looks for pending refunds whose next attempt is overdue.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="refund_pending_due_idx"),
        ]

    def __str__(self):
        return self.reference


# The gateway's answer moves a pending refund (a late success may still turn a failed one
# succeeded); staff send a failed one again.
REFUND_TRANSITIONS = Transitions(
    {
        "succeed": ({RefundStatus.PENDING, RefundStatus.FAILED}, RefundStatus.SUCCEEDED),
        "fail": ({RefundStatus.PENDING}, RefundStatus.FAILED),
        "retry": ({RefundStatus.FAILED}, RefundStatus.PENDING),
    },
    error=OrderInvalidTransition,
    refusals={"retry": _("Only a failed refund can be sent again; this one is “%(status)s”.")},
    extra_action=False,
)


class RefundLine(models.Model):
    """The part of a refund on one line, with its proportional reversal (domain.md):
    share s = R / paid; refunded base, platform discount taken back and commission returned
    are each base, platform discount and commission × s, rounded half-up."""

    refund = models.ForeignKey(Refund, verbose_name=_("refund"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="refund_lines"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField(_("returned quantity"), default=0)
    refunded_base = models.DecimalField(_("refunded base"), max_digits=14, decimal_places=2)
    platform_discount_back = models.DecimalField(_("platform discount taken back"), max_digits=14, decimal_places=2)
    commission_returned = models.DecimalField(_("commission returned"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_line_amount_positive")]

    def __str__(self):
        return f"{self.order_line_id}: {self.amount}"


class AfterSalesRequest(models.Model):
    """A buyer's request for a refund (or a return and refund) on lines of a merchant order."""

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="after_sales"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AfterSalesKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=AfterSalesStatus.choices, default=AfterSalesStatus.OPEN
    )
    reason = models.TextField(_("reason"))
    shipping_amount = models.DecimalField(_("shipping refund requested"), max_digits=14, decimal_places=2, default=0)
    respond_by = models.DateTimeField(_("merchant must answer by"))
    merchant_note = models.TextField(_("merchant's answer"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    refund = models.OneToOneField(
        Refund, verbose_name=_("refund"), null=True, blank=True, on_delete=models.PROTECT, related_name="after_sales"
    )

    class Meta:
        verbose_name = _("after-sales request")
        verbose_name_plural = _("after-sales requests")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"AS{self.pk}"

    @property
    def total(self):
        return sum((line.amount for line in self.lines.all()), 0) + self.shipping_amount

    # Who may do what now, asked once here by the services' table, the pages and the portal.
    @property
    def can_answer(self) -> bool:
        """The merchant may accept or reject it."""
        return AFTER_SALES_TRANSITIONS.can("reject", self)

    @property
    def can_receive_return(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("return_received", self)

    @property
    def can_escalate(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("escalate", self)

    @property
    def can_withdraw(self) -> bool:
        return AFTER_SALES_TRANSITIONS.can("withdraw", self)


# Accepting a refund pays it at once; accepting a return waits for the goods, whose receipt
# pays it; a rejected request may be escalated to a dispute, whose decision refunds or closes it.
AFTER_SALES_TRANSITIONS = Transitions(
    {
        "accept_return": ({AfterSalesStatus.OPEN}, AfterSalesStatus.AWAITING_RETURN),
        "accept_refund": ({AfterSalesStatus.OPEN}, AfterSalesStatus.REFUNDED),
        "return_received": ({AfterSalesStatus.AWAITING_RETURN}, AfterSalesStatus.REFUNDED),
        "reject": ({AfterSalesStatus.OPEN}, AfterSalesStatus.REJECTED),
        "escalate": ({AfterSalesStatus.REJECTED}, AfterSalesStatus.ESCALATED),
        "resolve_refund": ({AfterSalesStatus.ESCALATED}, AfterSalesStatus.REFUNDED),
        "resolve_close": ({AfterSalesStatus.ESCALATED}, AfterSalesStatus.CLOSED),
        "withdraw": ({AfterSalesStatus.OPEN, AfterSalesStatus.REJECTED}, AfterSalesStatus.CLOSED),
    },
    error=OrderInvalidTransition,
    refusal=_("This cannot be done while the request is “%(status)s”."),
    extra_action=False,
)


class AfterSalesLine(models.Model):
    request = models.ForeignKey(
        AfterSalesRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("after-sales line")
        verbose_name_plural = _("after-sales lines")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="after_sales_line_amount_positive")]

    def __str__(self):
        return f"{self.order_line_id}: {self.amount}"


class Dispute(models.Model):
    """An escalated after-sales request, decided by platform operations. While open, the
    merchant order's money is frozen (settlement does not pay it)."""

    request = models.OneToOneField(
        AfterSalesRequest, verbose_name=_("after-sales request"), on_delete=models.PROTECT, related_name="dispute"
    )
    status = models.CharField(_("status"), max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    buyer_statement = models.TextField(_("buyer's statement"))
    decision_amount = models.DecimalField(_("refund decided"), max_digits=14, decimal_places=2, null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    arbiter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["opened_at", "id"]

    def __str__(self):
        return f"D{self.pk}"


DISPUTE_TRANSITIONS = Transitions(
    {"resolve": ({DisputeStatus.OPEN}, DisputeStatus.RESOLVED)},
    error=OrderInvalidTransition,
    refusal=_("This dispute is already decided."),
    extra_action=False,
)


class Review(models.Model):
    """A buyer's rating (1–5) of a completed order line; one per line."""

    order_line = models.OneToOneField(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="review"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="reviews"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("review"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5")]

    def __str__(self):
        return f"{self.rating}★ {self.order_line_id}"


class Complaint(models.Model):
    """A buyer's complaint about a merchant order; feeds the credit rating."""

    merchant_order = models.ForeignKey(
        MerchantOrder, verbose_name=_("merchant order"), on_delete=models.PROTECT, related_name="complaints"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="complaints"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(_("category"), max_length=30, choices=ComplaintCategory.choices)
    text = models.TextField(_("complaint"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_category_display()} {self.merchant_order_id}"


def _photo_path(instance, filename):
    return f"after-sales/{instance.request_id}/{instance.sha256}.jpg"


class AfterSalesPhoto(models.Model):
    """A photo the buyer attached to an after-sales request (evidence: private file, shown
    only to the buyer, the merchant's members whose role covers orders and staff allowed
    `orders.after_sales_photo_view`; see selectors.after_sales_photo_get_for_user)."""

    request = models.ForeignKey(
        AfterSalesRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to=_photo_path, storage=private_storage, max_length=255)
    sha256 = models.CharField(_("content hash"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("after-sales photo")
        verbose_name_plural = _("after-sales photos")
        ordering = ["request_id", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "sha256"], name="after_sales_photo_unique")]

    def __str__(self):
        return f"{self.request_id}/{self.pk}"
