"""A lean Django handler for the few hot routes that a burst hits (the flash-sale admission).

Django runs every request through the whole MIDDLEWARE stack and resolves it against the whole
URL configuration: about half of a flash-sale refusal's time (issue #13), for work such a
request never needs (static files, sessions, CSRF, messages, login lockouts). `application`
wraps the project's WSGI application and hands a request that one of the lean URL
configurations `LEAN_URLCONFS` takes (its `takes(environ)`; the first that takes it, in the
tuple's order) to a Django handler of its own with that URL configuration and the project's
middleware minus `SKIPPED`; every other request goes to the project's application unchanged.
An app adds lean routes with a module of its own (as `promotions.api.lean_urls`), named here:
the apps' routes stay in their apps and no module imports another app's views.

The lean routes are ordinary Django views under Django's request handling (exceptions, 404,
logging, signals, database connections closed or reused as usual); the middleware kept are
the ones whose work every answer needs: security headers (SecurityMiddleware, the CSP,
X-Frame-Options), the language (LocaleMiddleware), Content-Length (CommonMiddleware) and the
503 of a database wait bound (ServerBusyMiddleware). A middleware added to MIDDLEWARE later is
kept too, unless it is added to `SKIPPED`.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import Resolver404, get_resolver

#: The lean URL configurations (modules of apps, named here as marketplace/urls.py names the
#: apps' URLs: the kernel imports no app). Each has `urlpatterns` and `takes(environ) -> bool`;
#: no two take the same request (the first in this order would serve it).
LEAN_URLCONFS = ("promotions.api.lean_urls", "orders.api.lean_urls")

#: Middleware whose work the lean routes never need. They authenticate with an API token in a
#: header (no session, hence no CSRF, no messages, no lockout page) and serve no static file.
SKIPPED = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "marketplace.middleware.AdminQueryNulMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)


def token_posts(urlconf: str):
    """The `takes(environ)` of the lean URL configuration `urlconf` whose routes serve API
    tokens only: a `POST` with an `Authorization: Token …` header (the scheme in any case, as
    DRF reads it) to one of its paths. Anything else (a session, anonymous, another method)
    goes to the project's full stack."""

    def takes(environ) -> bool:
        if environ.get("REQUEST_METHOD") != "POST":
            return False
        scheme = environ.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
        if scheme.lower() != "token":
            return False
        try:
            get_resolver(urlconf).resolve(environ.get("PATH_INFO", ""))
        except Resolver404:
            return False
        return True

    return takes


def lean_middleware() -> list[str]:
    """The project's MIDDLEWARE, in its order, without `SKIPPED`."""
    return [path for path in settings.MIDDLEWARE if path not in SKIPPED]


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with `lean_middleware()` and the URL configuration `urlconf`."""

    def __init__(self, urlconf: str):
        self.urlconf = urlconf
        super().__init__()  # loads the middleware

    def load_middleware(self, is_async=False):
        # Django's loader reads settings.MIDDLEWARE; it is given the lean list for the time of
        # the loading (once, when the worker starts) rather than copying its 70 lines here.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = lean_middleware()
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def resolve_request(self, request):
        # Django's way of giving a request its own URL configuration (as a middleware may).
        request.urlconf = self.urlconf
        return super().resolve_request(request)


def application(project_application, urlconfs: tuple[str, ...] = LEAN_URLCONFS):
    """The WSGI application: a request one of the lean `urlconfs` takes to its `LeanHandler`
    (one per URL configuration, made when the worker starts), the rest to `project_application`."""
    routes = [(import_module(urlconf).takes, LeanHandler(urlconf)) for urlconf in urlconfs]

    def dispatch(environ, start_response):
        for takes, lean in routes:
            if takes(environ):
                return lean(environ, start_response)
        return project_application(environ, start_response)

    return dispatch
