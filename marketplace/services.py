"""Account services: sign-up confirmed by e-mail.

Sign-up must not tell whether an address is registered (password reset does not either), so
it answers the same for every well-formed request and the difference goes to the mailbox:
a new address receives a link that creates the account, a registered one a notice that
someone tried to sign up with it, with the way to log in or reset the password.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from . import crypto
from .errors import DomainError
from .jobs import enqueue_on_commit

SIGNUP_SALT = "marketplace.signup"
_PASSWORD_AAD = b"signup-password"


def signup_request(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    password: str,
    language: str | None = None,
) -> None:
    """Start a sign-up for `email`; returns nothing, whatever the address.

    Guarantees: nothing is written (the account only exists once the link is followed, so an
    address cannot be claimed by someone who does not read its mail); both paths do the same
    work, password hashing included, so the time taken does not tell them apart either.
    Side effects, after commit: one e-mail to `email`, by `signup_email_task`, in `language`
    (the one the form was filled in; the site's default when it is not one of the site's).
    """
    email = email.strip().lower()
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    # Hashed on both paths: PBKDF2 is the slow step, skipping it would show in the timing.
    encrypted_hash = crypto.encrypt(make_password(password), aad=_PASSWORD_AAD)
    user = get_user_model().objects.filter(email__iexact=email).only("pk").first()
    if user is None:
        # The pending account travels in the signed link (its password hash encrypted), not in
        # a table: unconfirmed sign-ups leave nothing behind and cannot block the address.
        payload = {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "password": encrypted_hash,
        }
        token = signing.dumps(payload, salt=SIGNUP_SALT, compress=True)
        enqueue_on_commit("marketplace.tasks.signup_email_task", email=email, token=token, language=language)
    else:
        enqueue_on_commit("marketplace.tasks.signup_email_task", email=email, token=None, language=language)


@transaction.atomic
def signup_confirm(*, token: str):
    """Create the account a sign-up link describes and return it.

    400 `signup_link_invalid` for a link that was altered or is not one, 400
    `signup_link_expired` after SIGNUP_LINK_VALID_HOURS, 409 `signup_link_used` when the
    address has an account by now (the link followed twice, or two links for one address:
    the unique e-mail column decides, and the first wins). Writes one user row.
    """
    try:
        payload = signing.loads(token, salt=SIGNUP_SALT, max_age=settings.SIGNUP_LINK_VALID_HOURS * 3600)
        password_hash = crypto.decrypt(payload["password"], aad=_PASSWORD_AAD)
    except signing.SignatureExpired as exc:
        raise DomainError("signup_link_expired", _("This sign-up link has expired. Please sign up again.")) from exc
    except (signing.BadSignature, crypto.DecryptionError, KeyError, TypeError) as exc:
        raise DomainError("signup_link_invalid", _("This sign-up link is not valid.")) from exc
    used = DomainError("signup_link_used", _("This account exists already. Log in.")).with_status(409)
    User = get_user_model()
    if User.objects.filter(email__iexact=payload["email"]).exists():
        raise used
    user = User(
        email=payload["email"],
        first_name=payload.get("first_name", ""),
        last_name=payload.get("last_name", ""),
        phone=payload.get("phone", ""),
        password=password_hash,
    )
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same link followed twice at once
        raise used from exc
    return user
