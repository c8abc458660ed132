"""Celery tasks of notifications. Tasks take ids, call one service, and hold no logic."""

from celery import shared_task

from . import services


@shared_task(
    time_limit=120,
    soft_time_limit=110,
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def notification_emails_send_task(*, notification_ids: list[int]) -> int:
    """The e-mails of the notifications one `notify` call raised; a retry or a second delivery
    sends none twice (`services.notification_email_send` claims each row first)."""
    return services.notification_emails_send(notification_ids=notification_ids)
