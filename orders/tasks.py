"""Periodic jobs of the orders app (scheduled in settings.CELERY_BEAT_SCHEDULE), and refunds
returned through the gateway after the commit that decided them."""

from celery import shared_task
from django.conf import settings

from . import services

#: Posts the journal entries of captures and refunds (settlements, a higher app: by name): the
#: gateway callbacks enqueue it on commit; a refund returned is posted by its next beat run.
LEDGER_POST_TASK = "settlements.tasks.ledger_post_pending_task"


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


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=services.REFUND_CALL_LEASE,
    soft_time_limit=services.REFUND_CALL_LEASE - 20,
    max_retries=settings.REFUND_MAX_ATTEMPTS,
)
def refund_execute_task(self, refund_id: int) -> str:
    """Return a recorded refund's money through the gateway, its reference as the idempotency
    key: safe to run twice (acks_late: a killed worker's message is delivered again). A
    transient error or timeout is retried after the delay the service recorded on the refund;
    the service stops at REFUND_MAX_ATTEMPTS and marks it failed for staff."""
    try:
        return services.refund_execute(refund_id=refund_id)
    except services.RefundRetryLater as exc:
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(time_limit=120, soft_time_limit=100)
def refunds_pending_sweep_task() -> int:
    """Enqueue again the pending refunds whose task was lost (overdue by REFUND_SWEEP_MINUTES)."""
    return services.refunds_pending_sweep()


@shared_task(time_limit=600, soft_time_limit=570)
def group_buys_close_due_task() -> int:
    """Close the group buys whose 24 hours are up and refund each participant the difference
    to the step reached (or everything when the group failed), exactly once each."""
    return services.group_buys_close_due()
