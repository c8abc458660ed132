"""Orders: buyer orders, checkout attempts, merchant orders with their transition table,
order lines frozen for settlement, shipments and the order event log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.regions import Region
from marketplace.transitions import Transitions

from ..choices import (
    BuyerOrderStatus,
    OrderStatus,
    ShipmentStatus,
)
from ..errors import OrderInvalidTransition
from .carts import MAX_QUANTITY


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
    # The fee a merchant-funded free-shipping promotion waived (`shipping_fee` is then 0): what
    # the buyer saved on shipping, and which promotion gave it.
    # A database default too: rows written by raw SQL (benchmarks, bulk loads) need not name it.
    shipping_waived = models.DecimalField(
        _("shipping waived"), max_digits=14, decimal_places=2, default=0, db_default=0
    )
    shipping_promotion = models.ForeignKey(
        "promotions.Promotion",
        verbose_name=_("free-shipping promotion"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
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
    # What the logistics subsidy reads (domain.md "Incentive subsidies"), written when it
    # becomes known so the settlement run reads one row per order rather than its shipment
    # lines and order lines: the carrier code the order shipped with (`carrier_code`: the
    # merchant's text trimmed and upper-cased, as programmes list carriers; which carriers are
    # designated is the programme's parameter, so the code is kept, not a yes/no), set by the
    # ship transition; and whether a line (a gift's too) is of a fresh or cross-border
    # category, set at placement. Database defaults: rows written by raw SQL need not name them.
    shipped_carrier = models.CharField(_("shipped with carrier"), max_length=50, blank=True, default="", db_default="")
    has_special_category = models.BooleanField(_("fresh or cross-border goods"), default=False, db_default=False)

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

    @staticmethod
    def carrier_code(carrier: str) -> str:
        """The carrier as `shipped_carrier` keeps it and programmes compare it: trimmed, upper-case."""
        return (carrier or "").strip().upper()

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
    # A gift a promotion added: an ordinary line (stock reserved, shipped) whose gross is
    # discounted in full.
    is_gift = models.BooleanField(_("gift"), default=False, db_default=False)

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


class OrderLineDiscount(models.Model):
    """One source's part of one line's discount, frozen at placement and split by funder,
    so finance and the marketing view can answer "who paid for this discount".

    The source is exactly one of a promotion (coupons included), a flash sale (the line's
    units sold at its special price) or a group-buy campaign (the first step's discount):
    a flash or group-buy line takes no promotion, so its one row carries the line's whole
    discount. The parts of a line's rows add up to the line's `merchant_discount` and
    `platform_discount` (checkout writes both from the same pricing result).

    `later_merchant_part` and `later_platform_part` (group buys only) are what the buyer got
    after placement: the refund of the difference down to the step the group reached, split
    by the campaign's funding like the first step. That refund is counted in the line's
    `refunded` but is a discount, not goods given back (the marketing figures read it so)."""

    line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="discounts"
    )
    promotion = models.ForeignKey(
        "promotions.Promotion",
        verbose_name=_("promotion"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    flash_sale = models.ForeignKey(
        "promotions.FlashSale",
        verbose_name=_("flash sale"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    group_buy = models.ForeignKey(
        "promotions.GroupBuyCampaign",
        verbose_name=_("group buy"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    merchant_part = models.DecimalField(_("merchant-funded"), max_digits=14, decimal_places=2)
    platform_part = models.DecimalField(_("platform-funded"), max_digits=14, decimal_places=2)
    later_merchant_part = models.DecimalField(
        _("merchant-funded, refunded later"), max_digits=14, decimal_places=2, default=0, db_default=0
    )
    later_platform_part = models.DecimalField(
        _("platform-funded, refunded later"), max_digits=14, decimal_places=2, default=0, db_default=0
    )

    class Meta:
        verbose_name = _("line discount")
        verbose_name_plural = _("line discounts")
        ordering = ["line_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "promotion"], name="order_line_discount_unique"),
            models.UniqueConstraint(fields=["line", "flash_sale"], name="order_line_discount_unique_flash_sale"),
            models.UniqueConstraint(fields=["line", "group_buy"], name="order_line_discount_unique_group_buy"),
            models.CheckConstraint(
                condition=Q(merchant_part__gte=0, platform_part__gte=0), name="order_line_discount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(promotion__isnull=False, flash_sale__isnull=True, group_buy__isnull=True)
                | Q(promotion__isnull=True, flash_sale__isnull=False, group_buy__isnull=True)
                | Q(promotion__isnull=True, flash_sale__isnull=True, group_buy__isnull=False),
                name="order_line_discount_one_source",
            ),
            # Only a group buy gives a discount after placement, and never a negative one.
            models.CheckConstraint(
                condition=Q(later_merchant_part=0, later_platform_part=0)
                | Q(group_buy__isnull=False, later_merchant_part__gte=0, later_platform_part__gte=0),
                name="order_line_discount_later_parts",
            ),
        ]

    def __str__(self):
        return f"{self.line_id} / {self.promotion_id or self.flash_sale_id or self.group_buy_id}"


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
