"""Kernel pages: home, health check, sign-up, error pages."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from .cache import redis_client
from .celery import app as celery_app
from .errors import DomainError
from .forms import SignupForm


def _database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "engine": connection.display_name}
    except Exception as exc:  # any failure means "down"; the message says why
        return {"ok": False, "engine": connection.display_name, "error": exc.__class__.__name__}


def _broker_state() -> dict:
    try:
        # The process's client (its pool): a new one per check would open a connection each time.
        client = redis_client(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True, "mode": "redis"}
    except redis.RedisError as exc:
        return {"ok": False, "mode": "redis", "error": exc.__class__.__name__}


def _workers_state() -> dict:
    # A broadcast ping waits its whole timeout for answers: only on request (?workers=1).
    answers = celery_app.control.ping(timeout=1.0)
    return {"ok": bool(answers), "mode": "redis", "answering": len(answers)}


@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness: 200 when the database and the broker answer, else 503.

    With `?workers=1` it also says how many Celery workers answer a ping within a second
    (for `make run`'s own check); a missing worker does not make the web server unhealthy.
    """
    database = _database_state()
    broker = _broker_state()
    ok = database["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "unavailable", "database": database, "broker": broker}
    if request.GET.get("workers") == "1" and broker["ok"]:
        body["workers"] = _workers_state()
    return JsonResponse(body, status=200 if ok else 503)


@require_http_methods(["GET", "POST"])
def signup(request):
    """Sign-up answers "check your e-mail" for every valid form, registered address or not
    (`services.signup_request`); the account is created from the link in the e-mail."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.signup_request(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data["phone"],
            password=data["password1"],
            language=translation.get_language(),
        )
        return redirect("signup_done")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def signup_done(request):
    return render(request, "registration/signup_done.html")


@require_http_methods(["GET", "POST"])
def signup_confirm(request, token: str):
    """The link of the sign-up e-mail. A GET only shows a button: mail scanners open links,
    and only the person clicking should create the account (and be logged in)."""
    if request.method == "POST":
        try:
            user = services.signup_confirm(token=token)
        except DomainError as error:
            return render(request, "registration/signup_confirm.html", {"error": error}, status=error.status_code)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Your account has been created."))
        return redirect("home")
    return render(request, "registration/signup_confirm.html")


def lockout_response(request, original_response=None, credentials=None):
    """django-axes lockout: JSON with a stable code for the API, the lockout page otherwise."""
    message = _("Too many failed attempts. Try again later or reset your password.")
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "account_locked", "message": message, "extra": {}}, status=429)
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/locked_out.html",
        {"cooloff_time": ngettext("%(n)d minute", "%(n)d minutes", cooloff_minutes) % {"n": cooloff_minutes}},
        status=429,
    )


def _api_error(request, status: int, code: str, message) -> JsonResponse | None:
    """Under /api/ every answer is JSON with the API's error shape, even when no DRF view
    ran (no route matched, or the error happened outside one); elsewhere None."""
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse({"code": code, "message": str(message), "extra": {}}, status=status)


def bad_request(request, exception):
    answer = _api_error(request, 400, "bad_request", _("The request could not be understood."))
    return answer or render(request, "400.html", status=400)


def page_not_found(request, exception):
    return _api_error(request, 404, "not_found", _("Not found.")) or render(request, "404.html", status=404)


def server_error(request):
    answer = _api_error(request, 500, "server_error", _("Something went wrong on our side. Please try again later."))
    return answer or render(request, "500.html", status=500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's own page carries an inline <style> the CSP refuses."""
    answer = _api_error(
        request, 403, "csrf_failed", _("The form expired or came from elsewhere. Reload and try again.")
    )
    return answer or render(request, "403.html", status=403)


def permission_denied(request, exception):
    answer = _api_error(request, 403, "permission_denied", _("You do not have permission to perform this action."))
    return answer or render(request, "403.html", status=403)
