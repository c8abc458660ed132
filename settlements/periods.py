"""Settlement periods: calendar months in the platform's time zone ("2026-10")."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Period:
        match = _PERIOD.match((value or "").strip())
        if not match:
            raise ValueError("A period looks like 2026-10.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> datetime.date:
        return self.next.first_day - datetime.timedelta(days=1)

    @property
    def end(self) -> datetime.datetime:
        """The first instant after the period (midnight local time on the next month's 1st)."""
        return local_midnight(self.next.first_day)

    def has_ended(self, now: datetime.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.end


def local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def settleable_cutoff(period: Period, settlement_days: int) -> datetime.datetime:
    """Orders completed before this instant are settleable in `period` with T = settlement_days:
    the local date of completed_at + T is on or before the period's last day."""
    return local_midnight(period.last_day - datetime.timedelta(days=settlement_days) + datetime.timedelta(days=1))
