"""Promotions' enumerations. Other apps (orders, settlements, the interface modules) import
these without importing promotions' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PromotionLevel(models.TextChoices):
    # A shop promotion is created by a merchant for its own products; a platform promotion by
    # operations staff for the whole marketplace.
    SHOP = "shop", _("Shop promotion")
    PLATFORM = "platform", _("Platform promotion")


class PromotionChannel(models.TextChoices):
    # Automatic promotions apply to every cart that meets the condition; coupon promotions
    # only with a coupon the buyer holds.
    AUTOMATIC = "automatic", _("Automatic")
    COUPON = "coupon", _("With a coupon")


class PromotionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval of the platform share")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")
    REJECTED = "rejected", _("Rejected")


#: States in which a promotion's settings may still be edited.
EDITABLE_STATES = frozenset({PromotionStatus.DRAFT, PromotionStatus.REJECTED})


class ScopeKind(models.TextChoices):
    PLATFORM = "platform", _("Whole platform")
    SHOP = "shop", _("Whole shop")
    PRODUCTS = "products", _("Chosen products")
    CATEGORIES = "categories", _("Chosen categories (with their subcategories)")


class BenefitType(models.TextChoices):
    SPEND_AND_SAVE = "spend_and_save", _("Spend and save (steps)")
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED_AMOUNT = "fixed_amount", _("Fixed amount off")
    GIFT_SKU = "gift_sku", _("Free gift")
    FREE_SHIPPING = "free_shipping", _("Free shipping")


#: Benefit types only a shop promotion may have (the merchant funds its own shipping).
SHOP_ONLY_BENEFITS = frozenset({BenefitType.FREE_SHIPPING, BenefitType.GIFT_SKU})


class RfmSegment(models.TextChoices):
    """Buyer segments of the nightly RFM analysis (the rules: promotions.services.members.SEGMENT_RULES)."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    NEW = "new", _("New")
    POTENTIAL = "potential", _("Potential")
    AT_RISK = "at_risk", _("At risk")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class CouponState(models.TextChoices):
    # A returned coupon (its unpaid order was cancelled) is available again; one whose
    # promotion's window has ended is expired (`coupon_expire_due` writes it, the selectors
    # compute it meanwhile).
    AVAILABLE = "available", _("Available")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")


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


# --- Ladder group buys (阶梯式成团) ---------------------------------------------------------


class GroupBuyStatus(models.TextChoices):
    # Groups may be opened only while the campaign is active and inside its window.
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class GroupStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (below the first step)")


class ParticipantStatus(models.TextChoices):
    # Only paid participants count towards a step; an order cancelled unpaid lets the buyer go.
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    LAPSED = "lapsed", _("Left (not paid)")


class GroupBuyOutcome(models.TextChoices):
    # What closing the group decided for one participant, carried out exactly once.
    DIFFERENCE = "difference", _("Difference to the final step refunded")
    FULL_REFUND = "full_refund", _("Refunded in full (group failed)")
    UNPAID_CANCEL = "unpaid_cancel", _("Unpaid order cancelled")
    NOTHING = "nothing", _("Nothing to refund")
