"""Working days: weekends and the configured public holidays are skipped."""

from __future__ import annotations

import datetime

from ..models import PublicHoliday


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date `days` working days after `start` (a Friday + 1 → the next Monday)."""
    if days < 0:
        raise ValueError("days must not be negative")
    # Fetch holidays once for a window wide enough for any holiday season.
    horizon = start + datetime.timedelta(days=days * 2 + 60)
    holidays = set(PublicHoliday.objects.filter(date__gt=start, date__lte=horizon).values_list("date", flat=True))
    current = start
    remaining = days
    while remaining:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current
