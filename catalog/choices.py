"""Catalog's enumerations: listing and revision review states, warehouse and stock movement
kinds. Other apps import these without importing catalog's models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class WarehouseKind(models.TextChoices):
    REGIONAL_CENTRAL = "regional_central", _("Regional central warehouse")
    CITY_CLOUD = "city_cloud", _("City cloud warehouse (3-hour delivery)")
    MERCHANT = "merchant", _("Merchant warehouse")


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ADJUSTMENT = "adjustment", _("Adjustment")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    SHIPMENT = "shipment", _("Shipment")
