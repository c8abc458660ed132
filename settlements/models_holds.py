"""Payout holds: a merchant's payouts are held back from payout batches while a hold is open.

Risk places a hold when a merchant changes its bank account close to a payout (risk's
receiver of `merchants.signals.bank_account_changed` calls `services.holds`); finance releases
it in the admin after checking the new account. The hold lives here, not in risk, because the
payout batch (settlements) must read it and settlements may not import risk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.errors import InvalidTransition
from marketplace.transitions import Transitions
from settlements.choices import PayoutHoldStatus


class PayoutHold(models.Model):
    """One hold on a merchant's payouts; at most one open per merchant (database constraint)."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="payout_holds"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=PayoutHoldStatus.choices, default=PayoutHoldStatus.OPEN
    )
    reason = models.TextField(_("reason"))
    # What placed it, as the caller names it (e.g. "bank_account_changed"), and when it happened.
    cause = models.CharField(_("cause"), max_length=40)
    caused_at = models.DateTimeField(_("cause happened"))
    placed_at = models.DateTimeField(_("placed"), auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    release_note = models.TextField(_("release note"), blank=True)

    class Meta:
        verbose_name = _("payout hold")
        verbose_name_plural = _("payout holds")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(status="open"), name="payout_hold_one_open_per_merchant"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(released_at__isnull=False), name="payout_hold_released_has_time"
            ),
        ]

    def __str__(self):
        return f"{self.merchant_id}: {self.get_status_display()}"


PAYOUT_HOLD_TRANSITIONS = Transitions(
    {"release": ([PayoutHoldStatus.OPEN], PayoutHoldStatus.RELEASED)},
    error=InvalidTransition,
)
