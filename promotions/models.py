"""Models of the promotions app; later issues fill this module."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from marketplace.transitions import Transitions

from .choices import FlashFunding, FlashReservationStatus

# --- Flash sales (秒杀) ---------------------------------------------------------------------------


class FlashSale(models.Model):
    """A fixed quantity of one SKU at a special price within a time window, at most
    `per_buyer_limit` units per buyer.

    The database is the source of truth: `sold_units` (units in orders not cancelled) and
    `reserved_units` (units held by pending reservations) are counters changed with F()
    under the row's lock, and a constraint keeps `sold_units + reserved_units <= quantity`,
    so the sale can never sell more than its quantity whatever Redis says. Redis only answers
    the burst of admissions fast (`promotions.flash_redis`); it is rebuilt from these counters.
    The stock is not reserved by the sale: the normal checkout reserves it.
    """

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="flash_sales"
    )
    sku = models.ForeignKey("catalog.SKU", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="flash_sales")
    special_price = models.DecimalField(
        _("special price"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    per_buyer_limit = models.PositiveSmallIntegerField(
        _("limit per buyer"), default=1, validators=[MinValueValidator(1)]
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    funding = models.CharField(
        _("funded by"), max_length=10, choices=FlashFunding.choices, default=FlashFunding.MERCHANT
    )
    # The platform's part of the discount (0 merchant-funded, 1 platform-funded).
    platform_share = models.DecimalField(
        _("platform share"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    is_paused = models.BooleanField(_("paused"), default=False)
    sold_units = models.PositiveIntegerField(_("sold"), default=0)
    reserved_units = models.PositiveIntegerField(_("reserved"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("flash sale")
        verbose_name_plural = _("flash sales")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="flash_sale_window")]
        constraints = [
            models.CheckConstraint(condition=Q(special_price__gt=0), name="flash_sale_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="flash_sale_quantity_positive"),
            models.CheckConstraint(condition=Q(per_buyer_limit__gte=1), name="flash_sale_limit_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="flash_sale_window_order",
                violation_error_message=_("A flash sale must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(sold_units__gte=0, reserved_units__gte=0)
                & Q(sold_units__lte=F("quantity") - F("reserved_units")),
                name="flash_sale_never_oversold",
            ),
            models.CheckConstraint(
                condition=(Q(funding=FlashFunding.MERCHANT) & Q(platform_share=0))
                | (Q(funding=FlashFunding.PLATFORM) & Q(platform_share=1))
                | (Q(funding=FlashFunding.SPLIT) & Q(platform_share__gt=0) & Q(platform_share__lt=1)),
                name="flash_sale_funding_share",
            ),
        ]

    def __str__(self):
        return f"{self.sku} @ {self.special_price}"

    @property
    def remaining_units(self) -> int:
        return self.quantity - self.sold_units - self.reserved_units


class FlashReservation(models.Model):
    """Units a buyer was admitted to buy at the special price, held until `expires_at`.

    `pending` until the buyer's checkout consumes it (`order_number`: the merchant order it
    went into) or the expiry job returns its units to the pool (`expired`); a consumed
    reservation is `returned` once, when its order is cancelled. `redis_gen` is the
    generation of the Redis state that admitted it: units are given back to Redis only while
    that state is still the current one (a rebuilt state already counted them from here).
    """

    sale = models.ForeignKey(
        FlashSale, verbose_name=_("flash sale"), on_delete=models.PROTECT, related_name="reservations"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="flash_reservations"
    )
    units = models.PositiveSmallIntegerField(_("units"))
    status = models.CharField(
        _("status"), max_length=10, choices=FlashReservationStatus.choices, default=FlashReservationStatus.PENDING
    )
    expires_at = models.DateTimeField(_("held until"))
    order_number = models.CharField(_("order number"), max_length=40, blank=True)
    redis_gen = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("flash sale reservation")
        verbose_name_plural = _("flash sale reservations")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["buyer", "status"], name="flash_res_buyer_status"),
            models.Index(
                fields=["expires_at"],
                name="flash_res_pending_expiry",
                condition=Q(status=FlashReservationStatus.PENDING),
            ),
            models.Index(
                fields=["order_number"], name="flash_res_order", condition=Q(status=FlashReservationStatus.CONSUMED)
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=1), name="flash_reservation_units_positive"),
            models.CheckConstraint(
                condition=~Q(status=FlashReservationStatus.CONSUMED) | ~Q(order_number=""),
                name="flash_reservation_consumed_has_order",
            ),
        ]

    def __str__(self):
        return f"{self.sale_id}:{self.buyer_id}×{self.units}"


#: A reservation's moves: consumed by a checkout or expired while pending; a consumed one is
#: returned when its order is cancelled. Each happens once (the table refuses a second).
FLASH_RESERVATION_TRANSITIONS = Transitions(
    {
        "consume": ([FlashReservationStatus.PENDING], FlashReservationStatus.CONSUMED),
        "expire": ([FlashReservationStatus.PENDING], FlashReservationStatus.EXPIRED),
        "return": ([FlashReservationStatus.CONSUMED], FlashReservationStatus.RETURNED),
    }
)
