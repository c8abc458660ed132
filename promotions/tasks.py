"""Periodic jobs of the promotions app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_ready

from marketplace.jobs import enqueue_on_commit
from orders.selectors import buyer_activity, buyer_activity_bounds

from . import services
from .pagecache import promotion_windows_pages_invalidate
from .services import flash

#: The orders app's reads of the nightly run (an interface module may read the app above:
#: promotions' services may not).
ORDER_FIGURES = services.OrderFigures(bounds=buyer_activity_bounds, activity=buyer_activity)


@shared_task(time_limit=1800, soft_time_limit=1740)
def members_refresh_task() -> dict:
    """Recompute every buyer's membership level and RFM scores as of the start of today.

    The service takes the one-run lock, goes batch by batch and writes only what differs:
    a second run the same day, or two at once, change nothing.
    """
    run = services.members_refresh(figures=ORDER_FIGURES, as_of=services.members_as_of())
    return asdict(run)


@shared_task(time_limit=120, soft_time_limit=100)
def coupon_expire_due_task() -> int:
    """Mark expired the available coupons whose promotion has ended (idempotent)."""
    return services.coupon_expire_due()


@shared_task(time_limit=120, soft_time_limit=110, acks_late=True)
def promotion_windows_pages_invalidate_task() -> int:
    """Invalidate the cached pages of promotions whose window started or ended since the last
    run. Safe to run twice: a second bump only costs a page rendering."""
    return promotion_windows_pages_invalidate()


@shared_task(time_limit=120, soft_time_limit=100)
def flash_reservations_expire_task() -> int:
    """Return the units of flash-sale reservations not checked out in time to their sales."""
    return flash.flash_reservations_expire()


@shared_task(time_limit=300, soft_time_limit=270)
def flash_sales_rebuild_task() -> int:
    """Rebuild from the database the Redis admission state of each sale not ended whose state
    is missing or stale (after a Redis loss; a missing state is also rebuilt by the first
    admission that finds it gone). Idempotent: a run after a run rebuilds nothing. Runs when
    a worker starts and periodically (settings.CELERY_BEAT_SCHEDULE)."""
    return flash.flash_sales_rebuild_all()


@worker_ready.connect
def flash_sales_rebuild_on_worker_start(sender=None, **kwargs) -> None:
    """A worker started (maybe with Redis restarted too): check the flash sales' Redis state
    now rather than at the next beat. Each worker that starts enqueues one run; runs at once
    are harmless (each sale's rebuild holds its Redis lock; a current state is left alone)."""
    enqueue_on_commit("promotions.tasks.flash_sales_rebuild_task")
