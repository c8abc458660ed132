"""Celery tasks of the kernel. Tasks take ids, call one service, and hold no logic."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .audit import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(time_limit=1800, soft_time_limit=1700)
def audit_chain_verify_task() -> dict:
    """Nightly: verify the audit hash chain; log an error naming the first bad entry."""
    problem = audit_chain_verify()
    if problem is not None:
        logger.error("Audit chain broken at %s", problem)
        return {"ok": False, "problem": str(problem)}
    return {"ok": True}


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
