"""Promotions: a condition (what the cart must hold), a benefit (what it gives) and a scope
(which lines it looks at), with a window, a priority, a funding split, a budget and a
per-buyer limit — django-oscar's condition / benefit / range, flattened into one row.

`status` follows the transition table `TRANSITIONS` below; every change goes through a
service in `promotions.services`. The pricing engine (`promotions.pricing`) never sees these
rows: the selectors turn them into frozen `Offer` values.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from marketplace.transitions import Transitions

from .choices import (
    BenefitType,
    CouponState,
    FlashFunding,
    FlashReservationStatus,
    GroupBuyOutcome,
    GroupBuyStatus,
    GroupStatus,
    ParticipantStatus,
    PromotionChannel,
    PromotionLevel,
    PromotionStatus,
    ScopeKind,
)
from .errors import GroupBuyInvalidTransition, PromotionInvalidTransition


class Promotion(models.Model):
    """One promotion of a shop (created by its merchant) or of the platform (by operations).

    Counters (`budget_spent`, `uses_count`) move only through conditional UPDATEs in
    `promotions.services.usage`, and the constraints below keep them within their limits
    even if a service forgot to check.
    """

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    level = models.CharField(_("level"), max_length=10, choices=PromotionLevel.choices)
    channel = models.CharField(
        _("channel"), max_length=10, choices=PromotionChannel.choices, default=PromotionChannel.AUTOMATIC
    )
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promotions",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=PromotionStatus.choices, default=PromotionStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(_("reason of the last decision"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    priority = models.IntegerField(_("priority"), default=0, help_text=_("Higher wins a tie."))

    # Condition, evaluated on the gross of the lines in scope (both optional).
    min_spend = models.DecimalField(_("minimum spend"), max_digits=14, decimal_places=2, null=True, blank=True)
    min_quantity = models.PositiveIntegerField(_("minimum quantity"), null=True, blank=True)

    # Scope: which lines of the cart the condition and the benefit look at.
    scope = models.CharField(_("applies to"), max_length=12, choices=ScopeKind.choices)
    products = models.ManyToManyField(
        "catalog.Product", verbose_name=_("products"), blank=True, related_name="promotions"
    )
    categories = models.ManyToManyField(
        "catalog.Category", verbose_name=_("categories"), blank=True, related_name="promotions"
    )

    # Benefit: `benefit_type` picks the class of the engine's registry; the fields it needs.
    benefit_type = models.CharField(_("benefit"), max_length=16, choices=BenefitType.choices)
    percent = models.DecimalField(
        _("percentage off"), max_digits=5, decimal_places=2, null=True, blank=True, help_text=_("Between 0 and 100.")
    )
    amount = models.DecimalField(_("amount off"), max_digits=14, decimal_places=2, null=True, blank=True)
    gift_sku = models.ForeignKey(
        "catalog.SKU", verbose_name=_("gift"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # Funding: the share of every discount the platform pays (0 merchant, 1 platform).
    platform_share = models.DecimalField(
        _("platform share"), max_digits=5, decimal_places=4, default=Decimal("0"), help_text=_("From 0 to 1.")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("platform share approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("platform share approved"), null=True, blank=True)

    # Budget (money and/or uses) and per-buyer limit, all optional; the counters beside them.
    budget_amount = models.DecimalField(_("money budget"), max_digits=14, decimal_places=2, null=True, blank=True)
    budget_spent = models.DecimalField(_("money spent"), max_digits=14, decimal_places=2, default=Decimal("0"))
    max_uses = models.PositiveIntegerField(_("maximum uses"), null=True, blank=True)
    uses_count = models.PositiveIntegerField(_("uses"), default=0)
    per_buyer_limit = models.PositiveIntegerField(_("uses per buyer"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "ends_at"], name="promotion_live_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=PromotionLevel.SHOP, merchant__isnull=False)
                | Q(level=PromotionLevel.PLATFORM, merchant__isnull=True),
                name="promotion_level_merchant",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="promotion_window"),
            models.CheckConstraint(
                condition=Q(platform_share__gte=0, platform_share__lte=1), name="promotion_share_range"
            ),
            models.CheckConstraint(
                condition=Q(budget_amount__isnull=True) | Q(budget_spent__lte=models.F("budget_amount")),
                name="promotion_budget_not_overspent",
            ),
            models.CheckConstraint(condition=Q(budget_spent__gte=0), name="promotion_spent_not_negative"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses_count__lte=models.F("max_uses")),
                name="promotion_uses_within_max",
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lt=100), name="promotion_percent_range"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_limited(self) -> bool:
        """Whether using it writes counters (a budget, a use limit or a per-buyer limit)."""
        return self.budget_amount is not None or self.max_uses is not None or self.per_buyer_limit is not None


S = PromotionStatus
# Allowed transitions: action → (states it may start from, state it leads to). A shop
# promotion asking for a platform share is submitted for approval; any other is activated.
TRANSITIONS = Transitions(
    {
        "submit": (frozenset({S.DRAFT, S.REJECTED}), S.PENDING_APPROVAL),
        "activate": (frozenset({S.DRAFT}), S.ACTIVE),
        "approve": (frozenset({S.PENDING_APPROVAL}), S.ACTIVE),
        "reject": (frozenset({S.PENDING_APPROVAL}), S.REJECTED),
        "pause": (frozenset({S.ACTIVE}), S.PAUSED),
        "resume": (frozenset({S.PAUSED}), S.ACTIVE),
        "end": (frozenset({S.ACTIVE, S.PAUSED}), S.ENDED),
    },
    error=PromotionInvalidTransition,
    refusal=_("This cannot be done while the promotion is “%(status)s”."),
)


class PromotionStep(models.Model):
    """One step of a spend-and-save promotion: from `threshold` of in-scope gross, `amount`
    off. The highest step reached applies."""

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.CASCADE, related_name="steps"
    )
    threshold = models.DecimalField(_("spend at least"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount off"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("spend-and-save step")
        verbose_name_plural = _("spend-and-save steps")
        ordering = ["promotion", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["promotion", "threshold"], name="promotion_step_unique_threshold"),
            models.CheckConstraint(condition=Q(amount__gt=0, threshold__gt=0), name="promotion_step_positive"),
        ]

    def __str__(self):
        return f"≥{self.threshold} −{self.amount}"


class PromotionBuyerUsage(models.Model):
    """How many times one buyer has used a promotion with a per-buyer limit (upserted
    conditionally at checkout, decremented when an unpaid order is cancelled)."""

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.CASCADE, related_name="buyer_usages"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="+"
    )
    uses = models.PositiveIntegerField(_("uses"), default=0)

    class Meta:
        verbose_name = _("use by a buyer")
        verbose_name_plural = _("uses by buyers")
        constraints = [
            models.UniqueConstraint(fields=["promotion", "buyer"], name="promotion_buyer_usage_unique"),
        ]

    def __str__(self):
        return f"{self.promotion_id} / {self.buyer_id}: {self.uses}"


class PromotionRedemption(models.Model):
    """What one buyer order took from a limited promotion's counters, so that cancelling the
    order before payment gives exactly that back, exactly once (`released_at`).

    `order_id` is the buyer order's id without a foreign key: orders sit above promotions.
    Only limited promotions (`Promotion.is_limited`) get a row; an unlimited one writes nothing
    at checkout.
    """

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.PROTECT, related_name="redemptions"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    order_id = models.BigIntegerField(_("buyer order"))
    amount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2)
    # What was counted, so the release gives back exactly that even if the limits changed.
    budget_counted = models.BooleanField(_("counted against the money budget"), default=False)
    use_counted = models.BooleanField(_("counted against the uses"), default=False)
    buyer_use_counted = models.BooleanField(_("counted against the buyer's limit"), default=False)
    created_at = models.DateTimeField(_("used"), auto_now_add=True)
    released_at = models.DateTimeField(_("given back"), null=True, blank=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order_id", "promotion"], name="promotion_redemption_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="promotion_redemption_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.promotion_id} / {self.order_id}"


class CouponCode(models.Model):
    """A public code of a coupon promotion: any buyer who enters it claims a coupon of the
    promotion (within its total count and per-buyer limit). A coupon promotion without a
    public code is claimed from the coupon centre instead."""

    promotion = models.OneToOneField(
        Promotion, verbose_name=_("promotion"), on_delete=models.CASCADE, related_name="public_code"
    )
    # Stored upper-case; buyers may type it in any case.
    code = models.CharField(_("public code"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("public coupon code")
        verbose_name_plural = _("public coupon codes")

    def __str__(self):
        return self.code


class Coupon(models.Model):
    """One buyer's coupon of a coupon-channel promotion, which carries the discount, the
    window, the minimum spend, the funding, the total count (`max_uses`, counted when a
    coupon is claimed) and the per-buyer limit (coupons one buyer may hold).

    `state` moves available → used (at checkout, a conditional UPDATE) → available again when
    the unpaid order is cancelled, or → expired when the promotion's window ended. `order_id`
    and `order_number` name the buyer order it was used on, without a foreign key: orders
    sit above promotions.
    """

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.PROTECT, related_name="coupons"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="coupons"
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=CouponState.choices, default=CouponState.AVAILABLE)
    claimed_at = models.DateTimeField(_("claimed"), auto_now_add=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    order_id = models.BigIntegerField(_("buyer order"), null=True, blank=True)
    order_number = models.CharField(_("order number"), max_length=32, blank=True)
    returned_at = models.DateTimeField(_("last given back"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-claimed_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "state"], name="coupon_buyer_state_idx"),
            # The per-buyer count of a claim (the promotion's own count uses the FK's index).
            models.Index(fields=["promotion", "buyer"], name="coupon_promotion_buyer_idx"),
        ]
        constraints = [
            # A used coupon names its order, any other names none.
            models.CheckConstraint(
                condition=Q(state=CouponState.USED, order_id__isnull=False, used_at__isnull=False)
                | (~Q(state=CouponState.USED) & Q(order_id__isnull=True)),
                name="coupon_used_has_order",
            ),
            models.UniqueConstraint(fields=["order_id"], name="coupon_one_per_order"),
        ]

    def __str__(self):
        return self.code


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


# Members and RFM (issue #13): their own module, registered here.
from .membership import Membership, MembershipChange, MembershipLevel, RfmScore  # noqa: E402, F401

# --- Ladder group buys (阶梯式成团) ---------------------------------------------------------
# A campaign offers one SKU at prices that fall as more buyers join a group; each group lives
# `window_hours` from its first participant. Participants pay the first step's price through
# the normal checkout; closing the group (`orders.services.group_buys`) refunds each paid
# participant the difference to the step reached, or everything when the group failed.
# Order ids are plain integers: orders sit above promotions.


class GroupBuyCampaign(models.Model):
    """One merchant's group buy of one SKU with its ladder of steps (`GroupBuyStep`)."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="group_buys"
    )
    sku = models.ForeignKey("catalog.SKU", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=10, choices=GroupBuyStatus.choices, default=GroupBuyStatus.ACTIVE, db_index=True
    )
    starts_at = models.DateTimeField(_("groups may open from"))
    ends_at = models.DateTimeField(_("groups may open until"))
    window_hours = models.PositiveIntegerField(_("hours a group stays open"), default=24)
    max_quantity = models.PositiveIntegerField(_("units per participant at most"), default=1)
    # Funding as for promotions: the share of every discount the platform pays (0: the
    # merchant pays all, the default); only operations may set it (in the admin).
    platform_share = models.DecimalField(
        _("platform share"), max_digits=5, decimal_places=4, default=Decimal("0"), help_text=_("From 0 to 1.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("group buy")
        verbose_name_plural = _("group buys")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="group_buy_window"),
            models.CheckConstraint(
                condition=Q(platform_share__gte=0, platform_share__lte=1), name="group_buy_share_range"
            ),
            models.CheckConstraint(condition=Q(window_hours__gte=1), name="group_buy_window_hours_positive"),
            models.CheckConstraint(condition=Q(max_quantity__gte=1), name="group_buy_max_quantity_positive"),
        ]

    def __str__(self):
        return self.name


