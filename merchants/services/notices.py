"""Who is told what when an application moves (`notifications.services.notify`), called by the
application services after their change, in their transaction: a rollback tells nobody.
(The merchant's own e-mails about its application are `merchant_notify`'s.)"""

from __future__ import annotations

from django.urls import reverse

from notifications.choices import NotificationKind
from notifications.selectors import staff_user_ids
from notifications.services import notify

from ..permissions import APPLICATION_APPROVE


def application_submitted(merchant) -> None:
    """Staff who review applications: one more in the queue."""
    notify(
        user_ids=staff_user_ids(APPLICATION_APPROVE),
        kind=NotificationKind.APPLICATION_SUBMITTED,
        params={"merchant": merchant.company_name},
        link=reverse("admin:merchants_merchant_change", args=[merchant.pk]),
    )
