"""Merchant members and invitations.

Guarantees: a user belongs to at most one merchant (database constraint); a merchant always
keeps exactly one owner (the applicant), who cannot be removed or demoted here; one open
invitation per email and merchant; an invitation is used at most once (row lock).
"""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.audit import audit_record
from marketplace.jobs import enqueue_on_commit

from ..choices import MemberRole, MerchantStatus
from ..errors import MerchantConflict, MerchantError
from ..models import Invitation, Merchant, MerchantMember

INVITABLE_ROLES = (MemberRole.CATALOG, MemberRole.ORDERS, MemberRole.FINANCE)


def _check_role(role: str) -> None:
    if role not in INVITABLE_ROLES:
        raise MerchantError("invalid_role", _("Choose the catalog, orders or finance role."))


@transaction.atomic
def invitation_create(*, merchant: Merchant, actor, email: str, role: str) -> Invitation:
    """Invite someone by email to join the merchant with a role; the email is sent after commit."""
    _check_role(role)
    email = (email or "").strip().lower()
    if not email:
        raise MerchantError("email_required", _("Enter the email address to invite."))
    if merchant.status == MerchantStatus.TERMINATED:
        raise MerchantConflict("merchant_terminated", _("A terminated merchant cannot invite members."))
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is not None and MerchantMember.objects.filter(user=user).exists():
        raise MerchantConflict("already_member", _("This person already belongs to a merchant."))
    if Invitation.objects.filter(
        merchant=merchant, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).exists():
        raise MerchantConflict(
            "already_invited", _("This person has already been invited; the invitation is still open.")
        )
    invitation = Invitation.objects.create(
        merchant=merchant,
        email=email,
        role=role,
        token=secrets.token_urlsafe(32),
        invited_by=actor,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    audit_record(action="merchant.member_invited", actor=actor, obj=merchant, data={"email": email, "role": role})
    enqueue_on_commit("merchants.tasks.invitation_send_task", invitation.pk)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> MerchantMember:
    """The invited person (logged in with the invited email) joins the merchant."""
    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None or invitation.revoked_at is not None:
        raise MerchantError("invitation_invalid", _("This invitation does not exist or was withdrawn."))
    if invitation.accepted_at is not None:
        raise MerchantConflict("invitation_used", _("This invitation has already been used."))
    if invitation.expires_at < timezone.now():
        raise MerchantConflict("invitation_expired", _("This invitation has expired: ask for a new one."))
    if invitation.email.lower() != user.email.lower():
        raise MerchantError(
            "invitation_wrong_account",
            _("This invitation was sent to %(email)s: log in with that address.") % {"email": invitation.email},
        )
    if MerchantMember.objects.filter(user=user).exists():
        raise MerchantConflict("already_member", _("You already belong to a merchant."))
    member = MerchantMember.objects.create(merchant=invitation.merchant, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(action="merchant.member_joined", actor=user, obj=invitation.merchant, data={"role": invitation.role})
    return member


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    """Withdraw an open invitation."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None or locked.revoked_at is not None:
        raise MerchantConflict("invitation_closed", _("This invitation is no longer open."))
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(action="merchant.invitation_revoked", actor=actor, obj=locked.merchant, data={"email": locked.email})
    return locked


@transaction.atomic
def member_change_role(*, member: MerchantMember, actor, role: str) -> MerchantMember:
    """Give a member another role; the owner's role cannot change."""
    _check_role(role)
    locked = MerchantMember.objects.select_for_update().get(pk=member.pk)
    if locked.role == MemberRole.OWNER:
        raise MerchantConflict("owner_role_fixed", _("The owner's role cannot be changed."))
    previous = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    audit_record(
        action="merchant.member_role_changed",
        actor=actor,
        obj=locked.merchant,
        data={"user": locked.user_id, "from": previous, "to": role},
    )
    return locked


@transaction.atomic
def member_remove(*, member: MerchantMember, actor) -> None:
    """Remove a member; the owner cannot be removed."""
    locked = MerchantMember.objects.select_for_update().get(pk=member.pk)
    if locked.role == MemberRole.OWNER:
        raise MerchantConflict("owner_cannot_be_removed", _("The owner cannot be removed."))
    merchant = locked.merchant
    user_id = locked.user_id
    locked.delete()
    audit_record(action="merchant.member_removed", actor=actor, obj=merchant, data={"user": user_id})