GS = GroupBuyStatus
GROUP_BUY_TRANSITIONS = Transitions(
    {
        "pause": (frozenset({GS.ACTIVE}), GS.PAUSED),
        "resume": (frozenset({GS.PAUSED}), GS.ACTIVE),
        "end": (frozenset({GS.ACTIVE, GS.PAUSED}), GS.ENDED),
    },
    error=GroupBuyInvalidTransition,
    refusal=_("This cannot be done while the group buy is “%(status)s”."),
)


class GroupBuyStep(models.Model):
    """From `participants` paid participants, `percent` off. Counts and percents rise
    strictly step by step (checked by the service); the first step is what joining costs."""

    campaign = models.ForeignKey(
        GroupBuyCampaign, verbose_name=_("group buy"), on_delete=models.CASCADE, related_name="steps"
    )
    participants = models.PositiveIntegerField(_("participants at least"))
    percent = models.DecimalField(_("percentage off"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("group buy step")
        verbose_name_plural = _("group buy steps")
        ordering = ["campaign", "participants"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "participants"], name="group_buy_step_unique_count"),
            models.CheckConstraint(
                condition=Q(participants__gte=2, percent__gt=0, percent__lt=100), name="group_buy_step_range"
            ),
        ]

    def __str__(self):
        return f"{self.participants} → −{self.percent}%"


