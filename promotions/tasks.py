"""Periodic jobs of the promotions app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from orders.selectors import buyer_activity_batch

from . import services


@shared_task(time_limit=1800, soft_time_limit=1740)
def members_refresh_task() -> dict:
    """Recompute every buyer's membership level and RFM scores as of the start of today.

    The figures come from orders (an interface module may read the app above: promotions'
    services may not), read batch by batch by the service, which takes the one-run lock and
    writes only what differs: a second run the same day, or two at once, change nothing.
    """
    run = services.members_refresh(read_batch=buyer_activity_batch, as_of=services.members_as_of())
    return asdict(run)
