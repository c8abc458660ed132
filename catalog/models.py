"""Catalog models. This module starts with the category tree and the categories a merchant
may sell in (grants); products, SKUs, warehouses and stock follow in the catalog issue."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MIN_COMMISSION_RATE = Decimal("0.0500")
MAX_COMMISSION_RATE = Decimal("0.1500")


class Category(models.Model):
    """A node of the multi-level category tree.

    `commission_rate` is optional (5 %–15 %, as a fraction: 0.1000 = 10 %); unset means the
    nearest ancestor's, and the platform default setting at the root.
    """

    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=120, unique=True, allow_unicode=True)
    commission_rate = models.DecimalField(
        _("commission rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_COMMISSION_RATE), MaxValueValidator(MAX_COMMISSION_RATE)],
        help_text=_("Fraction between 0.05 and 0.15; empty to inherit from the parent."),
    )
    is_fresh = models.BooleanField(_("fresh produce"), default=False)
    is_cross_border = models.BooleanField(_("cross-border"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__isnull=True)
                | Q(commission_rate__gte=MIN_COMMISSION_RATE, commission_rate__lte=MAX_COMMISSION_RATE),
                name="category_commission_rate_range",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self):
        return self.name


class CategoryGrant(models.Model):
    """A category a merchant may sell in, from its contract. Staff manage the grants."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="category_grants"
    )
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, blank=True, on_delete=models.PROTECT
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("category grant")
        verbose_name_plural = _("category grants")
        constraints = [models.UniqueConstraint(fields=["merchant", "category"], name="category_grant_unique")]

    def __str__(self):
        return f"{self.merchant_id} → {self.category}"