class GroupBuyGroup(models.Model):
    """One group of a campaign: opened by its first participant, open `window_hours`.

    `paid_count` moves only with F() when a participant's order is paid while the group is
    open (under the group's lock); closing reads it again from the participants."""

    campaign = models.ForeignKey(
        GroupBuyCampaign, verbose_name=_("group buy"), on_delete=models.PROTECT, related_name="groups"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=GroupStatus.choices, default=GroupStatus.OPEN, db_index=True
    )
    opened_at = models.DateTimeField(_("opened"))
    closes_at = models.DateTimeField(_("closes"), db_index=True)
    paid_count = models.PositiveIntegerField(_("paid participants"), default=0)
    final_percent = models.DecimalField(
        _("final percentage off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opened_at")), name="group_window"),
        ]

    def __str__(self):
        return f"{self.campaign_id}#{self.pk}"


GROUP_TRANSITIONS = Transitions(
    {
        "succeed": (frozenset({GroupStatus.OPEN}), GroupStatus.SUCCEEDED),
        "fail": (frozenset({GroupStatus.OPEN}), GroupStatus.FAILED),
    },
    error=GroupBuyInvalidTransition,
    refusal=_("This cannot be done while the group is “%(status)s”."),
)


class GroupBuyParticipant(models.Model):
    """One buyer in one group, with what they paid at the first step (frozen like the order
    line's discount) and, once the group closed, the outcome to carry out.

    The row is the natural key of its settlement: `outcome` is written once when the group
    closes, `settled_at` once when the refund (or cancellation) is recorded, both under the
    row's lock, so a close run twice or resumed after a crash acts once per participant."""

    group = models.ForeignKey(
        GroupBuyGroup, verbose_name=_("group"), on_delete=models.PROTECT, related_name="participants"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ParticipantStatus.choices, default=ParticipantStatus.PENDING
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    order_id = models.BigIntegerField(_("buyer order"), null=True, blank=True, unique=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    gross = models.DecimalField(_("gross"), max_digits=14, decimal_places=2)
    first_percent = models.DecimalField(_("percentage off paid"), max_digits=5, decimal_places=2)
    merchant_discount = models.DecimalField(_("merchant-funded discount"), max_digits=14, decimal_places=2)
    platform_discount = models.DecimalField(_("platform-funded discount"), max_digits=14, decimal_places=2)
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=GroupBuyOutcome.choices, blank=True, db_index=True)
    refund_due = models.DecimalField(_("refund due"), max_digits=14, decimal_places=2, null=True, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    refund_id = models.BigIntegerField(_("refund"), null=True, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["group", "id"]
        indexes = [
            models.Index(
                fields=["group"], condition=Q(settled_at__isnull=True) & ~Q(outcome=""), name="participant_unsettled"
            )
        ]
        constraints = [
            # One place per buyer per group; a buyer whose unpaid order lapsed may join again.
            models.UniqueConstraint(
                fields=["group", "buyer"], condition=~Q(status="lapsed"), name="participant_one_per_buyer"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="participant_quantity_positive"),
            models.CheckConstraint(
                condition=Q(merchant_discount__gte=0, platform_discount__gte=0), name="participant_discount_parts"
            ),
            models.CheckConstraint(
                condition=Q(refund_due__isnull=True) | Q(refund_due__gte=0), name="participant_refund_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(settled_at__isnull=True) | ~Q(outcome=""), name="participant_settled_has_outcome"
            ),
        ]

    def __str__(self):
        return f"{self.group_id} / {self.buyer_id}"

    @property
    def discount(self) -> Decimal:
        return self.merchant_discount + self.platform_discount

    @property
    def paid(self) -> Decimal:
        """What the participant paid for the goods (before shipping)."""
        return self.gross - self.discount


PARTICIPANT_TRANSITIONS = Transitions(
    {
        "pay": (frozenset({ParticipantStatus.PENDING}), ParticipantStatus.PAID),
        "lapse": (frozenset({ParticipantStatus.PENDING}), ParticipantStatus.LAPSED),
    },
    error=GroupBuyInvalidTransition,
    refusal=_("This cannot be done while the participant is “%(status)s”."),
)
