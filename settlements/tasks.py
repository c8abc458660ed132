"""Celery tasks of settlement runs: one task per batch of merchants."""

import logging

from celery import shared_task
from django.db import DatabaseError

from . import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, time_limit=1800, soft_time_limit=1700, max_retries=3)
def settle_batch_task(self, batch_id: int) -> int:
    """Settle one batch. Safe to run twice (acks_late: a killed worker's batch is redelivered):
    the batch row moves pending → done once, under its lock, so a second delivery settles and
    counts nothing."""
    try:
        return services.settle_batch(batch_id=batch_id)
    except DatabaseError as exc:  # transient (deadlock, connection): try again
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=5) from exc
        services.record_batch_failure(batch_id=batch_id, error=str(exc))
        raise
    except Exception as exc:
        logger.exception("settlement batch %s failed", batch_id)
        services.record_batch_failure(batch_id=batch_id, error=str(exc))
        raise
