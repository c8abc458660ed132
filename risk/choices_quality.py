"""Enumerations of merchant quality (issue #15): credit ratings, quarterly evaluations and
their requalification reviews, yearly renewals. Other apps may import them without models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequalificationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a reviewer")
    PASSED = "passed", _("Passed")
    CONDITIONS = "conditions", _("Passed with conditions")
    SUSPENDED = "suspended", _("Suspended")


class RenewalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for staff")
    RENEWED = "renewed", _("Renewed")
    NOT_RENEWED = "not_renewed", _("Not renewed")
