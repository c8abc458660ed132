"""Orders: the buyer's saved addresses, carts and their items, and merchants' shipping rates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.regions import Region

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
    # Kept by database triggers on orders_cartitem (migration 0013), in the statement that
    # inserts or deletes a line: the add-to-cart checks MAX_LINES against it on the cart row it
    # locks, in the one statement that also writes the line, instead of counting the lines
    # under a lock taken by an earlier statement.
    line_count = models.PositiveIntegerField(_("lines"), default=0, db_default=0, editable=False)

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
