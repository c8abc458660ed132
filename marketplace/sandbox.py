"""The sandbox payment gateway's switch: `SANDBOX_GATEWAY_ENABLED`.

Whoever uses the sandbox records a payment that moved no money: a buyer's order paid, a
merchant's deposit paid. Where money is real it must not exist, so it is guarded twice:
every sandbox route is wrapped in `sandbox_required` (404 when off: the route does not
exist), and every sandbox service calls `sandbox_ensure_enabled()` first, so no other
caller (another view, a command, a task) reaches it either. Both read the setting at call
time: URLconfs are loaded once per process, and tests switch the setting per test.

The callbacks are signed with `SANDBOX_GATEWAY_SECRET`; settings.py refuses to start with
DEBUG off and a public, empty or short secret, and the deploy check below names the same
problems for `manage.py check --deploy`.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core import checks
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from .errors import ConflictError


class SandboxDisabled(ConflictError):
    """A sandbox service was called while the sandbox is switched off (HTTP 409)."""

    default_code = "sandbox_disabled"


def sandbox_enabled() -> bool:
    """Whether the sandbox gateway exists on this site, read now (not at import)."""
    return bool(settings.SANDBOX_GATEWAY_ENABLED)


def sandbox_ensure_enabled() -> None:
    """Refuse with `sandbox_disabled` unless the sandbox is on. Every sandbox service calls it
    first, before reading or writing anything."""
    if not sandbox_enabled():
        raise SandboxDisabled(message=_("The sandbox payment gateway is switched off on this site."))


def sandbox_required(view):
    """A view that exists only while the sandbox is on: 404 otherwise, before any other work.

    Works on function views and, through `method_decorator`, on class-based views' handlers
    (inside DRF's handler, so the API answers its usual JSON 404)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not sandbox_enabled():
            raise Http404("The sandbox gateway is switched off.")
        return view(request, *args, **kwargs)

    return wrapper


def sandbox_secret_problem(secret: str) -> str | None:
    """Why `secret` must not sign sandbox callbacks on a deployment, or None when it may."""
    if not (secret or "").strip():
        return "empty"
    if secret == settings.SANDBOX_GATEWAY_DEVELOPMENT_SECRET:
        return "the public development default"
    if len(secret.strip()) < settings.SANDBOX_GATEWAY_SECRET_MIN_LENGTH:
        return f"shorter than {settings.SANDBOX_GATEWAY_SECRET_MIN_LENGTH} characters"
    return None


@checks.register(checks.Tags.security, deploy=True)
def check_sandbox_gateway(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: a public sandbox secret lets anyone forge "payment succeeded"; an
    enabled sandbox lets every buyer and merchant record payments that moved no money."""
    found: list[checks.CheckMessage] = []
    problem = sandbox_secret_problem(settings.SANDBOX_GATEWAY_SECRET)
    if problem:
        found.append(
            checks.Error(
                f"SANDBOX_GATEWAY_SECRET is {problem}: anyone who knows it can sign a sandbox "
                '"payment succeeded" callback.',
                hint=f"Set SANDBOX_GATEWAY_SECRET to a random string of at least "
                f"{settings.SANDBOX_GATEWAY_SECRET_MIN_LENGTH} characters "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))").',
                id="marketplace.E001",
            )
        )
    if sandbox_enabled():
        found.append(
            checks.Warning(
                "SANDBOX_GATEWAY_ENABLED is on: buyers can mark their orders paid and merchants their "
                "deposits paid without any money moving.",
                hint="Switch it off (SANDBOX_GATEWAY_ENABLED=0) on any deployment that takes real orders.",
                id="marketplace.W001",
            )
        )
    return found
