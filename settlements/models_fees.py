"""Service fees (domain.md "Incentive subsidies"): the yearly technical service fee per tier
(with the relief: first year waived, the next two at 50 %), the franchise yearly fee of the
contract, value-added services (keyword bidding, home-page slots) and subscription plans.

Every billing is one `FeeCharge` with a natural key (merchant, kind, key): the periodic
billing and a retried purchase never bill twice. A run deducts each charge once (its
`statement` is set), on the line "Service fees"; the invoice shows their sum.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from settlements.choices import BillingCycle, FeeKind

MONEY = {"max_digits": 14, "decimal_places": 2}


class TechnicalServiceFee(models.Model):
    """The yearly technical service fee of a tier (operations edit it)."""

    tier = models.OneToOneField(
        "merchants.Tier", verbose_name=_("tier"), on_delete=models.PROTECT, related_name="technical_service_fee"
    )
    yearly_amount = models.DecimalField(_("yearly amount"), **MONEY)

    class Meta:
        verbose_name = _("technical service fee")
        verbose_name_plural = _("technical service fees")
        ordering = ["tier__position"]
        constraints = [models.CheckConstraint(condition=Q(yearly_amount__gte=0), name="technical_fee_not_negative")]

    def __str__(self):
        return f"{self.tier}: {self.yearly_amount}"


class SubscriptionPlan(models.Model):
    """A merchant subscription plan (gold, platinum) with its prices and benefits."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    monthly_price = models.DecimalField(_("monthly price"), **MONEY)
    yearly_price = models.DecimalField(_("yearly price"), **MONEY)
    benefits = models.TextField(_("benefits"), help_text=_("One benefit per line; merchants see them."))
    active = models.BooleanField(_("offered"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("subscription plan")
        verbose_name_plural = _("subscription plans")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_price__gt=0, yearly_price__gt=0), name="subscription_plan_prices_positive"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]

    def price(self, cycle: str):
        return self.yearly_price if cycle == BillingCycle.YEARLY else self.monthly_price


class Subscription(models.Model):
    """A merchant's subscription to a plan, billed each cycle from `starts_on` until ended."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="subscriptions"
    )
    plan = models.ForeignKey(SubscriptionPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    cycle = models.CharField(_("billed"), max_length=10, choices=BillingCycle.choices)
    starts_on = models.DateField(_("starts on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("subscribed by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(ended_on__isnull=True), name="subscription_one_active_per_merchant"
            )
        ]

    def __str__(self):
        return f"{self.plan} ({self.get_cycle_display()})"


class ValueAddedService(models.Model):
    """A value-added service merchants buy in the portal (a keyword bid package, a week of a
    home-page slot…), at the price operations set."""

    kind = models.CharField(_("kind"), max_length=30, choices=FeeKind.choices)
    name = models.CharField(_("name"), max_length=100)
    price = models.DecimalField(_("price"), **MONEY)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("value-added service")
        verbose_name_plural = _("value-added services")
        ordering = ["kind", "price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="value_added_price_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["keyword_bidding", "homepage_slot", "shop_decoration"]), name="value_added_kind"
            ),
        ]

    def __str__(self):
        return self.name


class FeeCharge(models.Model):
    """One billing of a service fee to a merchant; `amount` = `gross` − `relief`."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="fee_charges"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=FeeKind.choices)
    # The natural key within (merchant, kind): the billed year or cycle ("2026-09-10", the
    # contract number and year…), or the purchase's reference.
    key = models.CharField(_("reference"), max_length=60)
    description = models.CharField(_("description"), max_length=200)
    billed_on = models.DateField(_("billed on"))
    gross = models.DecimalField(_("before relief"), **MONEY)
    relief = models.DecimalField(_("relief"), **MONEY, default=0)
    amount = models.DecimalField(_("amount"), **MONEY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    statement = models.ForeignKey(
        "settlements.Statement",
        verbose_name=_("deducted in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fee_charges",
    )

    class Meta:
        verbose_name = _("service fee charge")
        verbose_name_plural = _("service fee charges")
        ordering = ["-billed_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "kind", "key"], name="fee_charge_natural_key"),
            models.CheckConstraint(condition=Q(gross__gte=0, relief__gte=0, amount__gte=0), name="fee_charge_signs"),
            models.CheckConstraint(condition=Q(amount=F("gross") - F("relief")), name="fee_charge_amount"),
        ]
        indexes = [
            models.Index(
                fields=["merchant", "billed_on"], condition=Q(statement__isnull=True), name="fee_charge_unsettled_idx"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.key}"
