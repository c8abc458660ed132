"""Promotions' enumerations, importable by other apps without importing promotions' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# --- Flash sales ---------------------------------------------------------------------------------


class FlashFunding(models.TextChoices):
    """Who bears a flash sale's discount (price − special price): the merchant, the platform,
    or both by the sale's `platform_share`."""

    MERCHANT = "merchant", _("Merchant")
    PLATFORM = "platform", _("Platform")
    SPLIT = "split", _("Split by ratio")


class FlashSaleState(models.TextChoices):
    """What a buyer sees of a sale now (derived from its window, pause and counters, not stored)."""

    UPCOMING = "upcoming", _("Upcoming")
    LIVE = "live", _("On now")
    SOLD_OUT = "sold_out", _("Sold out")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class FlashReservationStatus(models.TextChoices):
    """A reservation is held (`pending`) until the buyer's checkout consumes it or it expires;
    a consumed one is `returned` when its order is cancelled."""

    PENDING = "pending", _("Held")
    CONSUMED = "consumed", _("Ordered")
    EXPIRED = "expired", _("Expired")
    RETURNED = "returned", _("Returned (order cancelled)")
