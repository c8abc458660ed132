"""Celery tasks of the kernel. Tasks take ids, call one service, and hold no logic."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .audit import audit_chain_check

logger = logging.getLogger(__name__)


@shared_task(time_limit=1800, soft_time_limit=1700)
def audit_chain_verify_task() -> dict:
    """Nightly: verify every audit stream's hash chain; log an error naming the first bad entry.

    When intact, logs (and returns) the counts and the digest of all stream heads: the log
    leaves the database, so cutting the newest entries off a stream and rewinding its head,
    which no hash chain can show by itself, still changes what the next night records
    against what was recorded before."""
    report = audit_chain_check()
    if report.problem is not None:
        logger.error("Audit chain broken at %s", report.problem)
        return {"ok": False, "problem": str(report.problem)}
    logger.info(
        "Audit chain intact: %d entries in %d streams, heads digest %s",
        report.entries,
        report.streams,
        report.heads_digest,
    )
    return {"ok": True, "entries": report.entries, "streams": report.streams, "heads_digest": report.heads_digest}


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5
)
def signup_email_task(*, email: str, token: str | None, language: str | None = None) -> bool:
    """The one e-mail of a sign-up (`signup_request`): with `token`, the link that creates the
    account; without, the notice to a registered address that someone tried to sign up. Both
    in the language of the sign-up form, so the two answers look alike to whoever sent it."""
    context = {"site_url": settings.SITE_URL, "email": email}
    with translation.override(language or settings.LANGUAGE_CODE):
        if token is not None:
            context["confirm_path"] = reverse("signup_confirm", kwargs={"token": token})
            context["valid_hours"] = settings.SIGNUP_LINK_VALID_HOURS
            subject = _("Confirm your e-mail address to create your account")
            body = render_to_string("registration/signup_confirm_email.txt", context)
        else:
            context["reset_path"] = reverse("password_reset")
            context["login_path"] = reverse("login")
            subject = _("Someone tried to sign up with your e-mail address")
            body = render_to_string("registration/signup_taken_email.txt", context)
        send_mail(subject, body, None, [email])
    return True
