"""Celery tasks of the merchants app: emails sent after the change has committed."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Invitation, Merchant

#: Posts the journal entries of deposit movements (settlements, a higher app: by name). The
#: screens that record a movement enqueue it on commit; beat runs it every minute anyway.
LEDGER_POST_TASK = "settlements.tasks.ledger_post_pending_task"

SUBJECTS = frozenset(
    {
        "submitted",
        "approved",
        "rejected",
        "changes_requested",
        "contract_signed",
        "deposit_paid",
        "deposit_deducted",
        "deposit_refunded",
        "live",
        "suspended",
        "reinstated",
        "terminated",
        "tier_changed",
        "bank_change_approved",
        "bank_change_refused",
        "document_renewal_refused",
        "amendment_proposed",
    }
)


def _subject(event: str) -> str:
    # The English text is the msgid; marked for translation where the table is read.
    return {
        "submitted": _("Your merchant application was received"),
        "approved": _("Your merchant application was approved"),
        "rejected": _("Your merchant application was not approved"),
        "changes_requested": _("Your merchant application needs changes"),
        "contract_signed": _("Your contract is signed"),
        "deposit_paid": _("Your deposit has been received"),
        "deposit_deducted": _("An amount was deducted from your deposit"),
        "deposit_refunded": _("Your deposit has been refunded"),
        "live": _("Your shop is live"),
        "suspended": _("Your shop has been suspended"),
        "reinstated": _("Your shop is open again"),
        "terminated": _("Your cooperation has ended"),
        "tier_changed": _("Your merchant tier has changed"),
        "bank_change_approved": _("Your new bank account is verified"),
        "bank_change_refused": _("Your bank account change was refused"),
        "document_renewal_refused": _("Your renewed document was refused"),
        "amendment_proposed": _("A contract amendment awaits your decision"),
    }[event]


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5
)
def merchant_notify_task(merchant_id: int, event: str) -> bool:
    """Email the merchant owner about a decision or a change of status, with the reason."""
    merchant = Merchant.objects.select_related("owner", "tier").filter(pk=merchant_id).first()
    if merchant is None or event not in SUBJECTS:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(
            "merchants/email/status_changed.txt",
            {"merchant": merchant, "event": event, "site_url": settings.SITE_URL},
        )
        send_mail(_subject(event), body, None, [merchant.contact_email or merchant.owner.email])
    return True


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5
)
def invitation_send_task(invitation_id: int) -> bool:
    """Email an invitation link to join a merchant."""
    invitation = Invitation.objects.select_related("merchant", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(
            "merchants/email/invitation.txt", {"invitation": invitation, "site_url": settings.SITE_URL}
        )
        send_mail(
            _("You are invited to join %(shop)s") % {"shop": invitation.merchant.display_name},
            body,
            None,
            [invitation.email],
        )
    return True
