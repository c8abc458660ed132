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


# --- Penalties and service fees (issue #14): periodic, idempotent by their natural keys ----


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def late_shipment_penalties_raise_task() -> int:
    """Raise the late-shipment penalties of orders shipped late; a rerun raises none twice
    (one per merchant order, a unique key)."""
    return services.late_shipment_penalties_raise()


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def penalties_lapse_task() -> int:
    """Open penalties past their appeal window come to stand."""
    return services.penalties_lapse()


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def fees_bill_due_task() -> int:
    """Bill the service fees of the current cycles; a rerun bills nothing twice (natural key
    merchant + kind + cycle)."""
    return services.fees_bill_due()


# --- The settlement dry run as a job (issue #16) ----------------------------------------------


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def dry_run_task(dry_run_id: int) -> int:
    """Compute a queued dry run (rolled back, nothing written but its result rows); a second
    delivery finds it no longer queued and does nothing."""
    return services.dry_run_compute(dry_run_id=dry_run_id)
