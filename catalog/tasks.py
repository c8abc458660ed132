"""Background jobs of the catalog."""

from celery import shared_task

from . import services


@shared_task(time_limit=600, soft_time_limit=570, acks_late=True)
def products_search_refresh_task(product_ids: list[int]) -> int:
    """Refresh the search text of these products (after a category or tag was renamed).
    Safe to run twice: it recomputes from the current data."""
    return services.products_search_refresh(product_ids)
