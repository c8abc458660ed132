"""Periodic jobs of the promotions app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .services import flash


@shared_task(time_limit=120, soft_time_limit=100)
def flash_reservations_expire_task() -> int:
    """Return the units of flash-sale reservations not checked out in time to their sales."""
    return flash.flash_reservations_expire()


@shared_task(time_limit=300, soft_time_limit=270)
def flash_sales_rebuild_task() -> int:
    """Rebuild the Redis admission state of every sale not ended from the database (after a
    Redis loss; a missing state is also rebuilt by the first admission that finds it gone)."""
    return flash.flash_sales_rebuild_all()
