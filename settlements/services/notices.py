"""Who is told what when settlement decides something about a merchant
(`notifications.services.notify`), called by the services after their change, in their
transaction: a rollback tells nobody. The merchant's members told are those whose role handles
its statements (`merchants.selectors.member_user_ids`: the owner and finance members).
"""

from __future__ import annotations

from django.urls import reverse

from merchants.choices import PortalSection
from merchants.selectors import member_user_ids
from notifications.choices import NotificationKind
from notifications.services import notify


def _finance_members(merchant_id: int) -> list[int]:
    return member_user_ids(merchant_id, section=PortalSection.FINANCE)


def statement_ready(statement) -> None:
    """An approved statement: the portal shows it from now on (drafts are finance's own)."""
    notify(
        user_ids=_finance_members(statement.merchant_id),
        kind=NotificationKind.STATEMENT_READY,
        params={"statement": statement.pk, "period": statement.period, "amount": str(statement.payable)},
        link=reverse("portal_statements:detail", args=[statement.pk]),
    )


def grant_decided(application, *, programme_name: str, approved: bool) -> None:
    """A grant application approved (with its amount) or refused (with the reason)."""
    params = {"programme": programme_name, "outcome": "approved" if approved else "refused"}
    if approved:
        params["amount"] = str(application.approved_amount)
    else:
        params["reason"] = application.refusal_reason
    notify(
        user_ids=_finance_members(application.merchant_id),
        kind=NotificationKind.SUBSIDY_DECIDED,
        params=params,
        link=reverse("portal_statements:grant_detail", args=[application.pk]),
    )


def penalty_raised(penalty) -> None:
    """A new penalty, with its reason and the end of its appeal window."""
    notify(
        user_ids=_finance_members(penalty.merchant_id),
        kind=NotificationKind.PENALTY_RAISED,
        params={
            "penalty": penalty.pk,
            "amount": str(penalty.amount),
            "reason": penalty.reason,
            "appeal_until": penalty.appeal_until.isoformat(),
        },
        link=reverse("portal_statements:penalty", args=[penalty.pk]),
    )


def penalty_decided(penalty, *, upheld: bool) -> None:
    """The merchant's appeal decided: upheld cancels the penalty, rejected lets it stand."""
    notify(
        user_ids=_finance_members(penalty.merchant_id),
        kind=NotificationKind.PENALTY_DECIDED,
        params={
            "penalty": penalty.pk,
            "outcome": "cancelled" if upheld else "stands",
            "amount": str(penalty.amount),
            "reason": penalty.decision_reason,
        },
        link=reverse("portal_statements:penalty", args=[penalty.pk]),
    )
