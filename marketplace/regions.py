"""Sales and logistics regions: China's seven geographic regions.

Shared by merchants (contract sales regions), catalog (warehouse regions) and orders
(buyer address → nearest warehouse first).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    NORTH = "north", _("North China")
    NORTHEAST = "northeast", _("Northeast China")
    EAST = "east", _("East China")
    CENTRAL = "central", _("Central China")
    SOUTH = "south", _("South China")
    SOUTHWEST = "southwest", _("Southwest China")
    NORTHWEST = "northwest", _("Northwest China")
