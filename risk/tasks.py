"""Celery tasks of the risk app. Merchant quality (issue #15): periodic, idempotent by their
natural keys (one rating per merchant per night, one evaluation per quarter, one renewal
case per contract term)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def credit_ratings_run_task() -> int:
    """Tonight's credit rating of every live or suspended merchant; a rerun rates nobody twice."""
    return services.credit_ratings_run().done


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def quarterly_evaluations_run_task() -> int:
    """The evaluation of the quarter just ended; a rerun evaluates nobody twice."""
    return services.quarterly_evaluations_run().done


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def renewals_evaluate_due_task() -> int:
    """Judge the contracts ending soon: renew the ones that qualify, queue the others."""
    return services.renewals_evaluate_due().done


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def renewals_end_due_task() -> int:
    """End the contracts staff did not renew once their end date has passed."""
    return services.renewals_end_due().done
