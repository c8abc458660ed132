"""Buyer membership levels and the nightly RFM analysis (issue #13, "Members and marketing
analysis"). Registered through `promotions.models`.

The figures (goods paid in the last 12 months, paid orders, the last payment) come from the
orders app, which sits above promotions: the nightly task reads them through an orders
selector and hands them to `promotions.services.members`, which stores them here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import RfmSegment

THRESHOLD_TAKEN = _("Another level already starts at this spend: thresholds must be strictly increasing.")


class MembershipLevel(models.Model):
    """A level buyers reach by the goods they paid for in the last 12 months.

    Operations edit the rows. A buyer holds the level with the highest threshold at or below
    their spend, so thresholds are unique (strictly increasing once ordered) and one level,
    the base, starts at 0: every buyer holds a level. The services keep the base; the
    constraints below refuse duplicates and negative thresholds even if a service forgot.
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    threshold = models.DecimalField(
        _("12-month spend from"),
        max_digits=14,
        decimal_places=2,
        unique=True,
        # The same words as the service's refusal (`level_threshold_taken`): the admin's form
        # checks uniqueness before the service is asked.
        error_messages={"unique": THRESHOLD_TAKEN},
        help_text=_("Goods paid in the last 12 months (refunds deducted) from which a buyer holds this level."),
    )
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        verbose_name = _("membership level")
        verbose_name_plural = _("membership levels")
        ordering = ["threshold"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="membership_level_threshold_not_negative")
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A buyer's level as of the last nightly run, with the spend it was decided on."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="membership"
    )
    level = models.ForeignKey(
        MembershipLevel, verbose_name=_("level"), on_delete=models.PROTECT, related_name="memberships"
    )
    spend_12m = models.DecimalField(_("goods paid in 12 months"), max_digits=14, decimal_places=2)
    computed_at = models.DateTimeField(_("as of"), db_index=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["buyer_id"]

    def __str__(self):
        return f"{self.buyer_id}: {self.level_id}"


class MembershipChange(models.Model):
    """One change of a buyer's level (history; written only by the services, never edited).

    The level names are copied so the history still reads after a level is renamed or deleted.
    """

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="+"
    )
    from_level = models.ForeignKey(
        MembershipLevel,
        verbose_name=_("from level"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_level = models.ForeignKey(
        MembershipLevel, verbose_name=_("to level"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_name = models.CharField(_("from"), max_length=60, blank=True)
    to_name = models.CharField(_("to"), max_length=60)
    spend_12m = models.DecimalField(_("goods paid in 12 months"), max_digits=14, decimal_places=2)
    changed_at = models.DateTimeField(_("changed"), db_index=True)

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-changed_at"], name="membership_change_buyer_idx")]

    def __str__(self):
        return f"{self.buyer_id}: {self.from_name or '—'} → {self.to_name}"


SCORE = [MinValueValidator(1), MaxValueValidator(5)]


class RfmScore(models.Model):
    """A buyer's recency, frequency and monetary figures of the last nightly run and their
    scores 1–5 (quintiles over every buyer with orders, computed in SQL), with the segment.

    One row per buyer with a paid order; `computed_at` is the run's moment ("as of").
    """

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.CASCADE, related_name="rfm"
    )
    recency_days = models.PositiveIntegerField(_("days since the last paid order"))
    frequency = models.PositiveIntegerField(_("paid orders in 12 months"))
    monetary = models.DecimalField(_("goods paid in 12 months"), max_digits=14, decimal_places=2)
    r_score = models.PositiveSmallIntegerField(_("R"), null=True, validators=SCORE)
    f_score = models.PositiveSmallIntegerField(_("F"), null=True, validators=SCORE)
    m_score = models.PositiveSmallIntegerField(_("M"), null=True, validators=SCORE)
    segment = models.CharField(_("segment"), max_length=20, choices=RfmSegment.choices, blank=True, db_index=True)
    computed_at = models.DateTimeField(_("as of"), db_index=True)

    class Meta:
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        ordering = ["buyer_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_score__isnull=True) | Q(r_score__gte=1, r_score__lte=5), name="rfm_r_score_range"
            ),
            models.CheckConstraint(
                condition=Q(f_score__isnull=True) | Q(f_score__gte=1, f_score__lte=5), name="rfm_f_score_range"
            ),
            models.CheckConstraint(
                condition=Q(m_score__isnull=True) | Q(m_score__gte=1, m_score__lte=5), name="rfm_m_score_range"
            ),
        ]

    def __str__(self):
        return f"{self.buyer_id}: {self.r_score}{self.f_score}{self.m_score}"
