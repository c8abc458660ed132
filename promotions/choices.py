"""Promotions' enumerations other apps may import without importing models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RfmSegment(models.TextChoices):
    """Buyer segments of the nightly RFM analysis (the rules: promotions.services.members.SEGMENT_RULES)."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    NEW = "new", _("New")
    POTENTIAL = "potential", _("Potential")
    AT_RISK = "at_risk", _("At risk")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")
