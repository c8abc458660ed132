"""Periodic jobs of the promotions app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(time_limit=120, soft_time_limit=100)
def coupon_expire_due_task() -> int:
    """Mark expired the available coupons whose promotion has ended (idempotent)."""
    return services.coupon_expire_due()
