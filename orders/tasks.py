"""Periodic jobs of the orders app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(time_limit=300, soft_time_limit=270)
def cancel_expired_unpaid_task() -> int:
    """Cancel orders left unpaid past the payment time limit; their stock is released."""
    return services.cancel_expired_unpaid()


@shared_task(time_limit=600, soft_time_limit=570)
def complete_overdue_shipped_task() -> int:
    """Complete orders shipped long enough ago, unless an after-sales request is open."""
    return services.complete_overdue_shipped()


@shared_task(time_limit=300, soft_time_limit=270)
def accept_overdue_requests_task() -> int:
    """Accept after-sales requests the merchant did not answer in time."""
    return services.accept_overdue_requests()
