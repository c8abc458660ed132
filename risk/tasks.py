"""Celery tasks of the risk app (issue #15).

Merchant quality: periodic, idempotent by their natural keys (one rating per merchant per
night, one evaluation per quarter, one renewal case per contract term).

Risk alerts: the periodic jobs (beat, `CELERY_BEAT_SCHEDULE`; each idempotent and
time-limited), the alerts raised after an event's transaction commits, and the e-mails.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import services
from .models import RiskAlert
from .services import alerts as alert_services


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


JOB_LIMITS = {"acks_late": True, "time_limit": 1200, "soft_time_limit": 1140}


def _done(run) -> int:
    return run.done


@shared_task(**JOB_LIMITS)
def alerts_complaint_rate_task() -> int:
    """Complaint rate over 30 days (module docstring of services.alerts: idempotent)."""
    return _done(alert_services.alerts_complaint_rate())


@shared_task(**JOB_LIMITS)
def alerts_return_rate_spike_task() -> int:
    """Return rate of the last 7 days against the 30 before."""
    return _done(alert_services.alerts_return_rate_spike())


@shared_task(**JOB_LIMITS)
def alerts_on_time_shipping_task() -> int:
    """On-time shipping of the last 14 days against the 30 before."""
    return _done(alert_services.alerts_on_time_shipping())


@shared_task(**JOB_LIMITS)
def alerts_stock_below_reorder_task() -> int:
    """Merchants with SKUs below their reorder point."""
    return _done(alert_services.alerts_stock_below_reorder())


@shared_task(**JOB_LIMITS)
def alerts_slow_stock_task() -> int:
    """Merchants whose stock turns over too slowly."""
    return _done(alert_services.alerts_slow_stock())


@shared_task(**JOB_LIMITS)
def alerts_deposit_short_task() -> int:
    """Merchants whose deposit is below their tier's."""
    return _done(alert_services.alerts_deposit_short())


@shared_task(**JOB_LIMITS)
def alerts_documents_task() -> int:
    """Documents expiring within 30 days, and expired."""
    expiring, expired = alert_services.alerts_documents()
    return expiring.done + expired.done


@shared_task(**JOB_LIMITS)
def alerts_negative_payable_task() -> int:
    """Negative payable two months running."""
    return _done(alert_services.alerts_negative_payable())


@shared_task(**JOB_LIMITS)
def alerts_reconciliation_task() -> int:
    """Reconciliation differences of last month."""
    return _done(alert_services.alerts_reconciliation())


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def alert_credit_grade_task(merchant_id: int, previous: str, grade: str) -> bool:
    """The grade changed to or from D (sent after its transaction committed)."""
    return (
        alert_services.alert_credit_grade_changed(merchant_id=merchant_id, previous=previous, grade=grade) is not None
    )


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def alert_quarterly_score_task(merchant_id: int, evaluation_id: int, score: str, quarter: str) -> bool:
    """A quarterly evaluation was recorded; raises the alert if its score is below 80."""
    alert = alert_services.alert_quarterly_score(
        merchant_id=merchant_id, evaluation_id=evaluation_id, score=score, quarter=quarter
    )
    return alert is not None


def _claim(alert_id: int, field: str) -> bool:
    # The claim makes the e-mail once per alert: only the run that sets the time sends.
    return bool(RiskAlert.objects.filter(pk=alert_id, **{f"{field}__isnull": True}).update(**{field: timezone.now()}))


def _unclaim(alert_id: int, field: str) -> None:
    RiskAlert.objects.filter(pk=alert_id).update(**{field: None})


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5
)
def alert_email_task(alert_id: int) -> bool:
    """E-mail the alert's owner, once per alert (the one place an alert reaches a person: the
    in-app notification centre can be routed from here). No owner: nothing is sent."""
    alert = RiskAlert.objects.select_related("owner", "merchant").filter(pk=alert_id).first()
    if alert is None or alert.owner is None or not alert.owner.email:
        return False
    if not _claim(alert_id, "owner_notified_at"):
        return False
    try:
        with translation.override(settings.LANGUAGE_CODE):
            body = render_to_string("risk/email/alert_raised.txt", {"alert": alert, "site_url": settings.SITE_URL})
            subject = _("Risk alert: %(kind)s") % {"kind": alert.get_kind_display()}
            send_mail(subject, body, None, [alert.owner.email])
    except Exception:
        _unclaim(alert_id, "owner_notified_at")  # sent by the retry instead
        raise
    return True


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5
)
def document_expired_email_task(alert_id: int) -> bool:
    """Tell the merchant that one of its documents expired, once per alert."""
    alert = RiskAlert.objects.select_related("merchant__owner").filter(pk=alert_id).first()
    if alert is None or alert.merchant is None:
        return False
    address = alert.merchant.contact_email or alert.merchant.owner.email
    if not address or not _claim(alert_id, "merchant_notified_at"):
        return False
    try:
        with translation.override(settings.LANGUAGE_CODE):
            body = render_to_string("risk/email/document_expired.txt", {"alert": alert, "site_url": settings.SITE_URL})
            send_mail(_("One of your documents has expired"), body, None, [address])
    except Exception:
        _unclaim(alert_id, "merchant_notified_at")
        raise
    return True
