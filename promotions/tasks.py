"""Background jobs of the promotions app."""

from celery import shared_task

from .pagecache import promotion_windows_pages_invalidate


@shared_task(time_limit=120, soft_time_limit=110, acks_late=True)
def promotion_windows_pages_invalidate_task() -> int:
    """Invalidate the cached pages of promotions whose window started or ended since the last
    run. Safe to run twice: a second bump only costs a page rendering."""
    return promotion_windows_pages_invalidate()
