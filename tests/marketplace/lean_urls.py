"""A test-only lean URL configuration (marketplace/lean.py): `POST /lean-test/<name>/` with an
`X-Lean-Test` header, answered with the URL configuration that served it and whether the
session middleware ran."""

from django.http import HttpResponse
from django.urls import Resolver404, get_resolver, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def echo(request, name: str):
    return HttpResponse(f"{name} {request.urlconf} session={hasattr(request, 'session')}", content_type="text/plain")


urlpatterns = [path("lean-test/<slug:name>/", echo)]


def takes(environ) -> bool:
    if environ.get("REQUEST_METHOD") != "POST" or "HTTP_X_LEAN_TEST" not in environ:
        return False
    try:
        get_resolver(__name__).resolve(environ.get("PATH_INFO", ""))
    except Resolver404:
        return False
    return True
