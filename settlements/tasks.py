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


@shared_task(time_limit=120, soft_time_limit=100)
def ledger_post_pending_task() -> int:
    """Post the journal entries of money movements recorded outside settlements (gateway
    captures and refunds, deposits) and of payouts left without theirs. Idempotent (one entry
    per natural key): beat runs it every minute, and the screens that record a movement
    enqueue it on commit; overlapping runs post nothing twice."""
    result = services.ledger_post_pending(time_budget=90)
    return sum(result.posted.values())
